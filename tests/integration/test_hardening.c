/* Issue 13's hardening: the auth token never leaves the node (CONFIG GET,
 * INFO, the log), and BGSAVE TO writes only under backup.destination or a
 * destination backup.allowed_destinations names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define TOKEN "hardening-t0ken-9f2c"

typedef struct world {
    tnode *n;
    char root[64];  /* temp folder: dest/ is backup.destination, elsewhere/ is not */
    char dest[128];
    char elsewhere[128];
    int fd;         /* authenticated connection */
} world;

static void remove_tree(const char *dir)
{
    int st;
    free(h_run(&st, "rm", "-rf", dir, (char *)NULL));
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    snprintf(w->root, sizeof w->root, "/tmp/tc-harden-XXXXXX");
    assert_non_null(mkdtemp(w->root));
    snprintf(w->dest, sizeof w->dest, "%s/dest", w->root);
    snprintf(w->elsewhere, sizeof w->elsewhere, "%s/elsewhere", w->root);
    char extra[600];
    snprintf(extra, sizeof extra, "auth_token = \"%s\"\n[backup]\ndestination = \"file://%s\"", TOKEN, w->dest);
    w->n = h_start(extra);
    w->fd = h_connect(w->n->port);
    h_sends(w->fd, "AUTH " TOKEN "\r\n");
    char *r = h_reply(w->fd);
    assert_string_equal(r, "+OK\r\n");
    free(r);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    h_close(w->fd);
    h_stop(w->n);
    remove_tree(w->root);
    free(w);
    return 0;
}

static char *command(world *w, const char *line)
{
    h_sends(w->fd, line);
    char *r = h_reply(w->fd);
    assert_non_null(r);
    return r;
}

/* Files ending in .tcsnap in dir (0 if it does not exist). */
static int snapshots_in(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        n += len > 7 && strcmp(e->d_name + len - 7, ".tcsnap") == 0;
    }
    closedir(d);
    return n;
}

static void wait_snapshot(const char *dir)
{
    long long deadline = h_ms() + 30000;
    while (snapshots_in(dir) == 0) {
        if (h_ms() > deadline) fail_msg("no backup appeared in %s within 30 s", dir);
        usleep(50 * 1000);
    }
}

static void test_config_get_hides_the_token(void **state)
{
    world *w = *state;
    char *r = command(w, "CONFIG GET auth-token\r\n");
    assert_string_equal(r, "*2\r\n$10\r\nauth-token\r\n$0\r\n\r\n");
    free(r);
    r = command(w, "CONFIG GET requirepass\r\n");
    assert_string_equal(r, "*2\r\n$11\r\nrequirepass\r\n$0\r\n\r\n");
    free(r);
    r = command(w, "CONFIG GET *\r\n");
    assert_non_null(strstr(r, "requirepass"));
    assert_null(strstr(r, TOKEN));
    free(r);
    r = command(w, "INFO everything\r\n");
    assert_null(strstr(r, TOKEN));
    free(r);
    /* a wrong AUTH, a CONFIG SET of a new token: neither is logged */
    r = command(w, "CONFIG SET auth-token " TOKEN "-2\r\n");
    assert_string_equal(r, "+OK\r\n");
    free(r);
    r = command(w, "CONFIG GET auth-token\r\n");
    assert_null(strstr(r, TOKEN));
    free(r);
    r = command(w, "CONFIG SET auth-token " TOKEN "\r\n");
    assert_string_equal(r, "+OK\r\n");
    free(r);
    char *log = h_log(w->n);
    assert_null(strstr(log, TOKEN));
    free(log);
}

static int count_in(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p += strlen(what)) n++;
    return n;
}

/* Failed AUTH attempts: counted in INFO (Redis's acl_access_denied_auth),
 * logged with the client's address at most once per 10 s, the password
 * tried never logged. */
static void test_failed_auth_is_counted_and_logged(void **state)
{
    world *w = *state;
    char *r = command(w, "INFO stats\r\n");
    char *f = strstr(r, "acl_access_denied_auth:");
    assert_non_null(f);
    long long before = atoll(f + strlen("acl_access_denied_auth:"));
    free(r);
    int fd = h_connect(w->n->port);
    for (int i = 0; i < 3; i++) {
        h_sends(fd, "AUTH guessed-wrong-0123\r\n");
        r = h_reply(fd);
        assert_non_null(r);
        assert_string_equal(r, "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
        free(r);
    }
    h_close(fd);
    r = command(w, "INFO stats\r\n");
    f = strstr(r, "acl_access_denied_auth:");
    assert_non_null(f);
    assert_int_equal(atoll(f + strlen("acl_access_denied_auth:")), before + 3);
    free(r);
    /* the warning is written before the reply, so it is in the log now */
    char *log = h_log(w->n);
    assert_int_equal(count_in(log, "AUTH failed from 127.0.0.1:"), 1);
    assert_null(strstr(log, "guessed-wrong-0123"));
    free(log);
}

static void test_bgsave_to_elsewhere_is_refused(void **state)
{
    world *w = *state;
    char line[400], want[400];
    snprintf(line, sizeof line, "BGSAVE TO file://%s\r\n", w->elsewhere);
    char *r = command(w, line);
    snprintf(want, sizeof want, "-ERR backup destination file://%s is not allowed: BGSAVE TO accepts file://%s and folders under it",
             w->elsewhere, w->dest);
    if (strncmp(r, want, strlen(want)) != 0) fail_msg("got %s", r);
    free(r);
    /* climbing out of the destination */
    snprintf(line, sizeof line, "BGSAVE TO file://%s/../elsewhere\r\n", w->dest);
    r = command(w, line);
    assert_non_null(strstr(r, "is not allowed"));
    free(r);
    /* a sibling sharing the destination's name as a prefix */
    snprintf(line, sizeof line, "BGSAVE TO file://%s-2\r\n", w->dest);
    r = command(w, line);
    assert_non_null(strstr(r, "is not allowed"));
    free(r);
    r = command(w, "BGSAVE TO file:///etc\r\n");
    assert_non_null(strstr(r, "is not allowed"));
    free(r);
    struct stat st;
    assert_int_equal(stat(w->elsewhere, &st), -1); /* nothing written */
}

static void test_bgsave_to_a_child_or_an_allowed_one_works(void **state)
{
    world *w = *state;
    char line[400], child[200];
    snprintf(child, sizeof child, "%s/daily", w->dest);
    snprintf(line, sizeof line, "BGSAVE TO file://%s\r\n", child);
    char *r = command(w, line);
    assert_string_equal(r, "+Background saving started\r\n");
    free(r);
    wait_snapshot(child);

    snprintf(line, sizeof line, "CONFIG SET backup.allowed-destinations file://%s\r\n", w->elsewhere);
    r = command(w, line);
    assert_string_equal(r, "+OK\r\n");
    free(r);
    /* the previous backup may still be finishing: retry while busy */
    long long deadline = h_ms() + 30000;
    snprintf(line, sizeof line, "BGSAVE TO file://%s\r\n", w->elsewhere);
    for (;;) {
        r = command(w, line);
        if (strcmp(r, "+Background saving started\r\n") == 0) break;
        if (!strstr(r, "in progress") || h_ms() > deadline) fail_msg("BGSAVE TO an allowed destination: %s", r);
        free(r);
        usleep(50 * 1000);
    }
    free(r);
    wait_snapshot(w->elsewhere);
    r = command(w, "CONFIG SET backup.allowed-destinations ftp://x\r\n");
    assert_non_null(strstr(r, "-ERR CONFIG SET failed"));
    free(r);
}

/* A secret file others may read (or too short) stops the node at start,
 * saying which file and why. Two nodes: a one-node cluster runs no Raft. */
static void test_bad_secret_file_stops_the_node(void **state)
{
    world *w = *state;
    char secret[200], config[200], text[1200];
    snprintf(secret, sizeof secret, "%s/secret", w->root);
    snprintf(config, sizeof config, "%s/secret.toml", w->root);
    FILE *f = fopen(secret, "w");
    assert_non_null(f);
    fputs("0123456789abcdef0123456789abcdef\n", f);
    fclose(f);
    chmod(secret, 0644);
    snprintf(text, sizeof text,
             "cluster_name = \"t\"\ndata_dir = \"%s/data\"\ncluster_secret_file = \"%s\"\n[[node]]\nid = 1\n"
             "zone = \"a\"\nclient_addr = \"127.0.0.1:%d\"\nraft_addr = \"127.0.0.1:%d\"\n"
             "[[node]]\nid = 2\nzone = \"b\"\nclient_addr = \"127.0.0.1:%d\"\nraft_addr = \"127.0.0.1:%d\"\n",
             w->root, secret, h_free_port(), h_free_port(), h_free_port(), h_free_port());
    f = fopen(config, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    int st;
    char *out = h_run_tricache(&st, "--config", config, "--node", "1", (char *)NULL);
    assert_int_not_equal(st, 0);
    char want[300];
    snprintf(want, sizeof want, "cluster_secret_file %s: readable or writable by group or others: chmod 600 it", secret);
    if (!strstr(out, want)) fail_msg("want \"%s\" in:\n%s", want, out);
    free(out);
    chmod(secret, 0600);
    f = fopen(secret, "w");
    fputs("short\n", f);
    fclose(f);
    out = h_run_tricache(&st, "--config", config, "--node", "1", (char *)NULL);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(out, "holds fewer than 16 bytes"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_get_hides_the_token),
        cmocka_unit_test(test_failed_auth_is_counted_and_logged),
        cmocka_unit_test(test_bgsave_to_elsewhere_is_refused),
        cmocka_unit_test(test_bgsave_to_a_child_or_an_allowed_one_works),
        cmocka_unit_test(test_bad_secret_file_stops_the_node),
    };
    if (getenv("TC_TEST_FILTER")) cmocka_set_test_filter(getenv("TC_TEST_FILTER"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
