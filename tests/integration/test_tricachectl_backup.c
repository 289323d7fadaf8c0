/* tricachectl keys, backup and restore.
 *
 * Backups are made here with the snapshot writer and the backup library
 * (as a node would), so listing, verifying, deleting and refusing bad
 * files need no node; restores go into real three-node clusters (and one
 * single node, whose digest must match theirs), and backup create asks
 * real nodes for BGSAVE. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "harness.h"
#include "snapshot.h"

/* ---- running tricachectl ---------------------------------------------- */

static const char *ctl(void)
{
    const char *p = getenv("TRICACHECTL");
    if (!p) fail_msg("TRICACHECTL is not set (run the tests through ctest)");
    return p;
}

static int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

/* The folder tricachectl runs in: one without a cluster.toml, so that
 * only --config decides which config is read. */
static char g_cwd[256];

/* Runs tricachectl with the arguments (NULL-terminated) in g_cwd, stdin
 * from /dev/null, stderr merged into the output it returns (malloc'd). */
static char *run(int *code, ...)
{
    const char *a[24] = {0};
    va_list ap;
    va_start(ap, code);
    for (int i = 0; i < 23; i++) {
        a[i] = va_arg(ap, const char *);
        if (!a[i]) break;
    }
    va_end(ap);
    int st;
    char *out = h_run(&st, "sh", "-c", "cd \"$0\" || exit 99; exec \"$@\" </dev/null 2>&1", g_cwd, ctl(), a[0],
                      a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15],
                      a[16], a[17], a[18], a[19], a[20], a[21], a[22], (char *)NULL);
    *code = exit_code(st);
    return out;
}

#define EXPECT(out, code, want)                                                                                   \
    do {                                                                                                          \
        if ((code) != (want)) fail_msg("exit %d, want %d; output:\n%s", (code), (want), (out));                  \
    } while (0)
#define CONTAINS(out, s)                                                                                          \
    do {                                                                                                          \
        if (!strstr((out), (s))) fail_msg("output lacks \"%s\":\n%s", (s), (out));                               \
    } while (0)
#define LACKS(out, s)                                                                                             \
    do {                                                                                                          \
        if (strstr((out), (s))) fail_msg("output has \"%s\" but should not:\n%s", (s), (out));                   \
    } while (0)

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0) return 1;
    return 0;
}

/* ---- temp folders and configs ------------------------------------------ */

/* Folders made here, removed at exit if a failed set-up (which cmocka
 * does not tear down) left them behind. */
static char g_dirs[16][64];

static void rm_rf(const char *d)
{
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", d, (char *)NULL);
        _exit(127);
    }
    if (pid > 0) waitpid(pid, NULL, 0);
}

static void remove_leftovers(void)
{
    for (int i = 0; i < 16; i++)
        if (g_dirs[i][0]) rm_rf(g_dirs[i]);
}

static char *make_tmpdir(void)
{
    static int registered;
    if (!registered) registered = atexit(remove_leftovers) == 0;
    char *d = strdup("/tmp/tricachectl-bk-XXXXXX");
    assert_non_null(mkdtemp(d));
    for (int i = 0; i < 16; i++) {
        if (!g_dirs[i][0]) {
            snprintf(g_dirs[i], sizeof g_dirs[i], "%s", d);
            break;
        }
    }
    return d;
}

static void remove_tmpdir(char *d)
{
    if (!d) return;
    rm_rf(d);
    for (int i = 0; i < 16; i++)
        if (strcmp(g_dirs[i], d) == 0) g_dirs[i][0] = '\0';
    free(d);
}

/* A cluster.toml whose nodes are never started (for commands that only
 * read files); `top` is added to the top-level settings, `tail` after the
 * nodes. */
static void write_config(const char *path, const char *data_dir, int nodes, const char *top, const char *tail)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "cluster_name = \"test\"\ndata_dir = \"%s\"\n%s\n", data_dir, top ? top : "");
    for (int i = 1; i <= nodes; i++)
        fprintf(f, "[[node]]\nid = %d\nzone = \"zone-%c\"\nclient_addr = \"127.0.0.1:%d\"\nraft_addr = \"127.0.0.1:%d\"\n",
                i, 'a' + i - 1, h_free_port(), h_free_port());
    fprintf(f, "%s\n", tail ? tail : "");
    fclose(f);
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the data set ------------------------------------------------------ */

#define BIG_INDEX 7
#define BIG_LEN (5u << 20) /* larger than one TCRESTORE LOAD: travels alone */

static int64_t g_expire_base; /* wall clock + 1 h, fixed for the run */

static size_t rec_key(int i, char *out) { return (size_t)snprintf(out, 32, "rk:%05d", i); }

/* Values: one of 5 MiB, some binary (NUL, CR, LF), the rest text of
 * varying length. out must hold BIG_LEN bytes. */
static size_t rec_value(int i, char *out)
{
    if (i == BIG_INDEX) {
        for (size_t j = 0; j < BIG_LEN; j++) out[j] = (char)('a' + (j * 7 + (size_t)i) % 26);
        return BIG_LEN;
    }
    if (i % 11 == 3) {
        size_t n = 8 + (size_t)(i % 40);
        for (size_t j = 0; j < n; j++) out[j] = (char)((j * 31 + (size_t)i) % 256);
        out[0] = '\0';
        out[1] = '\r';
        out[2] = '\n';
        return n;
    }
    size_t n = 0, want = 16 + (size_t)(i % 200);
    while (n < want) n += (size_t)snprintf(out + n, 64, "value-%d-", i);
    return want;
}

/* Every fifth key expires in an hour; a few expired long ago (a restore
 * counts but does not keep them). */
static int64_t rec_expire(int i)
{
    if (i % 1000 == 999) return 1000;
    return i % 5 == 0 ? g_expire_base + i : 0;
}

static int rec_expired(int i) { return i % 1000 == 999; }

static int live_count(int n)
{
    int live = 0;
    for (int i = 0; i < n; i++) live += !rec_expired(i);
    return live;
}

/* Writes backup records 0..n) to url as the backup library's user would;
 * the name into name (TC_BACKUP_MAX_NAME). */
static void make_backup(const char *url, int node, uint64_t index, int64_t created, const tc_snapshot_key *key, int n,
                        char *name)
{
    char err[TC_BACKUP_ERRLEN];
    tc_backup_conf conf;
    memset(&conf, 0, sizeof conf);
    snprintf(conf.url, sizeof conf.url, "%s", url);
    tc_backup_dest *d = NULL;
    if (tc_backup_open(&d, &conf, err, sizeof err) != 0) fail_msg("tc_backup_open %s: %s", url, err);
    tc_backup_name(name, TC_BACKUP_MAX_NAME, "test", created, node);
    tc_backup_upload *u = NULL;
    if (tc_backup_upload_begin(d, name, &u, err, sizeof err) != 0) fail_msg("upload_begin: %s", err);
    tc_snapshot_writer_opts o = {.name = name, .cluster = "test", .raft_index = index, .raft_term = 3,
                                 .created_ms = created, .key = key, .compress = 1};
    tc_snapshot_writer *w = NULL;
    if (tc_snapshot_writer_new(&w, &o, tc_backup_upload_write, u, err, sizeof err) != 0) fail_msg("writer: %s", err);
    char *val = malloc(BIG_LEN);
    assert_non_null(val);
    for (int i = 0; i < n; i++) {
        char k[32];
        tc_snapshot_record r = {.type = TC_SNAPSHOT_STRING, .expire_at_ms = rec_expire(i), .key = k};
        r.key_len = (uint32_t)rec_key(i, k);
        r.value = val;
        r.value_len = (uint32_t)rec_value(i, val);
        if (tc_snapshot_writer_add(w, &r) != 0) fail_msg("writer_add: %s", tc_snapshot_writer_error(w));
    }
    free(val);
    if (tc_snapshot_writer_finish(w) != 0) fail_msg("writer_finish: %s", tc_snapshot_writer_error(w));
    tc_snapshot_writer_free(w);
    tc_backup_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "%s", name);
    snprintf(m.cluster, sizeof m.cluster, "test");
    m.node_id = node;
    m.raft_index = index;
    m.raft_term = 3;
    m.created_ms = created;
    m.keys = (uint64_t)n;
    m.key_id = key ? key->id : 0;
    if (tc_backup_upload_finish(u, &m, err, sizeof err) != 0) fail_msg("upload_finish: %s", err);
    tc_backup_close(d);
}

/* Flips one bit in the middle of a file. */
static void flip_bit(const char *path)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    struct stat sb;
    assert_int_equal(fstat(fd, &sb), 0);
    off_t at = sb.st_size / 2;
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x10;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

/* ---- talking to nodes ---------------------------------------------------- */

/* One command with binary-safe arguments; the raw reply (malloc'd). */
static char *command(int port, int argc, const char *const *argv, const size_t *lens)
{
    int fd = h_connect(port);
    assert_true(fd >= 0);
    char head[32];
    snprintf(head, sizeof head, "*%d\r\n", argc);
    h_sends(fd, head);
    for (int i = 0; i < argc; i++) {
        size_t n = lens ? lens[i] : strlen(argv[i]);
        snprintf(head, sizeof head, "$%zu\r\n", n);
        h_sends(fd, head);
        h_send(fd, argv[i], n);
        h_sends(fd, "\r\n");
    }
    char *r = h_reply(fd);
    h_close(fd);
    assert_non_null(r);
    return r;
}

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A command a replica may refuse for a moment (-TRYAGAIN while it catches
 * up): retried until a non-error reply or the deadline. */
static char *command_settled(int port, int argc, const char *const *argv, const size_t *lens)
{
    long long deadline = h_ms() + 10000;
    for (;;) {
        char *r = command(port, argc, argv, lens);
        if (r[0] != '-' || h_ms() > deadline) return r;
        free(r);
        pause_ms(20);
    }
}

static long long integer_reply(int port, const char *cmd, const char *arg)
{
    const char *argv[] = {cmd, arg};
    char *r = command_settled(port, arg ? 2 : 1, argv, NULL);
    if (r[0] != ':') fail_msg("%s %s on port %d: %s", cmd, arg ? arg : "", port, r);
    long long v = atoll(r + 1);
    free(r);
    return v;
}

static char *digest(int port)
{
    const char *argv[] = {"DEBUG", "DIGEST"};
    char *r = command_settled(port, 2, argv, NULL);
    if (r[0] != '+') fail_msg("DEBUG DIGEST on port %d: %s", port, r);
    r[strcspn(r, "\r\n")] = '\0';
    memmove(r, r + 1, strlen(r));
    return r;
}

/* Polls DBSIZE on a node until it is `want`. */
static void wait_dbsize(int port, long long want)
{
    long long deadline = h_ms() + 15000, got;
    while ((got = integer_reply(port, "DBSIZE", NULL)) != want && h_ms() < deadline) pause_ms(20);
    if (got != want) fail_msg("DBSIZE on port %d is %lld, want %lld", port, got, want);
}

/* Checks keys 0..n) of the data set on one node, every `step`th plus the
 * big and the binary ones: value bytes and whether a TTL is set. */
static void check_dataset(int port, int n, int step)
{
    char *val = malloc(BIG_LEN);
    assert_non_null(val);
    for (int i = 0; i < n; i++) {
        if (!(i % step == 0 || i == BIG_INDEX || i % 11 == 3 || rec_expired(i))) continue;
        char k[32];
        size_t klen = rec_key(i, k);
        const char *argv[] = {"GET", k};
        size_t lens[] = {3, klen};
        char *r = command_settled(port, 2, argv, lens);
        if (rec_expired(i)) {
            if (strncmp(r, "$-1\r\n", 5) != 0 && strncmp(r, "_\r\n", 3) != 0)
                fail_msg("port %d: %s expired before the restore but is there: %.60s", port, k, r);
            free(r);
            continue;
        }
        size_t vlen = rec_value(i, val);
        if (r[0] != '$') fail_msg("port %d: GET %s: %.200s", port, k, r);
        size_t got = (size_t)atoll(r + 1);
        const char *data = strstr(r, "\r\n") + 2;
        if (got != vlen || memcmp(data, val, vlen) != 0)
            fail_msg("port %d: %s has %zu bytes, want %zu (or different bytes)", port, k, got, vlen);
        free(r);
        const char *pargv[] = {"PTTL", k};
        size_t plens[] = {4, klen};
        r = command_settled(port, 2, pargv, plens);
        if (r[0] != ':') fail_msg("port %d: PTTL %s: %s", port, k, r);
        long long ttl = atoll(r + 1);
        if (rec_expire(i) ? ttl <= 0 : ttl != -1) fail_msg("port %d: PTTL %s is %lld (expire_at %lld)", port, k, ttl,
                                                              (long long)rec_expire(i));
        free(r);
    }
    free(val);
}

/* ---- keys ---------------------------------------------------------------- */

static void test_keys(void **state)
{
    (void)state;
    char *root = make_tmpdir();
    snprintf(g_cwd, sizeof g_cwd, "%s", root);
    char dir[512], path[600], cfg[512], cfg_nokeys[512], top[600];
    snprintf(dir, sizeof dir, "%s/keys", root);
    int code;

    char *out = run(&code, "keys", "generate", "--dir", dir, (char *)NULL);
    EXPECT(out, code, 0);
    CONTAINS(out, "created key 1");
    CONTAINS(out, "key-1.tckey");
    CONTAINS(out, "every node");
    CONTAINS(out, "safe copy");
    free(out);
    out = run(&code, "keys", "generate", "--dir", dir, (char *)NULL);
    EXPECT(out, code, 0);
    CONTAINS(out, "created key 2");
    free(out);
    snprintf(path, sizeof path, "%s/key-2.tckey", dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    out = run(&code, "keys", "list", "--dir", dir, (char *)NULL);
    EXPECT(out, code, 0);
    CONTAINS(out, "key-1.tckey");
    CONTAINS(out, "key-2.tckey");
    CONTAINS(out, "key 2 encrypts new data");
    /* the newest mark is on key 2's row only */
    const char *row1 = strstr(out, "key-1.tckey"), *row2 = strstr(out, "key-2.tckey");
    assert_true(strstr(row1, "newest") > row2);
    free(out);

    /* the folder from cluster.toml */
    snprintf(cfg, sizeof cfg, "%s/cluster.toml", root);
    snprintf(top, sizeof top, "keys_dir = \"%s\"", dir);
    write_config(cfg, root, 1, top, NULL);
    out = run(&code, "--config", cfg, "keys", "list", (char *)NULL);
    EXPECT(out, code, 0);
    CONTAINS(out, "key 2 encrypts new data");
    free(out);
    snprintf(cfg_nokeys, sizeof cfg_nokeys, "%s/nokeys.toml", root);
    write_config(cfg_nokeys, root, 1, NULL, NULL);
    out = run(&code, "--config", cfg_nokeys, "keys", "list", (char *)NULL);
    EXPECT(out, code, 2);
    CONTAINS(out, "keys_dir");
    free(out);
    out = run(&code, "keys", "generate", (char *)NULL);
    EXPECT(out, code, 2);
    CONTAINS(out, "--dir");
    free(out);
    out = run(&code, "keys", "frobnicate", "--dir", dir, (char *)NULL);
    EXPECT(out, code, 2);
    free(out);

    /* an empty folder */
    char empty[600];
    snprintf(empty, sizeof empty, "%s/empty", root);
    assert_int_equal(mkdir(empty, 0700), 0);
    out = run(&code, "keys", "list", "--dir", empty, (char *)NULL);
    EXPECT(out, code, 0);
    CONTAINS(out, "no keys in");
    CONTAINS(out, "keys generate");
    free(out);

    /* a key file others can read is refused, and nothing is created */
    assert_int_equal(chmod(path, 0644), 0);
    out = run(&code, "keys", "list", "--dir", dir, (char *)NULL);
    EXPECT(out, code, 1);
    CONTAINS(out, "key-2.tckey");
    CONTAINS(out, "chmod 600");
    free(out);
    out = run(&code, "keys", "generate", "--dir", dir, (char *)NULL);
    EXPECT(out, code, 1);
    free(out);
    snprintf(path, sizeof path, "%s/key-3.tckey", dir);
    assert_int_not_equal(access(path, F_OK), 0);
    remove_tmpdir(root);
}

/* ---- backups as files ---------------------------------------------------- */

typedef struct files {
    char *root;
    char url[700];            /* file://<root>/backups */
    char dest[600];
    char keys[600], wrong_keys[600];
    char cfg_keys[600];       /* keys_dir = keys, [backup] destination = url */
    char cfg_wrong[600];      /* keys_dir = wrong_keys */
    char cfg_none[600];       /* no keys_dir, no destination */
    char plain[TC_BACKUP_MAX_NAME], enc[TC_BACKUP_MAX_NAME], bad[TC_BACKUP_MAX_NAME], cut[TC_BACKUP_MAX_NAME];
} files;

static void load_key1(const char *dir, tc_snapshot_keydir *kd)
{
    char err[TC_SNAPSHOT_ERRLEN];
    uint32_t id;
    if (tc_snapshot_keydir_generate(kd, dir, &id, err, sizeof err) != 0) fail_msg("keydir_generate: %s", err);
    assert_int_equal(id, 1);
}

static void test_backup_files(void **state)
{
    (void)state;
    files *f = calloc(1, sizeof *f);
    f->root = make_tmpdir();
    snprintf(g_cwd, sizeof g_cwd, "%s", f->root);
    snprintf(f->dest, sizeof f->dest, "%s/backups", f->root);
    snprintf(f->url, sizeof f->url, "file://%s", f->dest);
    snprintf(f->keys, sizeof f->keys, "%s/keys", f->root);
    snprintf(f->wrong_keys, sizeof f->wrong_keys, "%s/other-keys", f->root);
    int code;
    char *out;

    /* before the first backup the folder does not even exist */
    out = run(&code, "backup", "list", "--to", f->url, (char *)NULL);
    EXPECT(out, code, 0);
    CONTAINS(out, "no backups at");
    free(out);

    tc_snapshot_keydir *kd = calloc(1, sizeof *kd), *wrong = calloc(1, sizeof *wrong);
    load_key1(f->keys, kd);
    load_key1(f->wrong_keys, wrong); /* also key id 1, other bytes */
    int64_t t0 = wall_ms() - 3600000;
    make_backup(f->url, 1, 100, t0, NULL, 300, f->plain);
    make_backup(f->url, 2, 200, t0 + 1000, tc_snapshot_keydir_newest(kd), 300, f->enc);
    make_backup(f->url, 3, 300, t0 + 2000, NULL, 300, f->bad);
    make_backup(f->url, 3, 400, t0 + 3000, NULL, 300, f->cut);
    tc_snapshot_keydir_clear(kd);
    tc_snapshot_keydir_clear(wrong);
    free(kd);
    free(wrong);

    char top[1400];
    snprintf(f->cfg_keys, sizeof f->cfg_keys, "%s/keys.toml", f->root);
    snprintf(top, sizeof top, "keys_dir = \"%s\"", f->keys);
    char tail[800];
    snprintf(tail, sizeof tail, "[backup]\ndestination = \"%s\"", f->url);
    write_config(f->cfg_keys, f->root, 3, top, tail);
    snprintf(f->cfg_wrong, sizeof f->cfg_wrong, "%s/wrong.toml", f->root);
    snprintf(top, sizeof top, "keys_dir = \"%s\"", f->wrong_keys);
    write_config(f->cfg_wrong, f->root, 1, top, NULL);
    snprintf(f->cfg_none, sizeof f->cfg_none, "%s/none.toml", f->root);
    write_config(f->cfg_none, f->root, 3, NULL, NULL);

    /* list: from --to, and from [backup] destination */
    out = run(&code, "backup", "list", "--to", f->url, (char *)NULL);
    EXPECT(out, code, 0);
    CONTAINS(out, f->plain);
    CONTAINS(out, f->enc);
    CONTAINS(out, "RAFT INDEX");
    CONTAINS(out, "4 backups at");
    assert_true(strstr(out, f->plain) < strstr(out, f->enc)); /* oldest first */
    free(out);
    out = run(&code, "--config", f->cfg_keys, "backup", "list", "--json", (char *)NULL);
    EXPECT(out, code, 0);
    char want[400];
    snprintf(want, sizeof want, "{\"name\":\"%s\",\"cluster\":\"test\"", f->enc);
    CONTAINS(out, want);
    CONTAINS(out, "\"node\":2,\"raft_index\":200,\"raft_term\":3,\"keys\":300,");
    CONTAINS(out, "\"key_id\":1}");
    free(out);

    /* verify: plain, by --to and by URL NAME */
    out = run(&code, "backup", "verify", f->plain, "--to", f->url, (char *)NULL);
    EXPECT(out, code, 0);
    CONTAINS(out, "OK backup");
    CONTAINS(out, "300 keys, raft index 100");
    CONTAINS(out, "not encrypted");
    free(out);
    out = run(&code, "backup", "verify", f->url, f->plain, (char *)NULL);
    EXPECT(out, code, 0);
    free(out);

    /* encrypted: with the key, without any, with the wrong one */
    out = run(&code, "--config", f->cfg_keys, "backup", "verify", f->enc, (char *)NULL);
    EXPECT(out, code, 0);
    CONTAINS(out, "encrypted with key 1");
    CONTAINS(out, "300 keys, raft index 200");
    free(out);
    out = run(&code, "--config", f->cfg_none, "backup", "verify", f->enc, "--to", f->url, (char *)NULL);
    EXPECT(out, code, 1);
    CONTAINS(out, "key 1");
    CONTAINS(out, "key-1.tckey");
    free(out);
    out = run(&code, "backup", "verify", f->enc, "--to", f->url, "--keys-dir", f->root, (char *)NULL);
    EXPECT(out, code, 1);
    CONTAINS(out, "does not hold");
    CONTAINS(out, "key-1.tckey");
    free(out);
    out = run(&code, "--config", f->cfg_wrong, "backup", "verify", f->enc, "--to", f->url, (char *)NULL);
    EXPECT(out, code, 1);
    CONTAINS(out, f->enc);
    CONTAINS(out, "not usable");
    free(out);
    out = run(&code, "--config", f->cfg_none, "backup", "verify", f->enc, "--to", f->url, "--keys-dir", f->keys,
              (char *)NULL);
    EXPECT(out, code, 0);
    free(out);

    /* damaged files: a flipped bit, a cut-off end */
    char path[800];
    snprintf(path, sizeof path, "%s/%s.tcsnap", f->dest, f->bad);
    flip_bit(path);
    out = run(&code, "backup", "verify", f->bad, "--to", f->url, (char *)NULL);
    EXPECT(out, code, 1);
    CONTAINS(out, f->bad);
    LACKS(out, "OK backup");
    free(out);
    snprintf(path, sizeof path, "%s/%s.tcsnap", f->dest, f->cut);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(truncate(path, sb.st_size - 40), 0);
    out = run(&code, "backup", "verify", f->cut, "--to", f->url, (char *)NULL);
    EXPECT(out, code, 1);
    LACKS(out, "OK backup");
    free(out);

    /* unknown names list what exists */
    out = run(&code, "backup", "verify", "test-nosuch", "--to", f->url, (char *)NULL);
    EXPECT(out, code, 1);
    CONTAINS(out, "no backup named 'test-nosuch'");
    CONTAINS(out, f->plain);
    CONTAINS(out, f->enc);
    free(out);

    /* delete */
    out = run(&code, "backup", "delete", f->plain, "--to", f->url, (char *)NULL);
    EXPECT(out, code, 0);
    CONTAINS(out, "deleted backup");
    free(out);
    out = run(&code, "backup", "list", "--to", f->url, (char *)NULL);
    EXPECT(out, code, 0);
    LACKS(out, f->plain);
    CONTAINS(out, f->enc);
    free(out);
    out = run(&code, "backup", "delete", f->plain, "--to", f->url, (char *)NULL);
    EXPECT(out, code, 1);
    CONTAINS(out, "no backup named");
    free(out);

    /* an empty destination folder */
    char empty_url[700];
    snprintf(empty_url, sizeof empty_url, "file://%s/none-here", f->root);
    out = run(&code, "backup", "verify", "test-x", "--to", empty_url, (char *)NULL);
    EXPECT(out, code, 1);
    CONTAINS(out, "no backups at");
    free(out);

    /* bad destinations and missing settings */
    out = run(&code, "backup", "list", "--to", "ftp://host/x", (char *)NULL);
    EXPECT(out, code, 2);
    CONTAINS(out, "file:///");
    free(out);
    out = run(&code, "backup", "list", "--to", "file://relative/dir", (char *)NULL);
    EXPECT(out, code, 2);
    free(out);
    out = run(&code, "backup", "list", (char *)NULL);
    EXPECT(out, code, 2);
    CONTAINS(out, "--to");
    free(out);
    /* several nodes, no destination: which node's folder? */
    out = run(&code, "--config", f->cfg_none, "backup", "list", (char *)NULL);
    EXPECT(out, code, 2);
    CONTAINS(out, "--node");
    free(out);
    char node2[800], name2[TC_BACKUP_MAX_NAME];
    snprintf(node2, sizeof node2, "file://%s/node-2/backups", f->root);
    make_backup(node2, 2, 500, t0 + 5000, NULL, 10, name2);
    out = run(&code, "--config", f->cfg_none, "backup", "list", "--node", "2", (char *)NULL);
    EXPECT(out, code, 0);
    CONTAINS(out, name2);
    free(out);
    out = run(&code, "--config", f->cfg_none, "backup", "list", "--node", "9", (char *)NULL);
    EXPECT(out, code, 2);
    free(out);

    remove_tmpdir(f->root);
    free(f);
}

/* S3 without credentials: refused with a message that says where they go. */
static void test_backup_s3_credentials(void **state)
{
    (void)state;
    char *root = make_tmpdir();
    snprintf(g_cwd, sizeof g_cwd, "%s", root);
    char creds[600];
    snprintf(creds, sizeof creds, "%s/no-such-credentials", root);
    const char *vars[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                          "AWS_SHARED_CREDENTIALS_FILE", "HOME"};
    char *saved[6];
    for (int i = 0; i < 6; i++) {
        const char *v = getenv(vars[i]);
        saved[i] = v ? strdup(v) : NULL;
        unsetenv(vars[i]);
    }
    setenv("AWS_SHARED_CREDENTIALS_FILE", creds, 1);
    setenv("HOME", root, 1);
    int code;
    char *out = run(&code, "backup", "list", "--to", "s3://tricache-test-bucket/backups", (char *)NULL);
    for (int i = 0; i < 6; i++) {
        if (saved[i]) setenv(vars[i], saved[i], 1);
        else unsetenv(vars[i]);
        free(saved[i]);
    }
    if (code == 0 || !contains_nocase(out, "credential"))
        fail_msg("exit %d, want a refusal that mentions credentials:\n%s", code, out);
    CONTAINS(out, "AWS_ACCESS_KEY_ID");
    free(out);
    remove_tmpdir(root);
}

static void test_bad_usage(void **state)
{
    (void)state;
    char *root = make_tmpdir();
    snprintf(g_cwd, sizeof g_cwd, "%s", root);
    char cfg[600];
    snprintf(cfg, sizeof cfg, "%s/cluster.toml", root);
    write_config(cfg, root, 3, NULL, NULL);
    struct {
        const char *a[8];
    } bad[] = {
        {{"--config", cfg, "restore", NULL}},
        {{"--config", cfg, "restore", "--from", "x", "--yes", NULL}},
        {{"--config", cfg, "restore", "--from", "a/b", NULL}},
        {{"--config", cfg, "backup", NULL}},
        {{"--config", cfg, "backup", "frobnicate", NULL}},
        {{"--config", cfg, "backup", "verify", NULL}},
        {{"--config", cfg, "backup", "delete", "a", "b", NULL}},
        {{"--config", cfg, "backup", "list", "extra", NULL}},
        {{"--config", cfg, "backup", "list", "--timeout", "5s", NULL}},
        {{"--config", cfg, "backup", "create", "--json", NULL}},
        {{"--config", cfg, "backup", "create", "--to", "ftp://x", NULL}},
        {{"--config", cfg, "backup", "create", "--node", "x", NULL}},
        {{"--config", cfg, "backup", "create", "--timeout", "soon", NULL}},
        {{"--config", cfg, "keys", "list", "--json", NULL}},
        {{"--config", cfg, "status", "--dir", "/tmp", NULL}},
        {{"--config", cfg, "status", "--from", "x", NULL}},
        {{"--config", cfg, "failover", "--to", "file:///tmp", NULL}},
        {{"--config", cfg, "restore", "--from", NULL}},
        {{"--config", cfg, "backup", "verify", "bad name", "--to", "file:///tmp", NULL}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char **a = bad[i].a;
        int code;
        char *out = run(&code, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], (char *)NULL);
        if (code != 2) fail_msg("case %zu (%s %s %s %s): exit %d, want 2:\n%s", i, a[2], a[3] ? a[3] : "",
                                a[3] && a[4] ? a[4] : "", a[3] && a[4] && a[5] ? a[5] : "", code, out);
        free(out);
    }
    int code;
    char *out = run(&code, "--help", (char *)NULL);
    EXPECT(out, code, 0);
    CONTAINS(out, "backup create");
    CONTAINS(out, "restore --from NAME");
    CONTAINS(out, "keys generate --dir DIR");
    free(out);
    remove_tmpdir(root);
}

/* ---- restore into real clusters ----------------------------------------- */

typedef struct rst {
    tcluster *c;
    char *root;
    char url[600];
} rst;

static int start_restore(void **state)
{
    rst *r = calloc(1, sizeof *r);
    r->root = make_tmpdir();
    snprintf(r->url, sizeof r->url, "file://%s/backups", r->root);
    r->c = h_cluster_start(3, NULL);
    *state = r;
    return 0;
}

static int stop_restore(void **state)
{
    rst *r = *state;
    h_cluster_stop(r->c);
    remove_tmpdir(r->root);
    free(r);
    return 0;
}

/* A restore that must succeed. */
static char *run_restore(int *code, const char *config, const char *name, const char *url, int into_running)
{
    return into_running ? run(code, "--config", config, "restore", "--from", name, "--to", url, "--into-running",
                              "--yes", (char *)NULL)
                        : run(code, "--config", config, "restore", "--from", name, "--to", url, (char *)NULL);
}

#define NREC 25000 /* more than two LOADs' worth of records */

static void test_restore_fresh(void **state)
{
    rst *r = *state;
    tcluster *c = r->c;
    snprintf(g_cwd, sizeof g_cwd, "%s", r->root);
    assert_true(h_cluster_primary(c, 10000) >= 0);
    char name[TC_BACKUP_MAX_NAME];
    make_backup(r->url, 2, 4242, wall_ms() - 60000, NULL, NREC, name);

    int code;
    char *out = run_restore(&code, c->config, name, r->url, 0);
    EXPECT(out, code, 0);
    CONTAINS(out, "verified");
    CONTAINS(out, "committed");
    CONTAINS(out, "restore complete");
    /* one digest line per node, all the same */
    char first[64] = "";
    int lines = 0;
    for (const char *p = out; (p = strstr(p, ": digest ")); p += 9) {
        char d[64];
        assert_int_equal(sscanf(p + 9, "%63s", d), 1);
        if (!first[0]) snprintf(first, sizeof first, "%s", d);
        assert_string_equal(d, first);
        lines++;
    }
    assert_int_equal(lines, 3);
    free(out);

    int live = live_count(NREC);
    char *d0 = NULL;
    for (int i = 0; i < 3; i++) {
        wait_dbsize(c->nodes[i].port, live);
        check_dataset(c->nodes[i].port, NREC, 97);
        char *d = digest(c->nodes[i].port);
        assert_string_equal(d, first);
        if (!d0) d0 = d;
        else {
            assert_string_equal(d, d0);
            free(d);
        }
    }

    /* the same backup restored into a single node gives the same keyspace */
    tnode *one = h_start(NULL);
    out = run_restore(&code, one->config, name, r->url, 0);
    EXPECT(out, code, 0);
    free(out);
    wait_dbsize(one->port, live);
    char *d1 = digest(one->port);
    assert_string_equal(d1, d0);
    free(d1);
    free(d0);
    h_stop(one);
}

/* Index of a primary other than `old`, once one is elected. */
static int settled_primary(tcluster *c, int old)
{
    long long deadline = h_ms() + 15000;
    int p;
    do {
        p = h_cluster_primary(c, 2000);
    } while ((p < 0 || p == old) && h_ms() < deadline);
    if (p < 0 || p == old) fail_msg("no new primary after node %d stopped", old + 1);
    return p;
}

static void set_key(int port, const char *k, const char *v)
{
    const char *argv[] = {"SET", k, v};
    char *rep = command(port, 3, argv, NULL);
    if (strncmp(rep, "+OK", 3) != 0) fail_msg("SET %s: %s", k, rep);
    free(rep);
}

static void test_restore_into_running(void **state)
{
    rst *r = *state;
    tcluster *c = r->c;
    snprintf(g_cwd, sizeof g_cwd, "%s", r->root);
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    set_key(c->nodes[p].port, "old:1", "a");
    set_key(c->nodes[p].port, "old:2", "b");
    set_key(c->nodes[p].port, "old:3", "c");
    for (int i = 0; i < 3; i++) wait_dbsize(c->nodes[i].port, 3);
    char *before = digest(c->nodes[p].port);

    const int n = 2500;
    char name[TC_BACKUP_MAX_NAME], bad[TC_BACKUP_MAX_NAME];
    make_backup(r->url, 1, 77, wall_ms() - 60000, NULL, n, name);
    make_backup(r->url, 1, 78, wall_ms() - 50000, NULL, n, bad);
    char path[800];
    snprintf(path, sizeof path, "%s/backups/%s.tcsnap", r->root, bad);
    flip_bit(path);

    int code;
    char *out = run(&code, "--config", c->config, "restore", "--from", name, "--to", r->url, (char *)NULL);
    EXPECT(out, code, 1);
    CONTAINS(out, "the cluster holds 3 keys; restore --into-running replaces them");
    free(out);
    /* no terminal to confirm on, and no --yes */
    out = run(&code, "--config", c->config, "restore", "--from", name, "--to", r->url, "--into-running", (char *)NULL);
    EXPECT(out, code, 2);
    CONTAINS(out, "--yes");
    free(out);
    /* a damaged backup: refused before anything is sent */
    out = run(&code, "--config", c->config, "restore", "--from", bad, "--to", r->url, "--into-running", "--yes",
              (char *)NULL);
    EXPECT(out, code, 1);
    CONTAINS(out, "nothing was sent to the cluster");
    free(out);
    /* an unknown name lists what there is */
    out = run(&code, "--config", c->config, "restore", "--from", "test-nosuch", "--to", r->url, (char *)NULL);
    EXPECT(out, code, 1);
    CONTAINS(out, name);
    free(out);
    for (int i = 0; i < 3; i++) {
        char *d = digest(c->nodes[i].port);
        assert_string_equal(d, before);
        free(d);
    }

    out = run_restore(&code, c->config, name, r->url, 1);
    EXPECT(out, code, 0);
    CONTAINS(out, "restore complete");
    free(out);
    int live = live_count(n);
    for (int i = 0; i < 3; i++) {
        wait_dbsize(c->nodes[i].port, live);
        const char *argv[] = {"EXISTS", "old:1", "old:2", "old:3"};
        char *rep = command_settled(c->nodes[i].port, 4, argv, NULL);
        assert_string_equal(rep, ":0\r\n");
        free(rep);
        check_dataset(c->nodes[i].port, n, 13);
    }
    free(before);
}

/* tricachectl in the background, its output into a file. */
static pid_t spawn_ctl(const char *outpath, const char *const *args)
{
    const char *argv[24];
    int n = 0;
    argv[n++] = ctl();
    for (; args[n - 1] && n < 23; n++) argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = open("/dev/null", O_RDONLY);
        if (fd < 0 || in < 0 || chdir(g_cwd) != 0) _exit(127);
        dup2(in, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return strdup("");
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The primary dies while the records stream in: the staging area is in
 * the replicated state, so the restore goes on through the new primary from
 * the record its staging ends at, and the survivors end identical, holding
 * the backup and nothing of before. */
static void test_restore_failover(void **state)
{
    rst *r = *state;
    tcluster *c = r->c;
    snprintf(g_cwd, sizeof g_cwd, "%s", r->root);
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    set_key(c->nodes[p].port, "old:1", "a");
    set_key(c->nodes[p].port, "old:2", "b");
    set_key(c->nodes[p].port, "old:3", "c");
    for (int i = 0; i < 3; i++) wait_dbsize(c->nodes[i].port, 3);
    char *before = digest(c->nodes[p].port);

    char name[TC_BACKUP_MAX_NAME];
    make_backup(r->url, 1, 99, wall_ms() - 60000, NULL, 600000, name); /* seconds of loading */
    char outpath[700];
    snprintf(outpath, sizeof outpath, "%s/restore.out", r->root);
    const char *args[] = {"--config", c->config, "restore", "--from", name, "--to", r->url, "--into-running", "--yes",
                          NULL};
    pid_t pid = spawn_ctl(outpath, args);
    long long deadline = h_ms() + 60000;
    char *out = NULL;
    for (;;) {
        free(out);
        out = read_file(outpath);
        if (strstr(out, "restoring backup") || h_ms() > deadline) break;
        pause_ms(10);
    }
    if (!strstr(out, "restoring backup")) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("the restore did not start streaming:\n%s", out);
    }
    /* kill the primary during the load, not before it (a kill during BEGIN
     * is the tool's "nothing was changed; run it again", another path) and
     * not after it. The tool runs in short steps between SIGSTOPs, and the
     * staging area is looked at while it is stopped: once it holds records
     * the tool cannot reach COMMIT before the kill, however fast the load
     * runs on this machine (150 batches; one step sends a few). */
    for (;;) {
        kill(pid, SIGSTOP);
        char *status = h_cli(&c->nodes[p], "TCRESTORE", "STATUS", (char *)NULL);
        long long staged = strchr(status, '\n') ? atoll(strchr(status, '\n') + 1) : 0;
        free(status);
        if (staged > 0) {
            if (staged >= 600000) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                fail_msg("the whole backup was staged within one step of the tool");
            }
            break;
        }
        if (h_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("the primary's staging area stayed empty");
        }
        kill(pid, SIGCONT);
        pause_ms(5);
    }
    h_node_signal(c, p, SIGKILL);
    kill(pid, SIGCONT);
    int st = 0;
    deadline = h_ms() + 120000;
    while (waitpid(pid, &st, WNOHANG) != pid) {
        if (h_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        pause_ms(20);
    }
    free(out);
    out = read_file(outpath);
    EXPECT(out, exit_code(st), 0);
    CONTAINS(out, "during the load; going on from record");
    CONTAINS(out, "restore complete: every checked node holds the same keyspace");
    free(out);

    int q = settled_primary(c, p);
    char *after = digest(c->nodes[q].port);
    assert_string_not_equal(after, before);
    for (int i = 0; i < 3; i++) {
        if (i == p) continue;
        char *d = digest(c->nodes[i].port);
        assert_string_equal(d, after);
        free(d);
        assert_int_equal(integer_reply(c->nodes[i].port, "EXISTS", "old:1"), 0);
    }
    /* nothing stays staged (STATUS is answered by the primary) */
    const char *argv[] = {"TCRESTORE", "STATUS"};
    q = settled_primary(c, p);
    char *rep = command(c->nodes[q].port, 2, argv, NULL);
    if (!(strncmp(rep, "$-1", 3) == 0 || strncmp(rep, "*-1", 3) == 0 || strncmp(rep, "_", 1) == 0))
        fail_msg("a restore is still staged on the new primary: %s", rep);
    free(rep);
    free(before);
    free(after);
}

/* ---- backup create (BGSAVE on a node) ------------------------------------ */

typedef struct bk {
    tcluster *c;
    char *root;
    char url[600];
} bk;

static int start_bgsave(void **state)
{
    bk *b = calloc(1, sizeof *b);
    b->root = make_tmpdir();
    snprintf(b->url, sizeof b->url, "file://%s/backups", b->root);
    char extra[1600];
    /* backup create --to <root>/other below: BGSAVE TO must be allowed there */
    snprintf(extra, sizeof extra, "[backup]\ndestination = \"%s\"\nallowed_destinations = \"file://%s/other\"", b->url,
             b->root);
    b->c = h_cluster_start(3, extra);
    *state = b;
    return 0;
}

static int stop_bgsave(void **state)
{
    bk *b = *state;
    h_cluster_stop(b->c);
    remove_tmpdir(b->root);
    free(b);
    return 0;
}

/* "backup:      NAME" of backup create's output. */
static void created_name(const char *out, char *name, size_t len)
{
    const char *p = strstr(out, "backup:      ");
    if (!p) fail_msg("no backup name in:\n%s", out);
    p += strlen("backup:      ");
    size_t n = strcspn(p, "\r\n ");
    if (n >= len) n = len - 1;
    memcpy(name, p, n);
    name[n] = '\0';
}

static void test_backup_create(void **state)
{
    bk *b = *state;
    tcluster *c = b->c;
    snprintf(g_cwd, sizeof g_cwd, "%s", b->root);
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    for (int i = 0; i < 100; i++) {
        char k[32], v[32];
        snprintf(k, sizeof k, "bk:%d", i);
        snprintf(v, sizeof v, "v%d", i);
        set_key(c->nodes[p].port, k, v);
    }
    for (int i = 0; i < 3; i++) wait_dbsize(c->nodes[i].port, 100);

    int code;
    char *out = run(&code, "--config", c->config, "backup", "create", (char *)NULL);
    EXPECT(out, code, 0);
    char name[TC_BACKUP_MAX_NAME];
    created_name(out, name, sizeof name);
    CONTAINS(out, b->url);
    CONTAINS(out, "100 keys");
    /* a healthy replica takes it, not the primary */
    char primary_row[64];
    snprintf(primary_row, sizeof primary_row, "node:        %d ", p + 1);
    LACKS(out, primary_row);
    free(out);

    out = run(&code, "--config", c->config, "backup", "list", (char *)NULL);
    EXPECT(out, code, 0);
    CONTAINS(out, name);
    free(out);
    out = run(&code, "--config", c->config, "backup", "verify", name, (char *)NULL);
    EXPECT(out, code, 0);
    CONTAINS(out, "100 keys");
    free(out);

    /* on a chosen node, to another folder */
    char other[700], id[16];
    snprintf(other, sizeof other, "file://%s/other", b->root);
    snprintf(id, sizeof id, "%d", p + 1);
    out = run(&code, "--config", c->config, "backup", "create", "--node", id, "--to", other, "--timeout", "1m",
              (char *)NULL);
    EXPECT(out, code, 0);
    created_name(out, name, sizeof name);
    CONTAINS(out, primary_row);
    CONTAINS(out, other);
    free(out);
    out = run(&code, "--config", c->config, "backup", "verify", other, name, (char *)NULL);
    EXPECT(out, code, 0);
    free(out);
}

/* "size: ..., K keys" of backup create's output. */
static long long created_keys(const char *out)
{
    const char *p = strstr(out, "size:        ");
    const char *k = p ? strstr(p, " keys") : NULL;
    if (!k) fail_msg("no key count in:\n%s", out);
    while (k > p && isdigit((unsigned char)k[-1])) k--;
    return atoll(k);
}

/* Issue 11: a backup asked for right after acknowledged writes holds
 * them, although the replica that takes it may not have applied them yet
 * when BGSAVE arrives. Nothing else writes, so the count is exact. */
static void test_backup_after_write(void **state)
{
    bk *b = *state;
    tcluster *c = b->c;
    snprintf(g_cwd, sizeof g_cwd, "%s", b->root);
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    enum { N = 3000, ROUNDS = 20 };
    char *req = malloc((size_t)N * 64);
    assert_non_null(req);
    for (int round = 0; round < ROUNDS; round++) {
        size_t len = 0;
        for (int i = 0; i < N; i++)
            len += (size_t)sprintf(req + len, "*3\r\n$3\r\nSET\r\n$11\r\nbw:%02d:%05d\r\n$1\r\nv\r\n", round, i);
        int fd = h_connect(c->nodes[p].port);
        assert_true(fd >= 0);
        h_send(fd, req, len);
        for (int i = 0; i < N; i++) {
            char *r = h_reply(fd);
            if (!r || strncmp(r, "+OK", 3) != 0) fail_msg("round %d: SET %d: %s", round, i, r ? r : "(none)");
            free(r);
        }
        char ttl[32];
        snprintf(ttl, sizeof ttl, "ttl:%d", round);
        const char *set[] = {"SET", ttl, "x", "EX", "3600"};
        char *r = command(c->nodes[p].port, 5, set, NULL);
        if (strncmp(r, "+OK", 3) != 0) fail_msg("round %d: SET %s: %s", round, ttl, r);
        free(r);
        h_close(fd);

        int code;
        char *out = run(&code, "--config", c->config, "backup", "create", (char *)NULL);
        EXPECT(out, code, 0);
        long long want = (long long)(round + 1) * (N + 1);
        if (created_keys(out) != want)
            fail_msg("round %d: the backup holds %lld keys, %lld were acknowledged before it:\n%s", round,
                     created_keys(out), want, out);
        free(out);
    }
    free(req);

    /* BGSAVE straight to a replica: it answers at once, and the backup it
     * then takes holds a write acknowledged just before. */
    int rep = (p + 1) % 3;
    const char *set[] = {"SET", "last", "x"};
    char *r = command(c->nodes[p].port, 3, set, NULL);
    assert_string_equal(r, "+OK\r\n");
    free(r);
    const char *save[] = {"SAVE"};
    r = command(c->nodes[rep].port, 1, save, NULL);
    assert_string_equal(r, "+OK\r\n");
    free(r);
    const char *info[] = {"INFO", "persistence"};
    r = command(c->nodes[rep].port, 2, info, NULL);
    char want[64];
    snprintf(want, sizeof want, "backup_last_keys:%d\r\n", ROUNDS * (N + 1) + 1);
    if (!strstr(r, want)) fail_msg("SAVE on a replica missed a write; want %s in:\n%s", want, r);
    free(r);
}

/* ---- every type through backup and restore ------------------------------- */

/* One command from a NULL-terminated list of strings; its reply must not
 * be an error. */
static void must(int port, ...)
{
    const char *argv[2100];
    int argc = 0;
    va_list ap;
    va_start(ap, port);
    while ((argv[argc] = va_arg(ap, const char *)) != NULL) argc++;
    va_end(ap);
    char *r = command(port, argc, argv, NULL);
    if (r[0] == '-') fail_msg("%s %s: %s", argv[0], argc > 1 ? argv[1] : "", r);
    free(r);
}

/* A command with n generated arguments after the head (cmd key): member i
 * is "<prefix><i>", preceded by a score (zset) or followed by a value
 * (hash) when asked. Big enough to leave every packed encoding. */
static void must_many(int port, const char *cmd, const char *key, int n, const char *prefix, int with_score,
                      int with_value)
{
    int per = 1 + with_score + with_value;
    const char **argv = calloc((size_t)(2 + per * n), sizeof *argv);
    char(*buf)[48] = calloc((size_t)(per * n), sizeof *buf);
    assert_true(argv && buf);
    int argc = 0, b = 0;
    argv[argc++] = cmd;
    argv[argc++] = key;
    for (int i = 0; i < n; i++) {
        if (with_score) {
            snprintf(buf[b], sizeof buf[b], "%d.%d", i % 7 - 3, i % 10); /* negative, fractional, ties */
            argv[argc++] = buf[b++];
        }
        snprintf(buf[b], sizeof buf[b], "%s%d", prefix, i);
        argv[argc++] = buf[b++];
        if (with_value) {
            snprintf(buf[b], sizeof buf[b], "value-%d-%.*s", i, i % 20, "xxxxxxxxxxxxxxxxxxxx");
            argv[argc++] = buf[b++];
        }
    }
    char *r = command(port, argc, argv, NULL);
    if (r[0] == '-') fail_msg("%s %s: %s", cmd, key, r);
    free(r);
    free(argv);
    free(buf);
}

/* Strings, hashes, lists, sets (intset, packed, table), sorted sets in
 * their small and large encodings, several with a TTL. */
static void fill_every_type(int port)
{
    must(port, "SET", "str:plain", "hello", NULL);
    must(port, "SET", "str:int", "12345", NULL);
    must(port, "SET", "str:ttl", "soon", "EX", "3600", NULL);
    must(port, "HSET", "h:small", "a", "1", "b", "2", "c", "3", NULL);
    must_many(port, "HSET", "h:big", 400, "field", 0, 1);
    must(port, "RPUSH", "l:small", "x", "y", "z", "12", NULL);
    must_many(port, "RPUSH", "l:big", 1500, "item", 0, 0);
    must(port, "SADD", "s:int", "1", "2", "3", "-40", "1000000", NULL);
    must(port, "SADD", "s:str", "apple", "pear", "plum", NULL);
    must_many(port, "SADD", "s:big", 700, "m", 0, 0);
    must(port, "ZADD", "z:small", "1", "one", "2.5", "two", "-3", "three", NULL);
    must_many(port, "ZADD", "z:big", 300, "zm", 1, 0);
    must(port, "PEXPIRE", "h:small", "3600000", NULL);
    must(port, "PEXPIRE", "l:big", "3600000", NULL);
    must(port, "PEXPIRE", "s:int", "3600000", NULL);
    must(port, "PEXPIRE", "z:big", "7200000", NULL);
    /* a stream: entries, a deleted one, an explicit last ID */
    must(port, "XADD", "x:events", "1-1", "event", "added", "jobId", "1", NULL);
    must(port, "XADD", "x:events", "2-*", "event", "completed", NULL);
    must(port, "XADD", "x:events", "3-1", "event", "failed", NULL);
    must(port, "XDEL", "x:events", "2-0", NULL);
    must(port, "XSETID", "x:events", "9-9", NULL);
}

/* "TYPE key" on a node, as the bare word. */
static void expect_type(int port, const char *key, const char *want)
{
    const char *argv[] = {"TYPE", key};
    char *r = command_settled(port, 2, argv, NULL);
    char line[64];
    snprintf(line, sizeof line, "+%s\r\n", want);
    if (strcmp(r, line) != 0) fail_msg("TYPE %s on port %d: %s, want %s", key, port, r, want);
    free(r);
}

/* What AUTH user pass answers on port, once it says +OK or the deadline
 * (users reach replicas through the log) passed. */
static int auth_works(int port, const char *user, const char *pass)
{
    long long deadline = h_ms() + 10000;
    for (;;) {
        const char *argv[] = {"AUTH", user, pass};
        char *r = command(port, 3, argv, NULL);
        int ok = strncmp(r, "+OK", 3) == 0;
        free(r);
        if (ok || h_ms() > deadline) return ok;
        usleep(50 * 1000);
    }
}

static int has_user(int port, const char *user)
{
    const char *argv[] = {"ACL", "USERS"};
    char *r = command(port, 2, argv, NULL);
    char want[80];
    snprintf(want, sizeof want, "\r\n%s\r\n", user);
    int found = strstr(r, want) != NULL;
    free(r);
    return found;
}

static void test_restore_every_type(void **state)
{
    bk *b = *state;
    tcluster *c = b->c;
    snprintf(g_cwd, sizeof g_cwd, "%s", b->root);
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    fill_every_type(c->nodes[p].port);
    must(c->nodes[p].port, "ACL", "SETUSER", "app", "on", ">app-pw", "~app:*", "+@all", NULL);
    char *want = h_converged_digest(c);

    int code;
    char *out = run(&code, "--config", c->config, "backup", "create", (char *)NULL);
    EXPECT(out, code, 0);
    char name[TC_BACKUP_MAX_NAME];
    created_name(out, name, sizeof name);
    CONTAINS(out, "15 keys"); /* the manifest counts records: 13 keys and the users default and app */
    free(out);
    out = run(&code, "--config", c->config, "backup", "verify", name, (char *)NULL);
    EXPECT(out, code, 0);
    CONTAINS(out, "keys by type: 3 string, 2 list, 3 set, 2 zset, 2 hash, 1 stream; and 2 records that are not keys (users, "
                  "settings)\n");
    free(out);

    /* into a new, empty cluster */
    char extra[800];
    snprintf(extra, sizeof extra, "[backup]\ndestination = \"%s\"", b->url);
    tcluster *c2 = h_cluster_start(3, extra);
    int p2 = h_cluster_primary(c2, 10000);
    assert_true(p2 >= 0);
    /* --with-users: the backup's users replace the new cluster's */
    must(c2->nodes[p2].port, "ACL", "SETUSER", "local-only", "on", ">x", "+@all", NULL);
    out = run(&code, "--config", c2->config, "restore", "--from", name, "--with-users", (char *)NULL);
    EXPECT(out, code, 0);
    CONTAINS(out, "restore complete");
    CONTAINS(out, "users: 2 from the backup set, 1 the backup does not hold deleted");
    free(out);
    for (int i = 0; i < 3; i++) {
        assert_true(auth_works(c2->nodes[i].port, "app", "app-pw"));
        assert_false(has_user(c2->nodes[i].port, "local-only"));
    }
    char *got = h_converged_digest(c2);
    assert_string_equal(got, want);
    free(got);
    for (int i = 0; i < 3; i++) {
        int port = c2->nodes[i].port;
        expect_type(port, "h:big", "hash");
        expect_type(port, "l:big", "list");
        expect_type(port, "s:int", "set");
        expect_type(port, "z:big", "zset");
        expect_type(port, "str:ttl", "string");
        long long ttl = integer_reply(port, "PTTL", "z:big");
        if (ttl <= 3600000 || ttl > 7200000) fail_msg("PTTL z:big on port %d is %lld", port, ttl);
        assert_int_equal(integer_reply(port, "HLEN", "h:big"), 400);
        assert_int_equal(integer_reply(port, "LLEN", "l:big"), 1500);
        assert_int_equal(integer_reply(port, "SCARD", "s:big"), 700);
        assert_int_equal(integer_reply(port, "ZCARD", "z:big"), 300);
        expect_type(port, "x:events", "stream");
        assert_int_equal(integer_reply(port, "XLEN", "x:events"), 2);
    }
    h_cluster_stop(c2);

    /* into the running cluster, after its data changed */
    must(c->nodes[p].port, "DEL", "h:big", "s:str", NULL);
    must(c->nodes[p].port, "HSET", "h:small", "d", "4", NULL);
    must(c->nodes[p].port, "ZADD", "z:small", "9", "nine", NULL);
    must(c->nodes[p].port, "SET", "extra", "1", NULL);
    must(c->nodes[p].port, "ACL", "SETUSER", "added-later", "on", ">y", "+@all", NULL);
    got = h_converged_digest(c);
    assert_string_not_equal(got, want);
    free(got);
    out = run(&code, "--config", c->config, "restore", "--from", name, "--into-running", "--yes", (char *)NULL);
    EXPECT(out, code, 0);
    CONTAINS(out, "restore complete");
    free(out);
    /* without --with-users the cluster keeps its own users */
    assert_true(auth_works(c->nodes[p].port, "added-later", "y"));
    got = h_converged_digest(c);
    assert_string_equal(got, want);
    free(got);
    free(want);
}

/* The older tricachectl's LOAD (strings only) is still understood, and a
 * LOADTYPED record that is not a value of its type drops the staging. */
static void test_restore_load_forms(void **state)
{
    bk *b = *state;
    tcluster *c = b->c;
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    int port = c->nodes[p].port;
    must(port, "SET", "keep", "me", NULL);
    char *before = h_converged_digest(c);
    must(port, "TCRESTORE", "BEGIN", "0123456789abcdef", NULL);
    const char *old[] = {"TCRESTORE", "LOAD", "0123456789abcdef", "k1", "0", "v1", "k2", "0", "v2"};
    char *r = command(port, 9, old, NULL);
    assert_string_equal(r, ":2\r\n");
    free(r);
    /* type 99 does not exist: refused, nothing staged */
    const char *bad_type[] = {"TCRESTORE", "LOADTYPED", "0123456789abcdef", "99", "k3", "0", "v"};
    r = command(port, 7, bad_type, NULL);
    CONTAINS(r, "unknown type");
    free(r);
    const char *st[] = {"TCRESTORE", "STATUS"};
    r = command(port, 2, st, NULL);
    CONTAINS(r, ":2\r\n");
    free(r);
    /* a hash record whose bytes are not a hash image: the restore is dropped */
    const char *junk[] = {"TCRESTORE", "LOADTYPED", "0123456789abcdef", "4", "k4", "0", "\x01not a hash"};
    r = command(port, 7, junk, NULL);
    CONTAINS(r, "cannot be restored");
    free(r);
    r = command(port, 2, st, NULL);
    assert_string_equal(r, "$-1\r\n");
    free(r);
    char *after = h_converged_digest(c);
    assert_string_equal(after, before);
    free(after);
    free(before);
}

int main(void)
{
    g_expire_base = wall_ms() + 3600000;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_backup_files),
        cmocka_unit_test(test_backup_s3_credentials),
        cmocka_unit_test(test_bad_usage),
        cmocka_unit_test_setup_teardown(test_restore_fresh, start_restore, stop_restore),
        cmocka_unit_test_setup_teardown(test_restore_into_running, start_restore, stop_restore),
        cmocka_unit_test_setup_teardown(test_restore_failover, start_restore, stop_restore),
        cmocka_unit_test_setup_teardown(test_backup_create, start_bgsave, stop_bgsave),
        cmocka_unit_test_setup_teardown(test_backup_after_write, start_bgsave, stop_bgsave),
        cmocka_unit_test_setup_teardown(test_restore_every_type, start_bgsave, stop_bgsave),
        cmocka_unit_test_setup_teardown(test_restore_load_forms, start_bgsave, stop_bgsave),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
