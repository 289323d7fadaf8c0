/* Starting programs, optionally inside a network namespace.
 *
 * Everything a child does between fork and exec is a plain system call
 * (open, setns, dup2, prctl), so forking from a threaded process is safe. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

extern char **environ;

int64_t jl_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void jl_sleep_ms(int64_t ms) {
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* In the child: enter ns (if any); exits 127 on failure. */
static void child_enter(const char *ns) {
    if (!ns)
        return;
    int fd = open(ns, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0)
        _exit(127);
    close(fd);
}

int jl_proc_run(const char *ns, char *const argv[], char *err, size_t errlen) {
    int p[2];
    if (err && errlen)
        err[0] = '\0';
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        child_enter(ns);
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(p[1], 1);
        dup2(p[1], 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    size_t got = 0;
    char sink[256];
    for (;;) {
        char *dst = err && got + 1 < errlen ? err + got : sink;
        size_t room = err && got + 1 < errlen ? errlen - 1 - got : sizeof sink;
        ssize_t n = read(p[0], dst, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (dst != sink)
            got += (size_t)n;
    }
    close(p[0]);
    if (err && errlen) {
        err[got] = '\0';
        while (got > 0 && (err[got - 1] == '\n' || err[got - 1] == ' '))
            err[--got] = '\0';
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

pid_t jl_proc_spawn(const char *ns, char *const argv[], char *const env_extra[], const char *log) {
    /* Build the environment before forking: no allocation in the child. */
    size_t n_env = 0, n_extra = 0;
    while (environ[n_env])
        n_env++;
    while (env_extra && env_extra[n_extra])
        n_extra++;
    char **envp = calloc(n_env + n_extra + 1, sizeof *envp);
    if (!envp)
        return -1;
    for (size_t i = 0; i < n_env; i++)
        envp[i] = environ[i];
    for (size_t i = 0; i < n_extra; i++)
        envp[n_env + i] = env_extra[i];
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) {
        free(envp);
        return pid;
    }
    /* The node must not outlive the harness, even if it crashes. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0); /* Ctrl-C in the terminal goes to the harness, which cleans up */
    child_enter(ns);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int devnull = open("/dev/null", O_RDONLY);
    if (fd < 0 || devnull < 0)
        _exit(127);
    dup2(devnull, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    execve(argv[0], argv, envp);
    _exit(127);
}
