/* Forked children for whole-keyspace work (snapshots, backups, big
 * digests): the child sees the parent's memory frozen at fork() through
 * copy-on-write, so the event loop pays for fork() only.
 *
 * In the child every descriptor but the one it writes to is closed — a
 * client or peer socket the parent closes must really close, not live on
 * in a child for the minutes a backup takes — SIGTERM and SIGINT go back
 * to their defaults and SIGPIPE is ignored. */
#ifndef TC_FORK_CHILD_H
#define TC_FORK_CHILD_H

#include <sys/types.h>

/* Forks; the child keeps keep_fd (and 0-2) open. As fork(): 0 in the
 * child, its pid in the parent, -1 with errno. */
pid_t tc_fork_keep(int keep_fd);

/* Forks with a pipe from the child to the parent: in the child (0
 * returned) *fd is the write end, in the parent (pid returned) the read
 * end, non-blocking and close-on-exec. -1 with errno, nothing open. */
pid_t tc_fork_with_pipe(int *fd);

#endif
