/* Comparing tricache's replies with redis-server's, byte for byte: one
 * tricache node (or a three-node cluster's primary) and a redis-server,
 * started and stopped as a cmocka group's setup and teardown, and the
 * same command sent to both. Shared by the compat tests of scripts,
 * functions and streams. */
#ifndef TC_TEST_COMPAT_PAIR_H
#define TC_TEST_COMPAT_PAIR_H

#include <stddef.h>
#include <sys/types.h>

#include "harness.h"

typedef struct compat_pair {
    tnode *tricache;   /* one node, or */
    tcluster *cluster; /* a cluster, whose primary answers */
    int port;          /* the tricache port compared */
    pid_t redis_pid;
    int redis_port;
    char redis_dir[64];
} compat_pair;

/* cmocka group setup/teardown: *state becomes the compat_pair */
int compat_start_node(void **state);
int compat_start_cluster(void **state);
int compat_stop(void **state);

/* The arguments before the first NULL of a[0..max). */
size_t compat_argc(const char *const *a, size_t max);

/* Sends a[0..n) to both servers as one multibulk and compares the
 * replies: 0 when equal, else 1 with both printed under what. */
size_t compat_compare(int tricache_fd, int redis_fd, size_t n, const char *const *a, const char *what);

/* Connects to both (HELLO 3 first when resp is 3) and asserts that
 * compare finds no mismatch. */
void compat_compare_in(const compat_pair *p, int resp, size_t (*compare)(int tricache_fd, int redis_fd));

#endif
