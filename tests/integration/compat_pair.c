#include "compat_pair.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int compat_start_node(void **state)
{
    compat_pair *p = calloc(1, sizeof *p);
    p->tricache = h_start(NULL);
    p->port = p->tricache->port;
    p->redis_pid = h_start_redis(&p->redis_port, p->redis_dir, sizeof p->redis_dir);
    *state = p;
    return 0;
}

int compat_start_cluster(void **state)
{
    compat_pair *p = calloc(1, sizeof *p);
    p->cluster = h_cluster_start(3, NULL);
    int i = h_cluster_primary(p->cluster, 10000);
    if (i < 0) {
        h_cluster_stop(p->cluster);
        free(p);
        return -1;
    }
    p->port = p->cluster->nodes[i].port;
    p->redis_pid = h_start_redis(&p->redis_port, p->redis_dir, sizeof p->redis_dir);
    *state = p;
    return 0;
}

int compat_stop(void **state)
{
    compat_pair *p = *state;
    if (!p) return 0;
    if (p->tricache) h_stop(p->tricache);
    if (p->cluster) h_cluster_stop(p->cluster);
    h_stop_pid(p->redis_pid, p->redis_dir);
    free(p);
    return 0;
}

size_t compat_argc(const char *const *a, size_t max)
{
    size_t n = 0;
    while (n < max && a[n]) n++;
    return n;
}

static void send_argv(int fd, size_t n, const char *const *a)
{
    char head[32];
    snprintf(head, sizeof head, "*%zu\r\n", n);
    h_sends(fd, head);
    for (size_t i = 0; i < n; i++) {
        snprintf(head, sizeof head, "$%zu\r\n", strlen(a[i]));
        h_sends(fd, head);
        h_sends(fd, a[i]);
        h_sends(fd, "\r\n");
    }
}

size_t compat_compare(int tricache_fd, int redis_fd, size_t n, const char *const *a, const char *what)
{
    send_argv(tricache_fd, n, a);
    send_argv(redis_fd, n, a);
    char *x = h_reply(tricache_fd), *y = h_reply(redis_fd);
    assert_non_null(x);
    assert_non_null(y);
    size_t bad = 0;
    if (strcmp(x, y) != 0) {
        print_error("%s: %s %s\n  tricache: %s  redis:    %s", what, a[0], n > 1 ? a[1] : "", x, y);
        bad = 1;
    }
    free(x);
    free(y);
    return bad;
}

void compat_compare_in(const compat_pair *p, int resp, size_t (*compare)(int tricache_fd, int redis_fd))
{
    int t = h_connect(p->port), r = h_connect(p->redis_port);
    if (resp == 3) {
        h_sends(t, "HELLO 3\r\n");
        h_sends(r, "HELLO 3\r\n");
        char *a = h_reply(t), *b = h_reply(r);
        assert_true(a && b && a[0] == '%' && b[0] == '%');
        free(a);
        free(b);
    }
    assert_int_equal(compare(t, r), 0);
    h_close(t);
    h_close(r);
}
