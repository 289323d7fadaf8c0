/* Backups to S3, against s3rver (a local S3 endpoint from npm) on a free
 * loopback port with its data in a temporary folder. It checks the access
 * key id, the request shapes and the protocol, but not signatures (those
 * are tests/unit/test_s3_sigv4.c's job). What we upload is read back with
 * awscli, an independent client, when it is installed.
 *
 * s3rver comes from tests/s3 (scripts/install-deps.sh runs npm ci there);
 * without it this test fails and says so. The server is killed by pid at
 * the end, also when a test fails (atexit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "harness.h"
#include "backup_internal.h"
#include "s3_request.h"

#define BUCKET "tc-backups"

static pid_t server_pid;
static int port;
static char workdir[64], logpath[128];

/* ------------------------------------------------------------- s3rver */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void stop_server(void)
{
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        int64_t deadline = now_ms() + 5000;
        while (waitpid(server_pid, NULL, WNOHANG) == 0) {
            if (now_ms() > deadline) {
                kill(server_pid, SIGKILL);
                waitpid(server_pid, NULL, 0);
                break;
            }
            usleep(20000);
        }
        server_pid = 0;
    }
    if (workdir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", workdir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", workdir);
        workdir[0] = '\0';
    }
}

/* An HTTP answer of any kind on the port means s3rver is serving. */
static int answers_http(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        const char req[] = "GET / HTTP/1.0\r\n\r\n";
        char buf[16];
        if (write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1) &&
            read(fd, buf, sizeof buf) >= 5 && memcmp(buf, "HTTP/", 5) == 0)
            ok = 1;
    }
    close(fd);
    return ok;
}

static void print_log(void)
{
    char cmd[200];
    snprintf(cmd, sizeof cmd, "tail -n 30 '%s' >&2", logpath);
    if (system(cmd) != 0) fprintf(stderr, "(no s3rver log)\n");
}

/* Starts s3rver and polls until it answers, with a deadline. */
static int launch(const char *bin, const char *data)
{
    char portstr[16];
    port = h_free_port(); /* s3rver's port, from this program's block */
    snprintf(portstr, sizeof portstr, "%d", port);
    server_pid = fork();
    if (server_pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(fd, 1);
        dup2(fd, 2);
        /* s3rver makes ListObjectsV2 continuation tokens with DES, which
         * OpenSSL 3 (Node >= 17) only offers from its legacy provider;
         * without it every truncated listing is a 500. */
        setenv("NODE_OPTIONS", "--openssl-legacy-provider", 1);
        execl(bin, bin, "-d", data, "-a", "127.0.0.1", "-p", portstr, "--configure-bucket", BUCKET,
              (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    int64_t deadline = now_ms() + 30000;
    while (now_ms() < deadline) {
        if (waitpid(server_pid, NULL, WNOHANG) == server_pid) {
            server_pid = 0;
            return -1; /* died: the port may have been taken meanwhile */
        }
        if (answers_http()) return 0;
        usleep(50000);
    }
    return -1;
}

static int start_server(void **state)
{
    (void)state;
    const char *bin = getenv("TC_S3RVER");
    if (!bin || access(bin, X_OK) != 0) {
        fprintf(stderr,
                "s3rver not found at %s: run scripts/install-deps.sh (it installs tests/s3 with "
                "npm ci), or set TC_S3RVER\n",
                bin ? bin : "(TC_S3RVER unset)");
        return -1;
    }
    atexit(stop_server);
    /* s3rver's fixed account, and nothing from the caller's own setup. */
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
    setenv("AWS_CONFIG_FILE", "/dev/null", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_PROFILE");
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    for (int tries = 0; tries < 3; tries++) {
        char data[128], home[128];
        snprintf(workdir, sizeof workdir, "/tmp/tc_backup_s3_XXXXXX");
        if (!mkdtemp(workdir)) return -1;
        snprintf(data, sizeof data, "%s/data", workdir);
        snprintf(logpath, sizeof logpath, "%s/s3rver.log", workdir);
        snprintf(home, sizeof home, "%s/home", workdir);
        setenv("HOME", home, 1);
        if (launch(bin, data) == 0) return 0;
        print_log();
        stop_server();
    }
    fprintf(stderr, "s3rver did not start on 127.0.0.1 (3 tries, 30 s each); its log is above\n");
    return -1;
}

static int stop_server_group(void **state)
{
    (void)state;
    stop_server();
    return 0;
}

/* ------------------------------------------------------------- helpers */

static void conf_for(tc_backup_conf *c, const char *bucket, const char *prefix)
{
    memset(c, 0, sizeof *c);
    snprintf(c->url, sizeof c->url, "s3://%s/%s", bucket, prefix);
    snprintf(c->s3_endpoint, sizeof c->s3_endpoint, "http://127.0.0.1:%d", port);
    c->s3_path_style = 1;
    c->retries = 2;
}

static tc_backup_dest *dest(const char *prefix)
{
    tc_backup_conf c;
    conf_for(&c, BUCKET, prefix);
    tc_backup_dest *d = NULL;
    char err[TC_BACKUP_ERRLEN];
    if (tc_backup_open(&d, &c, err, sizeof err)) fail_msg("open: %s", err);
    return d;
}

/* A client of our own for raw requests (orphans, corruption). */
static void raw_client(tc_s3_client *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->endpoint, sizeof c->endpoint, "http://127.0.0.1:%d", port);
    snprintf(c->region, sizeof c->region, "us-east-1");
    snprintf(c->bucket, sizeof c->bucket, BUCKET);
    c->path_style = 1;
    c->retries = 1;
    char err[TC_BACKUP_ERRLEN];
    assert_int_equal(tc_s3_credentials_load("", &c->creds, err, sizeof err), 0);
    assert_int_equal(tc_s3_client_init(c, err, sizeof err), 0);
}

static int raw_with(tc_s3_client *c, const char *method, const char *key, const void *body,
                    size_t len)
{
    tc_s3_req req = {.method = method, .key = key, .body = body, .body_len = len};
    tc_s3_resp resp;
    char err[TC_BACKUP_ERRLEN];
    int rc = tc_s3_request(c, &req, &resp, err, sizeof err);
    if (rc && rc != TC_BACKUP_ENOTFOUND) fprintf(stderr, "raw %s: %s\n", method, err);
    tc_s3_resp_free(&resp);
    return rc;
}

static int raw(const char *method, const char *key, const void *body, size_t len)
{
    tc_s3_client c;
    raw_client(&c);
    int rc = raw_with(&c, method, key, body, len);
    tc_s3_client_free(&c);
    return rc;
}

typedef struct stream {
    uint64_t x;
} stream;

static uint64_t next(stream *s)
{
    s->x ^= s->x << 13;
    s->x ^= s->x >> 7;
    s->x ^= s->x << 17;
    return s->x;
}

/* A backup of nrec records of value_len pseudo-random (incompressible)
 * bytes, streamed straight from the snapshot writer into the upload. */
static void upload(tc_backup_dest *d, const char *cluster, int64_t created, int nrec,
                   uint32_t value_len, tc_backup_meta *meta)
{
    char name[TC_BACKUP_MAX_NAME], err[TC_BACKUP_ERRLEN];
    tc_backup_name(name, sizeof name, cluster, created, 1);
    tc_backup_upload *u = NULL;
    if (tc_backup_upload_begin(d, name, &u, err, sizeof err)) fail_msg("begin: %s", err);
    tc_snapshot_writer_opts o = {.name = name, .cluster = cluster, .raft_index = 42, .raft_term = 2,
                                 .created_ms = created, .compress = 1};
    tc_snapshot_writer *w = NULL;
    assert_int_equal(tc_snapshot_writer_new(&w, &o, tc_backup_upload_write, u, err, sizeof err), 0);
    uint64_t *value = malloc(value_len + 8);
    stream s = {.x = 0x9e3779b97f4a7c15ULL ^ (uint64_t)created};
    for (int i = 0; i < nrec; i++) {
        char key[32];
        snprintf(key, sizeof key, "key:%06d", i);
        for (uint32_t k = 0; k < value_len / 8 + 1; k++) value[k] = next(&s);
        tc_snapshot_record r = {.type = TC_SNAPSHOT_STRING, .key = key, .key_len = (uint32_t)strlen(key),
                                .value = value, .value_len = value_len};
        if (tc_snapshot_writer_add(w, &r)) fail_msg("add: %s", tc_snapshot_writer_error(w));
    }
    free(value);
    if (tc_snapshot_writer_finish(w)) fail_msg("finish: %s", tc_snapshot_writer_error(w));
    tc_snapshot_writer_free(w);
    memset(meta, 0, sizeof *meta);
    snprintf(meta->cluster, sizeof meta->cluster, "%s", cluster);
    meta->node_id = 1;
    meta->raft_index = 42;
    meta->raft_term = 2;
    meta->created_ms = created;
    meta->keys = (uint64_t)nrec;
    if (tc_backup_upload_finish(u, meta, err, sizeof err)) fail_msg("upload finish: %s", err);
}

static int log_has(const char *text)
{
    FILE *f = fopen(logpath, "r");
    char line[4096];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) found = strstr(line, text) != NULL;
    if (f) fclose(f);
    return found;
}

static int have_awscli(void)
{
    return system("command -v aws >/dev/null 2>&1") == 0;
}

/* awscli reads what we wrote: the size it reports and the bytes it
 * downloads must be those of our own fetch. */
static void cross_check_with_awscli(const char *key, const char *fetched, uint64_t size)
{
    if (!have_awscli()) {
        fprintf(stderr, "awscli is not installed: skipping the cross-check with it "
                        "(scripts/install-deps.sh installs it)\n");
        return;
    }
    char cmd[1024], out[256] = "", copy[256];
    snprintf(cmd, sizeof cmd,
             "aws --endpoint-url http://127.0.0.1:%d s3api head-object --bucket %s --key '%s' "
             "--query ContentLength --output text 2>&1",
             port, BUCKET, key);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    if (!fgets(out, sizeof out, p)) out[0] = '\0';
    pclose(p);
    if (strtoull(out, NULL, 10) != size) fail_msg("aws head-object says \"%s\", expected %llu", out,
                                                  (unsigned long long)size);
    snprintf(copy, sizeof copy, "%s/aws-copy", workdir);
    snprintf(cmd, sizeof cmd,
             "aws --endpoint-url http://127.0.0.1:%d s3 cp --only-show-errors s3://%s/%s %s && cmp %s %s",
             port, BUCKET, key, copy, copy, fetched);
    if (system(cmd) != 0) fail_msg("awscli's copy of %s differs from ours (%s)", key, cmd);
    unlink(copy);
}

/* ------------------------------------------------------------- tests */

static void fetch_and_verify(tc_backup_dest *d, const tc_backup_meta *m, char *path, size_t len)
{
    char err[TC_BACKUP_ERRLEN];
    if (tc_backup_fetch(d, m, workdir, path, len, NULL, NULL, err, sizeof err))
        fail_msg("fetch %s: %s", m->name, err);
    tc_snapshot_stats st;
    tc_snapshot_info info;
    if (tc_snapshot_verify_file(path, NULL, &info, &st, err, sizeof err)) fail_msg("verify: %s", err);
    assert_true(st.records == m->keys);
    assert_true(st.file_bytes == m->size);
    assert_string_equal(info.cluster, m->cluster);
}

static void test_roundtrip(void **state)
{
    (void)state;
    tc_backup_dest *d = dest("rt/daily");
    tc_backup_meta small, big, *list, m;
    size_t n;
    char err[TC_BACKUP_ERRLEN], path[512], key[300];
    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);

    upload(d, "c1", 1700000000000LL, 100, 1000, &small);
    assert_true(small.size < TC_BACKUP_PART_SIZE);
    /* 40 MiB: three parts of a multipart upload (16 + 16 + 8 MiB). */
    upload(d, "c1", 1700000005000LL, 640, 64 * 1024, &big);
    assert_true(big.size > 2ull * TC_BACKUP_PART_SIZE && big.size < 3ull * TC_BACKUP_PART_SIZE);
    assert_true(log_has("Stored part 3 of"));
    assert_false(log_has("Stored part 4 of"));

    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, small.name);
    assert_string_equal(list[1].name, big.name);
    assert_string_equal(list[1].sha256, big.sha256);
    assert_true(list[1].size == big.size && list[1].keys == 640 && list[1].created_ms == big.created_ms);
    free(list);
    assert_int_equal(tc_backup_stat(d, big.name, &m, err, sizeof err), 0);
    assert_string_equal(m.sha256, big.sha256);
    assert_int_equal(tc_backup_stat(d, "c1-nope", &m, err, sizeof err), TC_BACKUP_ENOTFOUND);
    assert_non_null(strstr(err, "no backup named c1-nope"));

    fetch_and_verify(d, &small, path, sizeof path);
    snprintf(key, sizeof key, "rt/daily/%s.tcsnap", small.name);
    cross_check_with_awscli(key, path, small.size);
    tc_backup_fetch_done(d, path);
    assert_int_equal(access(path, F_OK), -1);
    fetch_and_verify(d, &big, path, sizeof path);
    snprintf(key, sizeof key, "rt/daily/%s.tcsnap", big.name);
    cross_check_with_awscli(key, path, big.size);
    tc_backup_fetch_done(d, path);

    /* Replaced behind our back: same size, other bytes; then other size. */
    char *junk = calloc(1, small.size + 1);
    snprintf(key, sizeof key, "rt/daily/%s.tcsnap", small.name);
    assert_int_equal(raw("PUT", key, junk, small.size), 0);
    assert_int_equal(tc_backup_fetch(d, &small, workdir, path, sizeof path, NULL, NULL, err, sizeof err),
                     TC_BACKUP_ECORRUPT);
    assert_non_null(strstr(err, "SHA-256"));
    assert_string_equal(path, "");
    assert_int_equal(raw("PUT", key, junk, small.size + 1), 0);
    assert_int_equal(tc_backup_fetch(d, &small, workdir, path, sizeof path, NULL, NULL, err, sizeof err),
                     TC_BACKUP_ECORRUPT);
    assert_non_null(strstr(err, "bytes but its manifest says"));
    free(junk);

    assert_int_equal(tc_backup_delete(d, small.name, err, sizeof err), 0);
    assert_int_equal(raw("HEAD", key, NULL, 0), TC_BACKUP_ENOTFOUND);
    assert_int_equal(tc_backup_delete(d, small.name, err, sizeof err), TC_BACKUP_ENOTFOUND);
    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, big.name);
    free(list);
    tc_backup_close(d);
}

static int64_t two_hours_later(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + 2 * 3600 * 1000;
}

/* An upload given up after a part, and a snapshot without a manifest,
 * are never listed; prune removes the orphan once it is old. */
static void test_incomplete_uploads(void **state)
{
    (void)state;
    tc_backup_dest *d = dest("inc");
    tc_backup_upload *u = NULL;
    tc_backup_meta m, *list;
    size_t n;
    unsigned deleted = 0;
    char err[TC_BACKUP_ERRLEN];
    assert_int_equal(tc_backup_upload_begin(d, "given-up", &u, err, sizeof err), 0);
    char *block = calloc(1, 1 << 20);
    for (int i = 0; i < 20; i++) assert_int_equal(tc_backup_upload_write(u, block, 1 << 20), 0);
    free(block);
    tc_backup_upload_abort(u);
    /* s3rver does not implement AbortMultipartUpload; nothing is listed
     * either way, since the object only appears on completion. */
    assert_int_equal(raw("HEAD", "inc/given-up.tcsnap", NULL, 0), TC_BACKUP_ENOTFOUND);

    upload(d, "c", 1000, 5, 100, &m);
    assert_int_equal(raw("PUT", "inc/orphan.tcsnap", "x", 1), 0);
    assert_int_equal(raw("PUT", "inc/deeper/other.manifest", "x", 1), 0);
    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].name, m.name);
    assert_string_equal(err, "");
    free(list);

    assert_int_equal(tc_backup_prune(d, "c", 3, &deleted, err, sizeof err), 0);
    assert_int_equal(deleted, 0);
    assert_int_equal(raw("HEAD", "inc/orphan.tcsnap", NULL, 0), 0); /* too young to judge */
    tc__bk_set_clock(d, two_hours_later);
    assert_int_equal(tc_backup_prune(d, "c", 3, &deleted, err, sizeof err), 0);
    assert_int_equal(raw("HEAD", "inc/orphan.tcsnap", NULL, 0), TC_BACKUP_ENOTFOUND);
    assert_int_equal(raw("HEAD", "inc/deeper/other.manifest", NULL, 0), 0);
    assert_int_equal(tc_backup_stat(d, m.name, &m, err, sizeof err), 0);
    tc_backup_close(d);
}

static void test_prune_retains(void **state)
{
    (void)state;
    /* Path style is not asked for: an IP endpoint implies it. */
    tc_backup_conf c;
    conf_for(&c, BUCKET, "pr");
    c.s3_path_style = 0;
    tc_backup_dest *d = NULL;
    char err0[TC_BACKUP_ERRLEN];
    if (tc_backup_open(&d, &c, err0, sizeof err0)) fail_msg("open: %s", err0);
    tc_backup_meta m, *list;
    size_t n;
    unsigned deleted = 0;
    char err[TC_BACKUP_ERRLEN];
    for (int i = 0; i < 4; i++) upload(d, "x", 1000 + i * 1000, 3, 100, &m);
    upload(d, "y", 500, 3, 100, &m);
    assert_int_equal(tc_backup_prune(d, "x", 2, &deleted, err, sizeof err), 0);
    assert_int_equal(deleted, 2);
    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].cluster, "y");
    assert_true(list[1].created_ms == 3000 && list[2].created_ms == 4000);
    free(list);
    tc_backup_close(d);
}

/* More objects than one ListObjectsV2 page (1000): the listing follows
 * the continuation token. */
static void test_listing_pages(void **state)
{
    (void)state;
    tc_backup_dest *d = dest("pages");
    tc_backup_meta first, last, *list;
    size_t n;
    char err[TC_BACKUP_ERRLEN], key[64];
    tc_s3_client c;
    raw_client(&c);
    upload(d, "a", 1000, 2, 10, &first);
    for (int i = 0; i < 1100; i++) {
        snprintf(key, sizeof key, "pages/b-filler-%04d.tcsnap", i);
        assert_int_equal(raw_with(&c, "PUT", key, "x", 1), 0);
    }
    tc_s3_client_free(&c);
    upload(d, "z", 2000, 2, 10, &last); /* sorts after the filler */
    if (tc_backup_list(d, &list, &n, err, sizeof err)) fail_msg("list: %s", err);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].name, first.name);
    assert_string_equal(list[1].name, last.name);
    free(list);
    tc_backup_close(d);
}

static void test_errors(void **state)
{
    (void)state;
    tc_backup_conf c;
    tc_backup_dest *d = NULL;
    tc_backup_meta *list, m;
    size_t n;
    char err[TC_BACKUP_ERRLEN];

    /* A bucket that does not exist. */
    conf_for(&c, "no-such-bucket", "x");
    assert_int_equal(tc_backup_open(&d, &c, err, sizeof err), 0);
    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), TC_BACKUP_ENOTFOUND);
    assert_non_null(strstr(err, "bucket no-such-bucket does not exist"));
    tc_backup_upload *u = NULL;
    assert_int_equal(tc_backup_upload_begin(d, "n", &u, err, sizeof err), 0);
    assert_int_equal(tc_backup_upload_write(u, "abc", 3), 0);
    memset(&m, 0, sizeof m);
    assert_int_equal(tc_backup_upload_finish(u, &m, err, sizeof err), TC_BACKUP_ENOTFOUND);
    assert_non_null(strstr(err, "s3://no-such-bucket/x/n.tcsnap"));
    assert_non_null(strstr(err, "does not exist"));
    tc_backup_close(d);

    /* An access key the server does not know. */
    setenv("AWS_ACCESS_KEY_ID", "NOT-S3RVER", 1);
    conf_for(&c, BUCKET, "err");
    assert_int_equal(tc_backup_open(&d, &c, err, sizeof err), 0);
    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), TC_BACKUP_EAUTH);
    assert_non_null(strstr(err, "InvalidAccessKeyId"));
    assert_non_null(strstr(err, "check the credentials"));
    tc_backup_close(d);

    /* No credentials at all; then a credentials file with a profile. */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    assert_int_equal(tc_backup_open(&d, &c, err, sizeof err), TC_BACKUP_EAUTH);
    assert_null(d);
    assert_non_null(strstr(err, "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"));
    snprintf(c.s3_credentials_file, sizeof c.s3_credentials_file, "%s/creds", workdir);
    FILE *f = fopen(c.s3_credentials_file, "w");
    assert_non_null(f);
    fputs("[default]\naws_access_key_id = WRONG\naws_secret_access_key = WRONG\n"
          "[tc]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n", f);
    fclose(f);
    setenv("AWS_PROFILE", "tc", 1);
    assert_int_equal(tc_backup_open(&d, &c, err, sizeof err), 0);
    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), 0);
    tc_backup_close(d);
    unsetenv("AWS_PROFILE");
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);

    /* Nobody listening: retried, then ENET naming the endpoint. */
    conf_for(&c, BUCKET, "err");
    snprintf(c.s3_endpoint, sizeof c.s3_endpoint, "http://127.0.0.1:%d", h_free_port());
    c.retries = 1;
    assert_int_equal(tc_backup_open(&d, &c, err, sizeof err), 0);
    assert_int_equal(tc_backup_list(d, &list, &n, err, sizeof err), TC_BACKUP_ENET);
    assert_non_null(strstr(err, "after 2 attempts"));
    assert_non_null(strstr(err, "check s3_endpoint"));
    tc_backup_close(d);
}

/* ------------------------------------------------------------- nodes */

/* The whole path from a user's seat: a three-node cluster backs up to
 * s3rver with BGSAVE on a replica (credentials from the environment the
 * nodes inherit), tricachectl lists and verifies the backup there, and
 * restores it into a new cluster, which ends with the same DEBUG DIGEST. */
static void test_nodes_back_up_to_s3_and_restore(void **state)
{
    (void)state;
    const char *ctl = getenv("TRICACHECTL");
    assert_non_null(ctl);
    char extra[600];
    snprintf(extra, sizeof extra,
             "[backup]\ndestination = \"s3://" BUCKET "/nodes\"\ns3_endpoint = \"http://127.0.0.1:%d\"\n"
             "s3_path_style = true",
             port);
    tcluster *c = h_cluster_start(3, extra);
    int p = h_cluster_primary(c, 15000);
    assert_true(p >= 0);
    free(h_cli(&c->nodes[p], "DEBUG", "POPULATE", "20000", "k", "64", (char *)NULL));
    free(h_cli(&c->nodes[p], "SET", "with-ttl", "v", "EX", "3600", (char *)NULL));
    int r = (p + 1) % 3;
    /* SAVE answers once the backup is complete (manifest written) */
    long long deadline = h_ms() + 15000;
    for (;;) {
        char *n = h_cli(&c->nodes[r], "DBSIZE", (char *)NULL);
        int caught_up = strcmp(n, "20001") == 0;
        free(n);
        if (caught_up) break;
        assert_true(h_ms() < deadline);
        usleep(20000);
    }
    char *v = h_cli(&c->nodes[r], "SAVE", (char *)NULL);
    assert_string_equal(v, "OK");
    free(v);
    char *digest = h_cli(&c->nodes[p], "DEBUG", "DIGEST", (char *)NULL);

    int st;
    char *out = h_run(&st, ctl, "--config", c->config, "backup", "list", "--json", (char *)NULL);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "\"keys\":20001"));
    char *name_at = strstr(out, "\"name\":\"");
    assert_non_null(name_at);
    char name[TC_BACKUP_MAX_NAME];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(name_at + 8, "\""), name_at + 8);
    free(out);
    out = h_run(&st, ctl, "--config", c->config, "backup", "verify", name, (char *)NULL);
    assert_int_equal(st, 0);
    free(out);

    tcluster *fresh = h_cluster_start(3, extra);
    assert_true(h_cluster_primary(fresh, 15000) >= 0);
    char from[300]; /* the backup's whole URL this time */
    snprintf(from, sizeof from, "s3://" BUCKET "/nodes/%s.tcsnap", name);
    out = h_run(&st, ctl, "--config", fresh->config, "restore", "--from", from, (char *)NULL);
    if (st != 0) fail_msg("restore failed:\n%s", out);
    free(out);
    for (int i = 0; i < 3; i++) {
        v = h_cli(&fresh->nodes[i], "DEBUG", "DIGEST", (char *)NULL);
        assert_string_equal(v, digest);
        free(v);
    }
    free(digest);
    h_cluster_stop(fresh);
    h_cluster_stop(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_incomplete_uploads),
        cmocka_unit_test(test_prune_retains),
        cmocka_unit_test(test_listing_pages),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_nodes_back_up_to_s3_and_restore),
    };
    return cmocka_run_group_tests(tests, start_server, stop_server_group);
}
