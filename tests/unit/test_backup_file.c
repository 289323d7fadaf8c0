/* Unit tests for snapshot/backup.c and backup_file.c: destination URLs,
 * backup names, manifests (and refusing every kind of bad one without
 * crashing), streamed uploads into a folder, listing, fetch with its size
 * and SHA-256 checks, delete and prune. S3 URLs are parsed here too (no
 * request is made); S3 itself is tests/integration/test_backup_s3.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "backup.h"
#include "backup_internal.h"

static char tmpdir[64];

/* ------------------------------------------------------------- helpers */

static tc_backup_dest *open_url(const char *url)
{
    tc_backup_conf conf;
    memset(&conf, 0, sizeof conf);
    snprintf(conf.url, sizeof conf.url, "%s", url);
    tc_backup_dest *d = NULL;
    char err[TC_BACKUP_ERRLEN];
    int rc = tc_backup_open(&d, &conf, err, sizeof err);
    if (rc) fail_msg("open %s: %s", url, err);
    return d;
}

static int open_fails(const tc_backup_conf *conf, const char *says)
{
    tc_backup_dest *d = NULL;
    char err[TC_BACKUP_ERRLEN] = "";
    int rc = tc_backup_open(&d, conf, err, sizeof err);
    assert_null(d);
    if (!strstr(err, says)) fail_msg("\"%s\" lacks \"%s\"", err, says);
    return rc;
}

static tc_backup_dest *folder(const char *sub)
{
    char url[256];
    snprintf(url, sizeof url, "file://%s/%s", tmpdir, sub);
    return open_url(url);
}

static void path_in(char *out, size_t len, const char *sub, const char *file)
{
    int n = snprintf(out, len, "%s/%s/%s", tmpdir, sub, file);
    assert_true(n > 0 && (size_t)n < len);
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* Streams a snapshot of nrec records into a new backup and finishes it. */
static void make_backup(tc_backup_dest *d, const char *cluster, int64_t created, int node, int nrec,
                        tc_backup_meta *meta)
{
    char name[TC_BACKUP_MAX_NAME], err[TC_BACKUP_ERRLEN];
    tc_backup_name(name, sizeof name, cluster, created, node);
    tc_backup_upload *u = NULL;
    if (tc_backup_upload_begin(d, name, &u, err, sizeof err)) fail_msg("begin: %s", err);
    tc_snapshot_writer_opts o = {.name = name, .cluster = cluster, .raft_index = 1000 + (uint64_t)created,
                                 .raft_term = 3, .created_ms = created, .compress = 1};
    tc_snapshot_writer *w = NULL;
    assert_int_equal(tc_snapshot_writer_new(&w, &o, tc_backup_upload_write, u, err, sizeof err), 0);
    for (int i = 0; i < nrec; i++) {
        char key[32], value[200];
        snprintf(key, sizeof key, "key:%d", i);
        snprintf(value, sizeof value, "value %d of %s", i, name);
        tc_snapshot_record r = {.type = TC_SNAPSHOT_STRING, .key = key, .key_len = (uint32_t)strlen(key),
                                .value = value, .value_len = (uint32_t)strlen(value)};
        assert_int_equal(tc_snapshot_writer_add(w, &r), 0);
    }
    assert_int_equal(tc_snapshot_writer_finish(w), 0);
    tc_snapshot_writer_free(w);
    memset(meta, 0, sizeof *meta);
    snprintf(meta->cluster, sizeof meta->cluster, "%s", cluster);
    meta->node_id = node;
    meta->raft_index = o.raft_index;
    meta->raft_term = o.raft_term;
    meta->created_ms = created;
    meta->keys = (uint64_t)nrec;
    if (tc_backup_upload_finish(u, meta, err, sizeof err)) fail_msg("finish: %s", err);
}

static void sha256_file(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    unsigned char buf[4096], digest[32];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) EVP_DigestUpdate(md, buf, n);
    EVP_DigestFinal_ex(md, digest, NULL);
    EVP_MD_CTX_free(md);
    fclose(f);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
}

static void assert_meta_equal(const tc_backup_meta *a, const tc_backup_meta *b)
{
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->cluster, b->cluster);
    assert_int_equal(a->node_id, b->node_id);
    assert_true(a->raft_index == b->raft_index && a->raft_term == b->raft_term);
    assert_true(a->created_ms == b->created_ms && a->keys == b->keys && a->size == b->size);
    assert_string_equal(a->sha256, b->sha256);
    assert_int_equal(a->key_id, b->key_id);
}

/* ------------------------------------------------------------- URLs and names */

static void test_urls(void **state)
{
    (void)state;
    tc_backup_conf c;
    memset(&c, 0, sizeof c);
    assert_int_equal(open_fails(&c, "file:///var/backups/tricache or s3://bucket/prefix"), TC_BACKUP_EINVAL);
    const char *bad_files[] = {"file://relative/x", "file://host/var/x", "file://", "file:relative"};
    for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++) {
        snprintf(c.url, sizeof c.url, "%s", bad_files[i]);
        assert_int_equal(open_fails(&c, i == 3 ? "unsupported destination" : "absolute path"), TC_BACKUP_EINVAL);
    }
    snprintf(c.url, sizeof c.url, "ftp://x/y");
    assert_int_equal(open_fails(&c, "ftp://x/y: unsupported destination"), TC_BACKUP_EINVAL);

    tc_backup_dest *d = open_url("file:///var/tmp/x//");
    assert_string_equal(tc_backup_url(d), "file:///var/tmp/x");
    tc_backup_close(d);

    /* S3 URLs: no request is made, but credentials must be there. */
    setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SECRET", 1);
    const char *bad_buckets[] = {"s3://Bad_Bucket/x", "s3://ab/x", "s3://192.168.1.1/x",
                                 "s3://a..b/x", "s3://-abc/x", "s3://abc-/x", "s3:///x",
                                 "s3://a234567890123456789012345678901234567890123456789012345678901234/x"};
    for (size_t i = 0; i < sizeof bad_buckets / sizeof bad_buckets[0]; i++) {
        snprintf(c.url, sizeof c.url, "%s", bad_buckets[i]);
        assert_int_equal(open_fails(&c, "bad bucket name"), TC_BACKUP_EINVAL);
    }
    snprintf(c.url, sizeof c.url, "s3://bkt/a/../b");
    assert_int_equal(open_fails(&c, "bad prefix"), TC_BACKUP_EINVAL);
    d = open_url("s3://my.bucket-1//a//b/");
    assert_string_equal(tc_backup_url(d), "s3://my.bucket-1/a/b");
    tc_backup_close(d);
    d = open_url("s3://bkt");
    assert_string_equal(tc_backup_url(d), "s3://bkt");
    tc_backup_close(d);

    snprintf(c.url, sizeof c.url, "s3://bkt/p");
    snprintf(c.s3_region, sizeof c.s3_region, "US East");
    assert_int_equal(open_fails(&c, "bad s3_region"), TC_BACKUP_EINVAL);
    c.s3_region[0] = '\0';
    const char *bad_endpoints[] = {"ftp://host", "http://host/path", "http://", "https://u@host"};
    for (size_t i = 0; i < sizeof bad_endpoints / sizeof bad_endpoints[0]; i++) {
        snprintf(c.s3_endpoint, sizeof c.s3_endpoint, "%s", bad_endpoints[i]);
        assert_int_equal(open_fails(&c, "bad s3_endpoint"), TC_BACKUP_EINVAL);
    }
    snprintf(c.s3_endpoint, sizeof c.s3_endpoint, "minio.local:9000/");
    tc_backup_dest *ok = NULL;
    char err[TC_BACKUP_ERRLEN];
    assert_int_equal(tc_backup_open(&ok, &c, err, sizeof err), 0);
    tc_backup_close(ok);
    c.s3_endpoint[0] = '\0';
    c.retries = -1;
    assert_int_equal(open_fails(&c, "retries"), TC_BACKUP_EINVAL);
    c.retries = 0;

    /* Missing credentials say what to set. */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    char home[128];
    snprintf(home, sizeof home, "%s/nohome", tmpdir);
    setenv("HOME", home, 1);
    assert_int_equal(open_fails(&c, "s3://bkt/p: no S3 credentials: set AWS_ACCESS_KEY_ID and "
                                    "AWS_SECRET_ACCESS_KEY"),
                     TC_BACKUP_EAUTH);
}

static void test_names(void **state)
{
    (void)state;
    char name[TC_BACKUP_MAX_NAME], err[TC_BACKUP_ERRLEN];
    tc_backup_name(name, sizeof name, "c1", 1700000000123LL, 2);
    assert_string_equal(name, "c1-20231114T221320-123-n2");
    tc_backup_name(name, sizeof name, "my cluster/\xc3\xa9", 5, 1);
    assert_string_equal(name, "my_cluster___-19700101T000000-005-n1");
    tc_backup_name(name, sizeof name, "", 0, 3);
    assert_string_equal(name, "cluster-19700101T000000-000-n3");
    tc_backup_name(name, sizeof name, ".hidden", 0, 3);
    assert_string_equal(name, "_hidden-19700101T000000-000-n3");
    assert_int_equal(tc__bk_check_name(name, "u", err, sizeof err), 0);
    /* Names of one cluster sort by time, as the header promises. */
    char a[TC_BACKUP_MAX_NAME], b[TC_BACKUP_MAX_NAME];
    tc_backup_name(a, sizeof a, "c", 999, 9);
    tc_backup_name(b, sizeof b, "c", 1000, 1);
    assert_true(strcmp(a, b) < 0);

    const char *bad[] = {"", "a/b", "..", ".x", "x y", "x\n", "é"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(tc__bk_check_name(bad[i], "file:///u", err, sizeof err), TC_BACKUP_EINVAL);
        assert_non_null(strstr(err, "file:///u"));
    }
    char longest[TC_BACKUP_MAX_NAME + 1];
    memset(longest, 'a', sizeof longest);
    longest[TC_BACKUP_MAX_NAME - 1] = '\0';
    assert_int_equal(tc__bk_check_name(longest, "u", err, sizeof err), 0);
    longest[TC_BACKUP_MAX_NAME - 1] = 'a';
    longest[TC_BACKUP_MAX_NAME] = '\0';
    assert_int_equal(tc__bk_check_name(longest, "u", err, sizeof err), TC_BACKUP_EINVAL);
}

/* ------------------------------------------------------------- manifests */

static tc_backup_meta sample_meta(void)
{
    tc_backup_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "c1-20231114T221320-123-n2");
    snprintf(m.cluster, sizeof m.cluster, "c\"1\\ \x01\t\xc3\xa9");
    m.node_id = 2;
    m.raft_index = UINT64_MAX;
    m.raft_term = 7;
    m.created_ms = INT64_MAX;
    m.keys = 12345;
    m.size = 987654321;
    memset(m.sha256, 'a', 64);
    m.key_id = UINT32_MAX;
    return m;
}

static void test_manifest_roundtrip(void **state)
{
    (void)state;
    tc_backup_meta m = sample_meta(), back;
    char json[2048], err[TC_BACKUP_ERRLEN];
    int n = tc__bk_manifest_encode(&m, json, sizeof json, err, sizeof err);
    assert_true(n > 0);
    assert_int_equal(tc__bk_manifest_decode(json, (size_t)n, &back, "x", err, sizeof err), 0);
    assert_meta_equal(&m, &back);
    /* Escapes the writer never makes are still read. */
    const char *other = "{\"format\":\"tricache-backup\",\"version\":1,\"name\":\"a\\u002db\","
                        "\"cluster\":\"\\u00e9\\/\\b\\f\\n\\r\",\"node_id\":0,\"raft_index\":0,"
                        "\"raft_term\":0,\"created_ms\":0,\"keys\":0,\"size\":0,\"sha256\":"
                        "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
                        "\"key_id\":0}";
    assert_int_equal(tc__bk_manifest_decode(other, strlen(other), &back, "x", err, sizeof err), 0);
    assert_string_equal(back.name, "a-b");
    assert_string_equal(back.cluster, "\xc3\xa9/\b\f\n\r");

    tc_backup_meta bad = m;
    snprintf(bad.name, sizeof bad.name, "a/b");
    assert_int_equal(tc__bk_manifest_encode(&bad, json, sizeof json, err, sizeof err), TC_BACKUP_EINVAL);
    bad = m;
    bad.node_id = -1;
    assert_int_equal(tc__bk_manifest_encode(&bad, json, sizeof json, err, sizeof err), TC_BACKUP_EINVAL);
}

/* Every way a manifest can be wrong is refused with a message, and no
 * input crashes the reader (run under ASan/UBSan). */
static void test_manifest_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *json, *says;
    } cases[] = {
        {"", "ends early"},
        {"garbage", "expected '{'"},
        {"{}", "expected a field name"},
        {"[1,2]", "expected '{'"},
        {"{\"format\":\"tricache-backup\"}", "missing field \"version\""},
        {"{\"format\":1}", "\"format\" must be a string"},
        {"{\"version\":\"1\"}", "\"version\" must be a non-negative integer"},
        {"{\"version\":-1}", "non-negative integer"},
        {"{\"version\":1.5}", "must be an integer"},
        {"{\"version\":1e3}", "must be an integer"},
        {"{\"version\":01}", "leading zero"},
        {"{\"raft_index\":18446744073709551616}", "out of range"},
        {"{\"node_id\":2147483648}", "out of range"},
        {"{\"key_id\":4294967296}", "out of range"},
        {"{\"created_ms\":9223372036854775808}", "out of range"},
        {"{\"bogus\":1}", "unknown field \"bogus\""},
        {"{\"keys\":1,\"keys\":2}", "appears twice"},
        {"{\"keys\":1 \"size\":2}", "expected ',' or '}'"},
        {"{\"keys\":{\"a\":1}}", "non-negative integer"},
        {"{\"keys\":null}", "non-negative integer"},
        {"{\"cluster\":\"a\\u0000b\"}", "NUL character"},
        {"{\"cluster\":\"\\ud83d\\ude00\"}", "surrogate"},
        {"{\"cluster\":\"\\x41\"}", "bad escape"},
        {"{\"cluster\":\"\\u12\"}", "bad \\u escape"},
        {"{\"cluster\":\"a\nb\"}", "control character"},
        {"{\"cluster\":\"0123456789012345678901234567890123456789012345678901234567890123\"}",
         "longer than 63 bytes"},
        {"{\"cluster\":\"abc", "unterminated string"},
    };
    char err[TC_BACKUP_ERRLEN];
    tc_backup_meta m;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = tc__bk_manifest_decode(cases[i].json, strlen(cases[i].json), &m, "file:///d/x.manifest",
                                        err, sizeof err);
        assert_int_equal(rc, TC_BACKUP_ECORRUPT);
        if (!strstr(err, cases[i].says) || !strstr(err, "file:///d/x.manifest: not a valid backup manifest"))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].says);
    }

    /* Whole-document checks, on an otherwise valid manifest. */
    tc_backup_meta good = sample_meta();
    char json[2048], edited[2048];
    int n = tc__bk_manifest_encode(&good, json, sizeof json, err, sizeof err);
    static const struct {
        const char *from, *to, *says;
    } edits[] = {
        {"\"version\": 1", "\"version\": 2", "written by a newer tricache"},
        {"\"version\": 1", "\"version\": 0", "unknown manifest version"},
        {"tricache-backup", "tricache-other", "\"format\" is not"},
        {"\"sha256\": \"aaaa", "\"sha256\": \"AAAA", "64 lower-case hex"},
        {"\"sha256\": \"aaaa", "\"sha256\": \"aaa", "64 lower-case hex"},
        {"\"name\": \"c1", "\"name\": \"c/1", "bad \"name\""},
        {"\n}\n", "\n}\n{", "unexpected bytes after"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        const char *at = strstr(json, edits[i].from);
        assert_non_null(at);
        snprintf(edited, sizeof edited, "%.*s%s%s", (int)(at - json), json, edits[i].to,
                 at + strlen(edits[i].from));
        assert_int_equal(tc__bk_manifest_decode(edited, strlen(edited), &m, "x", err, sizeof err),
                         TC_BACKUP_ECORRUPT);
        if (!strstr(err, edits[i].says)) fail_msg("edit %zu: \"%s\" lacks \"%s\"", i, err, edits[i].says);
    }

    /* Every truncation is refused; every single-byte change is either
     * refused or still a well-formed manifest. The buffer is exactly the
     * length given, so ASan sees any read past it. */
    for (int len = 0; len < n; len++) {
        char *cut = malloc((size_t)len + 1);
        memcpy(cut, json, (size_t)len);
        int rc = tc__bk_manifest_decode(cut, (size_t)len, &m, "x", err, sizeof err);
        /* Cutting only trailing whitespace leaves a valid document. */
        int only_space = strspn(json + len, " \n") == (size_t)(n - len);
        if (!only_space && rc != TC_BACKUP_ECORRUPT) fail_msg("truncation to %d accepted", len);
        free(cut);
    }
    unsigned seed = 12345;
    for (int iter = 0; iter < 20000; iter++) {
        memcpy(edited, json, (size_t)n);
        int flips = 1 + (int)(rand_r(&seed) % 3);
        for (int k = 0; k < flips; k++) edited[rand_r(&seed) % (unsigned)n] = (char)(rand_r(&seed) & 0xff);
        char *buf = malloc((size_t)n);
        memcpy(buf, edited, (size_t)n);
        if (tc__bk_manifest_decode(buf, (size_t)n, &m, "x", err, sizeof err) == 0) {
            assert_int_equal(tc__bk_check_name(m.name, "x", err, sizeof err), 0);
            assert_int_equal(strlen(m.sha256), 64);
            assert_true(strlen(m.cluster) <= TC_SNAPSHOT_MAX_CLUSTER);
        }
        free(buf);
    }
    assert_int_equal(tc__bk_manifest_decode(json, TC__BK_MANIFEST_MAX + 1, &m, "x", err, sizeof err),
                     TC_BACKUP_ECORRUPT);
}

/* ------------------------------------------------------------- the folder backend */

typedef struct progress {
    uint64_t done, total;
    int calls;
} progress;

static void on_progress(void *ud, uint64_t done, uint64_t total)
{
    progress *p = ud;
    assert_true(done >= p->done);
    p->done = done;
    p->total = total;
    p->calls++;
}

static void test_upload_list_stat_fetch(void **state)
{
    (void)state;
    tc_backup_dest *d = folder("one/two");
    tc_backup_meta *list = NULL, meta, st;
    size_t n = 99;
    char err[TC_BACKUP_ERRLEN], path[512], manifest[512], tmp[512];
    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), TC_BACKUP_ENOTFOUND);
    assert_non_null(strstr(err, "/one/two: the folder does not exist"));
    assert_int_equal(n, 0);

    make_backup(d, "c1", 1700000000123LL, 2, 500, &meta);
    struct stat sb;
    path_in(path, sizeof path, "one/two", "");
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    path_in(path, sizeof path, "one/two", "c1-20231114T221320-123-n2.tcsnap");
    path_in(manifest, sizeof manifest, "one/two", "c1-20231114T221320-123-n2.manifest");
    path_in(tmp, sizeof tmp, "one/two", "c1-20231114T221320-123-n2.tcsnap.tmp");
    assert_true(file_exists(path) && file_exists(manifest) && !file_exists(tmp));
    assert_int_equal(stat(path, &sb), 0);
    assert_true(meta.size == (uint64_t)sb.st_size);
    char hex[65];
    sha256_file(path, hex);
    assert_string_equal(meta.sha256, hex);

    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(err, "");
    assert_meta_equal(&list[0], &meta);
    free(list);
    assert_int_equal(tc_backup_stat(d, meta.name, &st, err, sizeof err), 0);
    assert_meta_equal(&st, &meta);
    assert_int_equal(tc_backup_stat(d, "nope", &st, err, sizeof err), TC_BACKUP_ENOTFOUND);
    assert_non_null(strstr(err, "no backup named nope"));

    progress p = {0};
    char got[512];
    assert_int_equal(tc_backup_fetch(d, &st, "/unused", got, sizeof got, on_progress, &p, err, sizeof err), 0);
    assert_string_equal(got, path);
    assert_true(p.calls > 0 && p.done == meta.size && p.total == meta.size);
    tc_snapshot_stats ss;
    tc_snapshot_info info;
    assert_int_equal(tc_snapshot_verify_file(got, NULL, &info, &ss, err, sizeof err), 0);
    assert_true(ss.records == 500);
    assert_string_equal(info.cluster, "c1");
    tc_backup_fetch_done(d, got);
    assert_true(file_exists(path)); /* the local backup is not a download */

    /* Same name again: refused, nothing touched. */
    tc_backup_upload *u = NULL;
    assert_int_equal(tc_backup_upload_begin(d, meta.name, &u, err, sizeof err), TC_BACKUP_EINVAL);
    assert_non_null(strstr(err, "exists already"));
    assert_null(u);
    tc_backup_close(d);
}

static void test_abort_and_bad_finish(void **state)
{
    (void)state;
    tc_backup_dest *d = folder("abort");
    tc_backup_upload *u = NULL;
    char err[TC_BACKUP_ERRLEN], tmp[512];
    assert_int_equal(tc_backup_upload_begin(d, "n1", &u, err, sizeof err), 0);
    assert_int_equal(tc_backup_upload_write(u, "abc", 3), 0);
    path_in(tmp, sizeof tmp, "abort", "n1.tcsnap.tmp");
    assert_true(file_exists(tmp));
    tc_backup_upload_abort(u);
    assert_false(file_exists(tmp));

    /* Metadata for another name: refused, and the upload is gone. */
    assert_int_equal(tc_backup_upload_begin(d, "n2", &u, err, sizeof err), 0);
    assert_int_equal(tc_backup_upload_write(u, "abc", 3), 0);
    tc_backup_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "other");
    assert_int_equal(tc_backup_upload_finish(u, &m, err, sizeof err), TC_BACKUP_EINVAL);
    assert_non_null(strstr(err, "names backup other, not n2"));
    tc_backup_meta *list;
    size_t n;
    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);

    /* An empty name in the metadata is filled in. */
    assert_int_equal(tc_backup_upload_begin(d, "n3", &u, err, sizeof err), 0);
    assert_int_equal(tc_backup_upload_write(u, "abc", 3), 0);
    memset(&m, 0, sizeof m);
    assert_int_equal(tc_backup_upload_finish(u, &m, err, sizeof err), 0);
    assert_string_equal(m.name, "n3");
    assert_true(m.size == 3);
    assert_string_equal(m.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    tc_backup_close(d);
}

/* A write that fails (file size limit here, a full disk in life) is sticky
 * and reported by finish; nothing is listed and nothing is left. */
static void test_write_error_is_sticky(void **state)
{
    (void)state;
    tc_backup_dest *d = folder("full");
    tc_backup_upload *u = NULL;
    char err[TC_BACKUP_ERRLEN], tmp[512];
    assert_int_equal(tc_backup_upload_begin(d, "big", &u, err, sizeof err), 0);
    struct rlimit old, small = {.rlim_cur = 4096, .rlim_max = RLIM_INFINITY};
    getrlimit(RLIMIT_FSIZE, &old);
    small.rlim_max = old.rlim_max;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    static char block[8192];
    int rc = tc_backup_upload_write(u, block, sizeof block);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    assert_int_equal(rc, -EIO);
    assert_int_equal(tc_backup_upload_write(u, block, 10), -EIO);
    tc_backup_meta m;
    memset(&m, 0, sizeof m);
    assert_int_equal(tc_backup_upload_finish(u, &m, err, sizeof err), TC_BACKUP_EIO);
    assert_non_null(strstr(err, "big.tcsnap.tmp: write failed: File too large"));
    path_in(tmp, sizeof tmp, "full", "big.tcsnap.tmp");
    assert_false(file_exists(tmp));
    tc_backup_close(d);
}

static void test_order_delete_prune(void **state)
{
    (void)state;
    tc_backup_dest *d = folder("prune");
    tc_backup_meta m, *list;
    size_t n;
    char err[TC_BACKUP_ERRLEN];
    /* Node ids chosen so that name order and time order differ. */
    int64_t times[] = {5000, 1000, 4000, 2000, 3000};
    for (int i = 0; i < 5; i++) make_backup(d, "a", times[i], 9 - i, 3, &m);
    make_backup(d, "b", 1500, 1, 3, &m);
    make_backup(d, "b", 6000, 1, 3, &m);
    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), 0);
    assert_int_equal(n, 7);
    for (size_t i = 1; i < n; i++) assert_true(list[i - 1].created_ms < list[i].created_ms);
    free(list);

    unsigned deleted = 99;
    assert_int_equal(tc_backup_prune(d, "a", 0, &deleted, err, sizeof err), TC_BACKUP_EINVAL);
    assert_non_null(strstr(err, "retain must be at least 1"));
    assert_int_equal(tc_backup_prune(d, "a", 2, &deleted, err, sizeof err), 0);
    assert_int_equal(deleted, 3);
    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), 0);
    assert_int_equal(n, 4); /* a@4000, a@5000 and both of b */
    assert_true(list[0].created_ms == 1500 && list[1].created_ms == 4000 &&
                list[2].created_ms == 5000 && list[3].created_ms == 6000);
    free(list);
    /* Every cluster on its own. */
    assert_int_equal(tc_backup_prune(d, NULL, 1, &deleted, err, sizeof err), 0);
    assert_int_equal(deleted, 2);
    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_true(list[0].created_ms == 5000 && list[1].created_ms == 6000);

    char name[TC_BACKUP_MAX_NAME], file[200], path[512];
    snprintf(name, sizeof name, "%s", list[0].name);
    free(list);
    assert_int_equal(tc_backup_delete(d, name, err, sizeof err), 0);
    snprintf(file, sizeof file, "%s.tcsnap", name);
    path_in(path, sizeof path, "prune", file);
    assert_false(file_exists(path));
    assert_int_equal(tc_backup_delete(d, name, err, sizeof err), TC_BACKUP_ENOTFOUND);
    assert_non_null(strstr(err, "no backup named"));
    assert_int_equal(tc_backup_delete(d, "../x", err, sizeof err), TC_BACKUP_EINVAL);
    tc_backup_close(d);
}

static int64_t two_hours_later(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + 2 * 3600 * 1000;
}

static void make_old(const char *path)
{
    struct timeval tv[2];
    gettimeofday(&tv[0], NULL);
    tv[0].tv_sec -= 2 * 3600;
    tv[1] = tv[0];
    assert_int_equal(utimes(path, tv), 0);
}

/* What interrupted uploads leave: snapshots without a manifest and
 * temporary files. Listing ignores them; prune removes them once they are
 * an hour old, and not before. */
static void test_orphans(void **state)
{
    (void)state;
    tc_backup_dest *d = folder("orphans");
    tc_backup_meta m, *list;
    size_t n;
    unsigned deleted;
    char err[TC_BACKUP_ERRLEN], old_snap[512], new_snap[512], old_tmp[512], new_tmp[512];
    make_backup(d, "c", 1000, 1, 3, &m);
    path_in(old_snap, sizeof old_snap, "orphans", "old.tcsnap");
    path_in(new_snap, sizeof new_snap, "orphans", "new.tcsnap");
    path_in(old_tmp, sizeof old_tmp, "orphans", "x.manifest.tmp");
    path_in(new_tmp, sizeof new_tmp, "orphans", "y.tcsnap.tmp");
    write_file(old_snap, "x", 1);
    write_file(new_snap, "x", 1);
    write_file(old_tmp, "x", 1);
    write_file(new_tmp, "x", 1);
    make_old(old_snap);
    make_old(old_tmp);
    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    free(list);
    assert_int_equal(tc_backup_prune(d, "c", 5, &deleted, err, sizeof err), 0);
    assert_int_equal(deleted, 0);
    assert_false(file_exists(old_snap) || file_exists(old_tmp));
    assert_true(file_exists(new_snap) && file_exists(new_tmp));
    /* Two hours on, the rest is abandoned too; the backup stays. */
    tc__bk_set_clock(d, two_hours_later);
    assert_int_equal(tc_backup_prune(d, "c", 5, &deleted, err, sizeof err), 0);
    assert_false(file_exists(new_snap) || file_exists(new_tmp));
    assert_int_equal(tc_backup_stat(d, m.name, &m, err, sizeof err), 0);
    tc_backup_close(d);
}

static void test_corruption(void **state)
{
    (void)state;
    tc_backup_dest *d = folder("corrupt");
    tc_backup_meta m;
    char err[TC_BACKUP_ERRLEN], path[512], snap[512], got[512];
    make_backup(d, "c", 1000, 1, 50, &m);
    snprintf(path, sizeof path, "%s.tcsnap", m.name);
    path_in(snap, sizeof snap, "corrupt", path);

    /* One byte changed: same size, different SHA-256. */
    int fd = open(snap, O_RDWR);
    unsigned char byte;
    assert_int_equal(pread(fd, &byte, 1, 100), 1);
    byte ^= 0x40;
    assert_int_equal(pwrite(fd, &byte, 1, 100), 1);
    assert_int_equal(tc_backup_fetch(d, &m, NULL, got, sizeof got, NULL, NULL, err, sizeof err),
                     TC_BACKUP_ECORRUPT);
    assert_string_equal(got, "");
    assert_non_null(strstr(err, "differs from"));
    assert_non_null(strstr(err, m.name));
    /* One byte more: the size says so first. */
    byte ^= 0x40;
    assert_int_equal(pwrite(fd, &byte, 1, 100), 1);
    assert_int_equal(pwrite(fd, "!", 1, (off_t)m.size), 1);
    close(fd);
    assert_int_equal(tc_backup_fetch(d, &m, NULL, got, sizeof got, NULL, NULL, err, sizeof err),
                     TC_BACKUP_ECORRUPT);
    assert_non_null(strstr(err, "bytes but its manifest says"));
    /* Gone altogether. */
    unlink(snap);
    assert_int_equal(tc_backup_fetch(d, &m, NULL, got, sizeof got, NULL, NULL, err, sizeof err),
                     TC_BACKUP_ENOTFOUND);
    assert_non_null(strstr(err, "missing, although its manifest exists"));
    tc_backup_close(d);
}

/* Bad manifests on disk: stat refuses them; list reports the first and
 * still lists the good backups. */
static void test_bad_manifests_in_folder(void **state)
{
    (void)state;
    tc_backup_dest *d = folder("badman");
    tc_backup_meta good, bad, m, *list;
    size_t n;
    char err[TC_BACKUP_ERRLEN], path[512], file[300];
    make_backup(d, "c", 1000, 1, 3, &good);
    make_backup(d, "c", 2000, 1, 3, &bad);
    snprintf(file, sizeof file, "%s.manifest", bad.name);
    path_in(path, sizeof path, "badman", file);
    const char *wrong = "{\"format\": \"tricache-backup\", \"version\": 1, \"name\": 7}";
    write_file(path, wrong, strlen(wrong));
    assert_int_equal(tc_backup_stat(d, bad.name, &m, err, sizeof err), TC_BACKUP_ECORRUPT);
    assert_non_null(strstr(err, file));
    assert_non_null(strstr(err, "\"name\" must be a string"));
    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, good.name);
    assert_non_null(strstr(err, "not a valid backup manifest"));
    free(list);

    /* A manifest that names another backup. */
    char json[2048];
    tc_backup_meta swapped = good;
    int len = tc__bk_manifest_encode(&swapped, json, sizeof json, err, sizeof err);
    write_file(path, json, (size_t)len);
    assert_int_equal(tc_backup_stat(d, bad.name, &m, err, sizeof err), TC_BACKUP_ECORRUPT);
    assert_non_null(strstr(err, "describes backup"));

    /* A manifest larger than any manifest. */
    char *huge = calloc(1, TC__BK_MANIFEST_MAX + 10);
    memset(huge, ' ', TC__BK_MANIFEST_MAX + 9);
    write_file(path, huge, TC__BK_MANIFEST_MAX + 9);
    free(huge);
    assert_int_equal(tc_backup_stat(d, bad.name, &m, err, sizeof err), TC_BACKUP_ECORRUPT);
    assert_non_null(strstr(err, "not a manifest"));

    /* A manifest without its snapshot: reported, and delete clears it. */
    snprintf(file, sizeof file, "%s.manifest", good.name);
    path_in(path, sizeof path, "badman", file);
    snprintf(file, sizeof file, "%s.tcsnap", good.name);
    char snap[512];
    path_in(snap, sizeof snap, "badman", file);
    unlink(snap);
    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), TC_BACKUP_ECORRUPT);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err, "is missing"));
    assert_non_null(strstr(err, "and 1 more"));
    assert_int_equal(tc_backup_delete(d, good.name, err, sizeof err), 0);
    assert_false(file_exists(path));
    tc_backup_close(d);
}

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/tc_backup_unit_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_manifest_roundtrip),
        cmocka_unit_test(test_manifest_refusals),
        cmocka_unit_test(test_upload_list_stat_fetch),
        cmocka_unit_test(test_abort_and_bad_finish),
        cmocka_unit_test(test_write_error_is_sticky),
        cmocka_unit_test(test_order_delete_prune),
        cmocka_unit_test(test_orphans),
        cmocka_unit_test(test_corruption),
        cmocka_unit_test(test_bad_manifests_in_folder),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
