/* An application on redis-py against three real nodes, through kill -9 of
 * the primary: app_client.py (Debian's python3 and python3-redis) runs
 * MULTI/EXEC pipelines, a WATCH retry loop, a session hash, a leaderboard
 * and a reliable job queue; when it says so (a marker file) this test kills
 * the primary; the script must find the new primary, keep working, and find
 * every acknowledged write. Afterwards the survivors, and the killed node
 * once restarted, hold the same data (DEBUG DIGEST). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define MARKER_DEADLINE_MS 60000 /* the exact checks and 60 steady rounds */
#define SCRIPT_DEADLINE_MS 120000

static int start3(void **state)
{
    *state = h_cluster_start(3, NULL);
    return 0;
}

static int stop3(void **state)
{
    h_cluster_stop(*state);
    return 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return strdup("");
    char *buf = calloc(1, 1 << 20);
    assert_non_null(buf);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The script in the background, its output into outpath. */
static pid_t spawn_script(const char *outpath, const char *marker, tcluster *c)
{
    const char *script = getenv("TC_APP_SCRIPT");
    assert_non_null(script);
    char ports[3][16];
    for (int i = 0; i < 3; i++) snprintf(ports[i], sizeof ports[i], "%d", c->nodes[i].port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        execl("/usr/bin/python3", "python3", script, marker, ports[0], ports[1], ports[2], (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Polls the script until it exits or the deadline; kills it at the
 * deadline. Its wait status, or -1 when it had to be killed. */
static int wait_script(pid_t pid, int deadline_ms)
{
    long long deadline = h_ms() + deadline_ms;
    int st;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (h_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        usleep(20000);
    }
    return st;
}

static void test_app_through_primary_kill(void **state)
{
    tcluster *c = *state;
    int p = h_cluster_primary(c, 10000);
    assert_true(p >= 0);
    char outpath[400], marker[400];
    snprintf(outpath, sizeof outpath, "%s/app.out", c->dir);
    snprintf(marker, sizeof marker, "%s/app.marker", c->dir);
    pid_t pid = spawn_script(outpath, marker, c);

    /* the script writes the marker in the middle of its steady part, with
     * the port of the primary it is using */
    long long deadline = h_ms() + MARKER_DEADLINE_MS;
    int st = 0;
    while (access(marker, F_OK) != 0) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            char *out = slurp(outpath);
            fail_msg("app_client.py exited before the kill:\n%s", out);
        }
        if (h_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            char *out = slurp(outpath);
            fail_msg("app_client.py never got to the kill:\n%s", out);
        }
        usleep(20000);
    }
    char *m = NULL;
    int port = 0;
    while (port == 0 && h_ms() < deadline) { /* the file may be half written */
        free(m);
        m = slurp(marker);
        port = atoi(m);
        if (!strchr(m, '\n')) port = 0;
        if (port == 0) usleep(10000);
    }
    free(m);
    int victim = -1;
    for (int i = 0; i < 3; i++)
        if (c->nodes[i].port == port) victim = i;
    if (victim < 0) fail_msg("the marker names port %d, no node of the cluster", port);
    h_node_signal(c, victim, SIGKILL);

    st = wait_script(pid, SCRIPT_DEADLINE_MS);
    char *out = slurp(outpath);
    if (st == -1) fail_msg("app_client.py did not finish:\n%s", out);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !strstr(out, "\nok\n"))
        fail_msg("app_client.py failed:\n%s", out);
    assert_non_null(strstr(out, "the application moved from the primary"));
    print_message("%s", out);
    free(out);

    /* the two survivors agree; the killed node catches up once back */
    char *two = h_converged_digest(c);
    h_node_restart(c, victim);
    char *three = h_converged_digest(c);
    assert_string_equal(two, three);
    free(two);
    free(three);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_app_through_primary_kill, start3, stop3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
