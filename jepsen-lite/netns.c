/* The test network: one namespace per node, one for the clients and one
 * "switch" namespace holding the bridge, so that nothing of the test subnet
 * lives in the root namespace except a blackhole route for it. The route
 * comes first and goes last: if anything in the root namespace ever
 * addressed the test subnet, its packets would be dropped, never sent out.
 *
 * Partitions are nftables drop rules in the input chain of the receiving
 * node's namespace (this kernel has no netem). */
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

#define NS_SWITCH 0
#define NS_CLIENTS 1
#define NS_NODE(i) (2 + (i))

static const char *const ns_suffix[] = {"sw", "cl", "n1", "n2", "n3", "n4", "n5"};

static void ns_name(const jl_net *net, int k, char *out, size_t len) {
    snprintf(out, len, "%s-%s", net->prefix, ns_suffix[k]);
}

/* Runs a command given as separate words (NULL-terminated) in namespace
 * path ns (NULL: the caller's); on failure err gets the command and output. */
static int run(const char *ns, char *err, size_t errlen, ...) {
    char *argv[24];
    int argc = 0;
    va_list ap;
    va_start(ap, errlen);
    char *a;
    while (argc < 23 && (a = va_arg(ap, char *)) != NULL)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    char out[400];
    int rc = jl_proc_run(ns, argv, out, sizeof out);
    if (rc == 0)
        return 0;
    if (err && errlen) {
        size_t n = 0;
        for (int i = 0; i < argc && n + 1 < errlen; i++)
            n += (size_t)snprintf(err + n, errlen - n, "%s%s", i ? " " : "", argv[i]);
        if (n + 1 < errlen)
            snprintf(err + n, errlen - n, ": %s", out[0] ? out : rc < 0 ? "could not run" : "failed");
    }
    return -1;
}

/* Is any address of the root namespace inside 10.77.<octet>.0/24? */
static bool subnet_in_use(int octet) {
    struct ifaddrs *ifa;
    if (getifaddrs(&ifa) != 0)
        return true;
    bool used = false;
    for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
            continue;
        uint32_t a = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
        if ((a >> 8) == ((10u << 16) | (77u << 8) | (uint32_t)octet))
            used = true;
    }
    freeifaddrs(ifa);
    return used;
}

void jl_net_node_addr(const jl_net *net, int i, char *out, size_t len) {
    snprintf(out, len, "10.77.%d.%d", net->octet, 11 + i);
}

const char *jl_net_node_ns(const jl_net *net, int i) { return net->ns_path[NS_NODE(i)]; }

/* One endpoint: a veth from the bridge into namespace k with address addr. */
static int plug(jl_net *net, int k, const char *addr, char *err, size_t errlen) {
    char sw[64], name[64], port[16], cidr[32];
    ns_name(net, NS_SWITCH, sw, sizeof sw);
    ns_name(net, k, name, sizeof name);
    snprintf(port, sizeof port, "v%s", ns_suffix[k]);
    snprintf(cidr, sizeof cidr, "%s/24", addr);
    const char *nsp = net->ns_path[k];
    if (run(NULL, err, errlen, "ip", "-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0",
            "netns", name, NULL) ||
        run(NULL, err, errlen, "ip", "-n", sw, "link", "set", port, "master", "br0", NULL) ||
        run(NULL, err, errlen, "ip", "-n", sw, "link", "set", port, "up", NULL) ||
        run(nsp, err, errlen, "ip", "addr", "add", cidr, "dev", "eth0", NULL) ||
        run(nsp, err, errlen, "ip", "link", "set", "eth0", "up", NULL) ||
        run(nsp, err, errlen, "ip", "link", "set", "lo", "up", NULL))
        return -1;
    return 0;
}

int jl_net_setup(jl_net *net, int n_nodes, char *err, size_t errlen) {
    memset(net, 0, sizeof *net);
    net->root_fd = -1;
    net->n_nodes = n_nodes;
    snprintf(net->prefix, sizeof net->prefix, "jl-%d", (int)getpid());
    if (geteuid() != 0) {
        snprintf(err, errlen, "network namespaces need root; run as root or use --local "
                              "(loopback only, kill, pause and member faults)");
        return -1;
    }
    net->root_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (net->root_fd < 0) {
        snprintf(err, errlen, "cannot open /proc/self/ns/net: %s", strerror(errno));
        return -1;
    }
    /* Safety first: a blackhole for the subnet in the root namespace. */
    int start = 20 + (int)(getpid() % 200);
    for (int t = 0; t < 200 && !net->route_added; t++) {
        int o = 20 + (start - 20 + t) % 200;
        if (subnet_in_use(o))
            continue;
        snprintf(net->subnet, sizeof net->subnet, "10.77.%d.0/24", o);
        if (run(NULL, NULL, 0, "ip", "route", "add", "blackhole", net->subnet, NULL) == 0) {
            net->octet = o;
            net->route_added = true;
        }
    }
    if (!net->route_added) {
        snprintf(err, errlen, "could not add a blackhole route for any free 10.77.X.0/24 "
                              "(is iproute2 installed? `ip route` must work)");
        return -1;
    }
    for (int k = 0; k < NS_NODE(n_nodes); k++) {
        char name[64];
        ns_name(net, k, name, sizeof name);
        snprintf(net->ns_path[k], sizeof net->ns_path[k], "/var/run/netns/%s", name);
        if (run(NULL, err, errlen, "ip", "netns", "add", name, NULL) != 0)
            goto fail;
        net->made[k] = true;
    }
    char sw[64];
    ns_name(net, NS_SWITCH, sw, sizeof sw);
    if (run(NULL, err, errlen, "ip", "-n", sw, "link", "add", "br0", "type", "bridge", NULL) ||
        run(NULL, err, errlen, "ip", "-n", sw, "link", "set", "br0", "up", NULL))
        goto fail;
    char addr[32];
    snprintf(addr, sizeof addr, "10.77.%d.2", net->octet);
    if (plug(net, NS_CLIENTS, addr, err, errlen) != 0)
        goto fail;
    for (int i = 0; i < n_nodes; i++) {
        jl_net_node_addr(net, i, addr, sizeof addr);
        const char *nsp = net->ns_path[NS_NODE(i)];
        if (plug(net, NS_NODE(i), addr, err, errlen) != 0 ||
            run(nsp, err, errlen, "nft", "add table inet jepsen_lite", NULL) ||
            run(nsp, err, errlen, "nft",
                "add chain inet jepsen_lite input { type filter hook input priority 0; policy accept; }", NULL))
            goto fail;
    }
    return 0;
fail:
    jl_net_teardown(net);
    return -1;
}

int jl_net_enter_clients(jl_net *net) {
    int fd = open(net->ns_path[NS_CLIENTS], O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = setns(fd, CLONE_NEWNET);
    close(fd);
    return rc;
}

int jl_net_drop(jl_net *net, int to, int from) {
    char addr[32], rule[128];
    jl_net_node_addr(net, from, addr, sizeof addr);
    snprintf(rule, sizeof rule, "add rule inet jepsen_lite input ip saddr %s drop", addr);
    return run(net->ns_path[NS_NODE(to)], NULL, 0, "nft", rule, NULL);
}

int jl_net_heal(jl_net *net) {
    int rc = 0;
    for (int i = 0; i < net->n_nodes; i++)
        if (net->made[NS_NODE(i)] &&
            run(net->ns_path[NS_NODE(i)], NULL, 0, "nft", "flush chain inet jepsen_lite input", NULL) != 0)
            rc = -1;
    return rc;
}

int jl_net_teardown(jl_net *net) {
    int rc = 0;
    /* Back to the root namespace, where the route is. */
    if (net->root_fd >= 0 && setns(net->root_fd, CLONE_NEWNET) != 0)
        rc = -1;
    /* Deleting a namespace deletes its veths (and their peers) and, for the
     * switch, the bridge; its nftables rules go with it. */
    for (int k = JL_MAX_NODES + 1; k >= 0; k--) {
        if (!net->made[k])
            continue;
        char name[64];
        ns_name(net, k, name, sizeof name);
        if (run(NULL, NULL, 0, "ip", "netns", "del", name, NULL) != 0 && access(net->ns_path[k], F_OK) == 0)
            rc = -1;
        else
            net->made[k] = false;
    }
    if (net->route_added) {
        if (run(NULL, NULL, 0, "ip", "route", "del", "blackhole", net->subnet, NULL) == 0)
            net->route_added = false;
        else
            rc = -1;
    }
    if (net->root_fd >= 0)
        close(net->root_fd);
    net->root_fd = -1;
    return rc;
}

int jl_net_leftovers(const jl_net *net, char *out, size_t len) {
    size_t n = 0;
    out[0] = '\0';
    for (int k = 0; k < JL_MAX_NODES + 2; k++) {
        char path[96], name[64];
        ns_name(net, k, name, sizeof name);
        snprintf(path, sizeof path, "/var/run/netns/%s", name);
        if (access(path, F_OK) == 0 && n + 1 < len)
            n += (size_t)snprintf(out + n, len - n, "namespace %s\n", name);
    }
    if (net->subnet[0]) {
        char *argv[] = {"ip", "route", "show", (char *)net->subnet, NULL};
        char buf[256];
        if (jl_proc_run(NULL, argv, buf, sizeof buf) == 0 && buf[0] && n + 1 < len)
            n += (size_t)snprintf(out + n, len - n, "route %s\n", buf);
    }
    return n > 0 ? 1 : 0;
}
