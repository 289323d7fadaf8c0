#include "harness.h"

#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define DEADLINE_MS 15000

/* Every process and temp directory the harness made, so that a test that
 * fails half-way through its set-up (when cmocka runs no teardown) still
 * leaves nothing behind: an atexit handler ends and removes what is left. */
static pid_t started[64];
static char made_dirs[16][256];

static void forget_pid(pid_t pid)
{
    for (int i = 0; i < 64; i++)
        if (started[i] == pid) started[i] = 0;
}

static void cleanup_at_exit(void)
{
    for (int i = 0; i < 64; i++) {
        /* only a child of ours that is still running (a pid a test already
         * reaped may belong to someone else by now) */
        if (started[i] > 0 && waitpid(started[i], NULL, WNOHANG) == 0) {
            kill(started[i], SIGCONT);
            kill(started[i], SIGKILL);
            waitpid(started[i], NULL, 0);
        }
    }
    for (int i = 0; i < 16; i++) {
        if (!made_dirs[i][0]) continue;
        pid_t pid = fork();
        if (pid == 0) {
            execlp("rm", "rm", "-rf", made_dirs[i], (char *)NULL);
            _exit(127);
        }
        if (pid > 0) waitpid(pid, NULL, 0);
    }
}

static void remember_pid(pid_t pid)
{
    static int registered;
    if (!registered) registered = atexit(cleanup_at_exit) == 0;
    for (int i = 0; i < 64; i++) {
        if (started[i] == 0) {
            started[i] = pid;
            return;
        }
    }
}

static void remember_dir(const char *dir)
{
    for (int i = 0; i < 16; i++) {
        if (!made_dirs[i][0]) {
            snprintf(made_dirs[i], sizeof made_dirs[i], "%s", dir);
            return;
        }
    }
}

static void forget_dir(const char *dir)
{
    for (int i = 0; i < 16; i++)
        if (strcmp(made_dirs[i], dir) == 0) made_dirs[i][0] = '\0';
}

long long h_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Ports come from below the kernel's ephemeral range: a port bound to 0 and
 * released comes from that range, where an outgoing connection (a node
 * dialling its peers, say) may take it before the node meant to listen on it
 * starts. The suite runs two test programs at a time (scripts/test.sh), and a
 * port that is free when one program checks it may be handed to the other
 * before either node binds it; so each program owns blocks of PORT_BLOCK
 * ports, claimed with flock() on a file per block in PORT_LOCK_DIR and held
 * until the program exits (the kernel drops the lock even after a crash).
 * A port in the program's block is still checked with bind(): another
 * program on the machine may use it. */
#define PORT_BLOCK 200
#define PORT_LOCK_DIR "/tmp/tricache-test-ports"

static int claim_port_block(int low, unsigned *seed)
{
    int blocks = (low - 10000) / PORT_BLOCK;
    if (blocks < 1) fail_msg("the ephemeral port range starts at %d: no room below it for test ports", low);
    if (mkdir(PORT_LOCK_DIR, 01777) != 0 && errno != EEXIST) fail_msg("cannot create %s: %s", PORT_LOCK_DIR, strerror(errno));
    chmod(PORT_LOCK_DIR, 01777); /* a sticky, shared folder whoever made it */
    int first = (int)(rand_r(seed) % (unsigned)blocks);
    for (int k = 0; k < blocks; k++) {
        int b = (first + k) % blocks;
        char path[64];
        snprintf(path, sizeof path, PORT_LOCK_DIR "/block-%d", b);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) continue;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0) return 10000 + b * PORT_BLOCK; /* fd stays open: the claim */
        close(fd);
    }
    fail_msg("every block of test ports below %d is claimed by other test programs", low);
    return -1;
}

int h_free_port(void)
{
    static int low, base, next;
    static unsigned seed;
    if (!low) {
        low = 32768;
        FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
        if (f) {
            if (fscanf(f, "%d", &low) != 1) low = 32768;
            fclose(f);
        }
        seed = (unsigned)getpid() ^ (unsigned)h_ms();
    }
    for (int attempt = 0; attempt < 4 * PORT_BLOCK; attempt++) {
        if (!base || next == PORT_BLOCK) { /* ports are never handed out twice: one may not be bound yet */
            base = claim_port_block(low, &seed);
            next = 0;
        }
        int port = base + next++;
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (ok) return port;
    }
    fail_msg("no free port below the ephemeral range");
    return -1;
}

static const char *binary(void)
{
    const char *b = getenv("TC_BINARY");
    if (!b) fail_msg("TC_BINARY is not set (run the tests through ctest)");
    return b;
}

/* Raw RESP connections: common/'s blocking client (tc_rc) under each fd
 * a test holds, so bytes read past one reply wait in its buffer for the
 * next h_reply. A slot whose connection the client closed (the peer went
 * away) keeps its fd number until h_close, which then closes nothing. */
#define MAX_CONNS 256
static struct conn {
    int fd;   /* as the test knows it; -1 for a free slot */
    tc_rc rc; /* rc.fd is -1 once the client closed the connection */
} conns[MAX_CONNS];
static int conns_ready;

static struct conn *conn_of(int fd)
{
    if (!conns_ready) {
        for (int i = 0; i < MAX_CONNS; i++) conns[i].fd = -1;
        conns_ready = 1;
    }
    for (int i = 0; i < MAX_CONNS; i++)
        if (conns[i].fd == fd) return &conns[i];
    return NULL;
}

static void conn_forget(struct conn *k)
{
    tc_rc_close(&k->rc);
    k->fd = -1;
}

int h_connect(int port)
{
    tc_rc rc;
    if (tc_rc_connect(&rc, "127.0.0.1", port, DEADLINE_MS) != 0) return -1;
    rc.max_reply = 1u << 30; /* tests read big values on purpose */
    struct conn *k = conn_of(rc.fd); /* a slot whose fd was closed without h_close */
    if (k) {
        k->rc.fd = -1; /* that socket is gone already: free the slot only */
        conn_forget(k);
    } else if ((k = conn_of(-1)) == NULL) {
        tc_rc_close(&rc);
        fail_msg("more than %d connections open at once", MAX_CONNS);
    }
    k->fd = rc.fd;
    k->rc = rc;
    return rc.fd;
}

void h_send(int fd, const void *p, size_t len)
{
    struct conn *k = conn_of(fd);
    if (!k) fail_msg("send: fd %d is not an h_connect connection", fd);
    if (tc_rc_send_raw(&k->rc, p, len) != 0) fail_msg("send failed: %s", k->rc.err);
}

void h_sends(int fd, const char *s) { h_send(fd, s, strlen(s)); }

char *h_reply(int fd)
{
    struct conn *k = conn_of(fd);
    if (!k) fail_msg("reply: fd %d is not an h_connect connection", fd);
    char *raw;
    size_t len;
    int rc = tc_rc_read_raw(&k->rc, &raw, &len);
    if (rc == -ETIMEDOUT || rc == -EPROTO || rc == -EMSGSIZE || rc == -ENOMEM)
        fail_msg("waiting for a reply: %s", k->rc.err);
    return rc == 0 ? raw : NULL; /* the connection closed first */
}

void h_close(int fd)
{
    struct conn *k = conn_of(fd);
    if (k) conn_forget(k);
    else close(fd);
}

int h_closed(int fd)
{
    struct conn *k = conn_of(fd);
    if (k && k->rc.fd < 0) return 1; /* the client saw it close */
    long long deadline = h_ms() + DEADLINE_MS;
    char tmp[4096];
    while (h_ms() < deadline) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        ssize_t n = recv(fd, tmp, sizeof tmp, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) return 1;
    }
    return 0;
}

static char *capture(int *status, int want_stderr, char *const argv[])
{
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pipefd[1], want_stderr ? 2 : 1);
        if (want_stderr) {
            int devnull = open("/dev/null", O_WRONLY);
            dup2(devnull, 1);
        }
        close(pipefd[0]);
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    size_t len = 0, cap = 4096;
    char *out = malloc(cap);
    ssize_t n;
    while ((n = read(pipefd[0], out + len, cap - len - 1)) > 0 || (n < 0 && errno == EINTR)) {
        if (n < 0) continue;
        len += (size_t)n;
        if (cap - len < 2) out = realloc(out, cap *= 2);
    }
    out[len] = '\0';
    close(pipefd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    *status = st;
    return out;
}

static char *run_va(int *status, int want_stderr, const char *prog, va_list ap, const char *prefix[], int nprefix)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = (char *)prog;
    for (int i = 0; i < nprefix; i++) argv[argc++] = (char *)prefix[i];
    const char *a;
    while ((a = va_arg(ap, const char *)) && argc < 63) argv[argc++] = (char *)a;
    argv[argc] = NULL;
    return capture(status, want_stderr, argv);
}

char *h_run(int *status, const char *prog, ...)
{
    va_list ap;
    va_start(ap, prog);
    char *out = run_va(status, 0, prog, ap, NULL, 0);
    va_end(ap);
    return out;
}

char *h_cli(const tnode *n, ...)
{
    char port[16];
    snprintf(port, sizeof port, "%d", n->port);
    const char *prefix[] = {"-p", port};
    va_list ap;
    va_start(ap, n);
    int st;
    char *out = run_va(&st, 0, "redis-cli", ap, prefix, 2);
    va_end(ap);
    size_t len = strlen(out);
    while (len > 0 && out[len - 1] == '\n') out[--len] = '\0';
    return out;
}

char *h_run_tricache(int *status, const char *arg0, ...)
{
    va_list ap;
    va_start(ap, arg0);
    char *argv[34];
    int argc = 0;
    /* bounded: a node expected to refuse that starts after all must fail
     * the test (exit status 124), not hang it */
    argv[argc++] = "timeout";
    argv[argc++] = "60";
    argv[argc++] = (char *)binary();
    for (const char *a = arg0; a && argc < 33; a = va_arg(ap, const char *)) argv[argc++] = (char *)a;
    argv[argc] = NULL;
    va_end(ap);
    return capture(status, 1, argv);
}

static char *read_log(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return strdup("");
    char *buf = malloc(4 << 20);
    size_t len = fread(buf, 1, (4 << 20) - 1, f);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

char *h_log(const tnode *n)
{
    char path[300];
    snprintf(path, sizeof path, "%s/node.log", n->dir);
    return read_log(path);
}

char *h_node_log(const tcluster *c, int i)
{
    char path[400];
    snprintf(path, sizeof path, "%s/node-%d.log", c->dir, i + 1);
    return read_log(path);
}

void h_expect_logged(const tcluster *c, int i, const char *text)
{
    long long deadline = h_ms() + 10000;
    for (;;) {
        char *log = h_node_log(c, i);
        int found = strstr(log, text) != NULL;
        if (!found && h_ms() > deadline)
            fail_msg("node %d's log lacks \"%s\"; it ends with:\n%s", i + 1, text,
                     strlen(log) > 700 ? log + strlen(log) - 700 : log); /* cmocka cuts longer messages */
        free(log);
        if (found) return;
        usleep(50 * 1000);
    }
}

static int answers_ping(int port)
{
    tc_rc c;
    if (tc_rc_connect(&c, "127.0.0.1", port, 1000) != 0) return 0;
    const char *argv[] = {"PING"};
    tc_rc_reply r;
    int ok = tc_rc_command(&c, &r, 1, argv, NULL) == 0 &&
             ((r.type == TC_RC_STATUS && strcmp(r.str, "PONG") == 0) || tc_rc_reply_is_error(&r, "NOAUTH") ||
              /* transit_encryption_mode = "required": up, refusing plaintext */
              (r.type == TC_RC_ERROR && strstr(r.str, "accepts TLS connections only")));
    tc_rc_reply_free(&r);
    tc_rc_close(&c);
    return ok;
}

/* Starts tricache for node `id` of `config`, logging to `logpath`, and
 * waits until it answers PING on `port`. */
static pid_t spawn_only(const char *config, int id, const char *logpath)
{
    const char *bin = binary();
    char idstr[16];
    snprintf(idstr, sizeof idstr, "%d", id);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(bin, bin, "--config", config, "--node", idstr, (char *)NULL);
        _exit(127);
    }
    remember_pid(pid);
    return pid;
}

static void wait_answering(pid_t pid, int id, int port, const char *logpath)
{
    long long deadline = h_ms() + DEADLINE_MS;
    while (!answers_ping(port)) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            int rst;
            char *log = h_run(&rst, "tail", "-n", "20", logpath, (char *)NULL);
            fail_msg("tricache node %d exited during start-up (status %d):\n%s", id, st, log);
        }
        if (h_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("tricache node %d did not answer PING within %d ms", id, DEADLINE_MS);
        }
        pause_ms(20);
    }
}

static pid_t spawn_node(const char *config, int id, int port, const char *logpath)
{
    pid_t pid = spawn_only(config, id, logpath);
    wait_answering(pid, id, port, logpath);
    return pid;
}

tnode *h_start(const char *extra_toml)
{
    tnode *n = calloc(1, sizeof *n);
    snprintf(n->dir, sizeof n->dir, "/tmp/tricache-test-XXXXXX");
    assert_non_null(mkdtemp(n->dir));
    remember_dir(n->dir);
    n->port = h_free_port();
    int raft_port = h_free_port();
    snprintf(n->config, sizeof n->config, "%s/cluster.toml", n->dir);
    FILE *f = fopen(n->config, "w");
    assert_non_null(f);
    fprintf(f,
            "cluster_name = \"test\"\ndata_dir = \"%s/data\"\n%s\n"
            "[[node]]\nid = 1\nzone = \"zone-a\"\nclient_addr = \"127.0.0.1:%d\"\nraft_addr = \"127.0.0.1:%d\"\n",
            n->dir, extra_toml ? extra_toml : "", n->port, raft_port);
    fclose(f);
    char logpath[300];
    snprintf(logpath, sizeof logpath, "%s/node.log", n->dir);
    n->pid = spawn_node(n->config, 1, n->port, logpath);
    return n;
}

static void remove_tree(const char *dir)
{
    forget_dir(dir);
    int st;
    free(h_run(&st, "rm", "-rf", dir, (char *)NULL));
}

/* SIGTERM, then SIGKILL after the deadline; returns the wait status. */
static int stop_process(pid_t pid)
{
    int st = -1;
    /* pid <= 0 means the test already reaped it; kill(-1) would signal
     * every process we may signal, so never pass it on. */
    if (pid <= 0) return st;
    forget_pid(pid);
    kill(pid, SIGTERM);
    long long deadline = h_ms() + DEADLINE_MS;
    while (waitpid(pid, &st, WNOHANG) != pid) {
        if (h_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        pause_ms(10);
    }
    return st;
}

tcluster *h_cluster_start(int n, const char *extra_toml) { return h_cluster_start_joining(n, 0, extra_toml); }

tcluster *h_cluster_start_joining(int n, int joiners, const char *extra_toml)
{
    tcluster *c = h_cluster_create(n, joiners, extra_toml);
    h_nodes_start(c, n - joiners);
    return c;
}

tcluster *h_cluster_create(int n, int joiners, const char *extra_toml)
{
    assert_true(n >= 1 && n <= 5 && joiners >= 0 && joiners < n);
    tcluster *c = calloc(1, sizeof *c);
    c->n = n;
    snprintf(c->dir, sizeof c->dir, "/tmp/tricache-cluster-XXXXXX");
    assert_non_null(mkdtemp(c->dir));
    remember_dir(c->dir);
    snprintf(c->config, sizeof c->config, "%s/cluster.toml", c->dir);
    FILE *f = fopen(c->config, "w");
    assert_non_null(f);
    fprintf(f, "cluster_name = \"test\"\ndata_dir = \"%s/data\"\n%s\n", c->dir, extra_toml ? extra_toml : "");
    for (int i = 0; i < n; i++) {
        c->nodes[i].port = h_free_port();
        fprintf(f, "[[node]]\nid = %d\nzone = \"zone-%c\"\nclient_addr = \"127.0.0.1:%d\"\nraft_addr = \"127.0.0.1:%d\"\n%s",
                i + 1, 'a' + i, c->nodes[i].port, h_free_port(), i >= n - joiners ? "join = true\n" : "");
        snprintf(c->nodes[i].dir, sizeof c->nodes[i].dir, "%s", c->dir);
        snprintf(c->nodes[i].config, sizeof c->nodes[i].config, "%s", c->config);
    }
    fclose(f);
    return c;
}

void h_node_restart(tcluster *c, int i)
{
    char logpath[320];
    snprintf(logpath, sizeof logpath, "%s/node-%d.log", c->dir, i + 1);
    c->nodes[i].pid = spawn_node(c->config, i + 1, c->nodes[i].port, logpath);
}

void h_nodes_start(tcluster *c, int count)
{
    char logpath[5][320];
    for (int i = 0; i < count; i++) {
        snprintf(logpath[i], sizeof logpath[i], "%s/node-%d.log", c->dir, i + 1);
        c->nodes[i].pid = spawn_only(c->config, i + 1, logpath[i]);
    }
    for (int i = 0; i < count; i++) wait_answering(c->nodes[i].pid, i + 1, c->nodes[i].port, logpath[i]);
}

void h_node_signal(tcluster *c, int i, int sig)
{
    if (c->nodes[i].pid <= 0) return;
    kill(c->nodes[i].pid, sig);
    if (sig == SIGKILL) {
        waitpid(c->nodes[i].pid, NULL, 0);
        forget_pid(c->nodes[i].pid);
        c->nodes[i].pid = 0;
    }
}

int h_node_wait_exit(tcluster *c, int i, int deadline_ms)
{
    pid_t pid = c->nodes[i].pid;
    if (pid <= 0) return -1;
    long long deadline = h_ms() + deadline_ms;
    int st;
    while (waitpid(pid, &st, WNOHANG) != pid) {
        if (h_ms() > deadline) return -1;
        pause_ms(5);
    }
    forget_pid(pid);
    c->nodes[i].pid = 0;
    return st;
}

void h_cluster_stop(tcluster *c)
{
    if (!c) return;
    for (int i = 0; i < c->n; i++) {
        if (c->nodes[i].pid > 0) kill(c->nodes[i].pid, SIGCONT); /* a paused node must see SIGTERM */
        stop_process(c->nodes[i].pid);
        c->nodes[i].pid = 0;
    }
    remove_tree(c->dir);
    free(c);
}

int h_raft_port(tcluster *c, int id)
{
    FILE *f = fopen(c->config, "r");
    if (!f) fail_msg("cannot read %s", c->config);
    char line[512];
    int cur = 0, port = 0;
    while (fgets(line, sizeof line, f)) {
        sscanf(line, "id = %d", &cur);
        if (cur == id && sscanf(line, "raft_addr = \"127.0.0.1:%d\"", &port) == 1) break;
    }
    fclose(f);
    if (port <= 0) fail_msg("%s gives node %d no loopback raft_addr", c->config, id);
    return port;
}

char *h_info_field(tcluster *c, int i, const char *section, const char *field)
{
    char *info = h_cli(&c->nodes[i], "INFO", section, (char *)NULL);
    char needle[128];
    snprintf(needle, sizeof needle, "%s:", field);
    char *p = strstr(info, needle);
    char *out = strdup("");
    if (p) {
        p += strlen(needle);
        size_t len = strcspn(p, "\r\n");
        free(out);
        out = strndup(p, len);
    }
    free(info);
    return out;
}

long long h_info_ll(tcluster *c, int i, const char *section, const char *field)
{
    char *v = h_info_field(c, i, section, field);
    long long n = atoll(v);
    free(v);
    return n;
}

void h_wait_applied(tcluster *c, long long index, int deadline_ms)
{
    long long deadline = h_ms() + deadline_ms;
    for (int i = 0; i < c->n; i++) {
        if (c->nodes[i].pid <= 0) continue;
        long long at;
        while ((at = h_info_ll(c, i, "replication", "raft_applied_index")) < index) {
            if (h_ms() > deadline) fail_msg("node %d applied the log to %lld, not %lld, within %d ms", i + 1, at, index, deadline_ms);
            pause_ms(20);
        }
    }
}

char *h_converged_digest(tcluster *c)
{
    long long deadline = h_ms() + 15000;
    for (;;) {
        char *first = NULL;
        int same = 1;
        for (int i = 0; i < c->n; i++) {
            if (c->nodes[i].pid <= 0) continue;
            char *d = h_cli(&c->nodes[i], "DEBUG", "DIGEST", (char *)NULL);
            if (!first) first = d;
            else {
                same = same && strcmp(first, d) == 0;
                free(d);
            }
        }
        if (same) return first;
        free(first);
        assert_true(h_ms() < deadline);
        pause_ms(20);
    }
}

int h_cluster_primary(tcluster *c, int deadline_ms)
{
    long long deadline = h_ms() + deadline_ms;
    do {
        for (int i = 0; i < c->n; i++) {
            if (c->nodes[i].pid <= 0) continue;
            char *role = h_info_field(c, i, "replication", "role");
            int master = strcmp(role, "master") == 0;
            free(role);
            if (master) return i;
        }
        pause_ms(20);
    } while (h_ms() < deadline);
    return -1;
}

int h_cluster_settled(tcluster *c, int deadline_ms)
{
    long long deadline = h_ms() + deadline_ms;
    do {
        int p = h_cluster_primary(c, (int)(deadline - h_ms()) > 0 ? (int)(deadline - h_ms()) : 1);
        if (p < 0) return -1;
        int named = 1;
        for (int i = 0; i < c->n && named; i++) {
            if (i == p || c->nodes[i].pid <= 0) continue;
            char *port = h_info_field(c, i, "replication", "master_port");
            named = atoi(port) == c->nodes[p].port;
            free(port);
        }
        if (named) return p;
        pause_ms(20);
    } while (h_ms() < deadline);
    return -1;
}

int h_stop(tnode *n)
{
    if (!n) return -1;
    int st = stop_process(n->pid);
    remove_tree(n->dir);
    free(n);
    return st;
}

pid_t h_start_redis(int *port, char *dir, size_t dirlen)
{
    snprintf(dir, dirlen, "/tmp/tricache-redis-XXXXXX");
    assert_non_null(mkdtemp(dir));
    *port = h_free_port();
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", *port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execlp("redis-server", "redis-server", "--port", portstr, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", dir, (char *)NULL);
        _exit(127);
    }
    remember_pid(pid);
    remember_dir(dir);
    long long deadline = h_ms() + DEADLINE_MS;
    while (!answers_ping(*port)) {
        if (waitpid(pid, NULL, WNOHANG) == pid) fail_msg("redis-server exited during start-up");
        if (h_ms() > deadline) {
            stop_process(pid);
            fail_msg("redis-server did not answer PING within %d ms", DEADLINE_MS);
        }
        pause_ms(20);
    }
    return pid;
}

void h_stop_pid(pid_t pid, const char *dir)
{
    stop_process(pid);
    remove_tree(dir);
}

/* ---- workload clients ------------------------------------------------------- */

pid_t h_client_start(char *const argv[], const char *out_path)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

char *h_file_tail(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return strdup("");
    char *buf = malloc(16384);
    assert_non_null(buf);
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size > 16383) fseek(f, size - 16383, SEEK_SET);
        else rewind(f);
    }
    size_t n = fread(buf, 1, 16383, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

void h_client_stop(pid_t *pid)
{
    if (*pid <= 0) return;
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = 0;
}

void h_client_wait_file(pid_t *pid, const char *path, const char *out_path, int deadline_ms)
{
    long long deadline = h_ms() + deadline_ms;
    while (access(path, F_OK) != 0) {
        int st;
        if (waitpid(*pid, &st, WNOHANG) == *pid) {
            *pid = 0;
            fail_msg("the client exited (status %d) before %s:\n%s", st, path, h_file_tail(out_path));
        }
        if (h_ms() > deadline) fail_msg("no %s within %d ms; the client says:\n%s", path, deadline_ms, h_file_tail(out_path));
        usleep(20000); /* between polls */
    }
}

int h_client_wait_exit(pid_t *pid, const char *out_path, int deadline_ms)
{
    long long deadline = h_ms() + deadline_ms;
    int st = -1;
    while (waitpid(*pid, &st, WNOHANG) != *pid) {
        if (h_ms() > deadline) {
            h_client_stop(pid);
            fail_msg("the client still runs after %d ms:\n%s", deadline_ms, h_file_tail(out_path));
        }
        usleep(50000); /* between polls */
    }
    *pid = 0;
    return st;
}
