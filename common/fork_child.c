#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

pid_t tc_fork_keep(int keep_fd)
{
    pid_t pid = fork();
    if (pid != 0) return pid;
    tc_big_forked_child();
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGPIPE, SIG_IGN);
    if (keep_fd > 3) close_range(3, (unsigned)keep_fd - 1, 0);
    close_range((unsigned)keep_fd + 1, ~0U, 0);
    return 0;
}

pid_t tc_fork_with_pipe(int *fd)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    pid_t pid = tc_fork_keep(fds[1]);
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        *fd = fds[1];
        return 0;
    }
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    *fd = fds[0];
    return pid;
}
