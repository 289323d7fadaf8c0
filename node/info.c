/* INFO: Redis-formatted sections, so monitoring that parses Redis's INFO
 * works unchanged. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "blocking.h"
#include "common.h"
#include "server.h"

static void human_bytes(char *out, size_t len, uint64_t n)
{
    double v = (double)n;
    if (n < 1024) snprintf(out, len, "%lluB", (unsigned long long)n);
    else if (n < 1024ull * 1024) snprintf(out, len, "%.2fK", v / 1024);
    else if (n < 1024ull * 1024 * 1024) snprintf(out, len, "%.2fM", v / (1024 * 1024));
    else snprintf(out, len, "%.2fG", v / (1024.0 * 1024 * 1024));
}

static uint64_t rss_bytes(void)
{
    unsigned long long pages_total = 0, pages_rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%llu %llu", &pages_total, &pages_rss) != 2) pages_rss = 0;
    fclose(f);
    return pages_rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void section_server(void *ud, tc_buf *b)
{
    tc_server *s = ud;
    struct utsname u;
    uname(&u);
    int64_t now = tc_now_ms();
    int64_t up = (now - s->start_ms) / 1000;
    tc_buf_printf(b,
                  "redis_version:%s\r\ntricache_version:%s\r\nredis_mode:standalone\r\n"
                  "os:%s %s %s\r\narch_bits:%d\r\nmultiplexing_api:epoll\r\nprocess_id:%d\r\nrun_id:%s\r\n"
                  "tcp_port:%d\r\nserver_time_usec:%lld\r\nuptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\n"
                  "hz:%llu\r\nconfig_file:%s\r\ncluster_name:%s\r\nnode_id:%d\r\nzone:%s\r\n",
                  TC_REDIS_COMPAT_VERSION, TC_VERSION, u.sysname, u.release, u.machine, (int)(sizeof(void *) * 8),
                  (int)getpid(), s->run_id, s->self ? s->self->client_port : 0, (long long)now * 1000,
                  (long long)up, (long long)(up / 86400), (unsigned long long)s->cfg.hz, s->cfg.path,
                  s->cfg.cluster_name, s->self ? s->self->id : 0, s->self ? s->self->zone : "");
}

static void section_clients(void *ud, tc_buf *b)
{
    tc_server *s = ud;
    tc_buf_printf(b, "connected_clients:%zu\r\nmaxclients:%llu\r\nblocked_clients:%zu\r\n", s->nclients,
                  (unsigned long long)s->cfg.maxclients, tc_block_count(s));
}

/* Forked children (Raft snapshots, backups, big digests) share the node's
 * pages copy-on-write: every page the node changes while one runs is
 * copied, and the child's copy is memory the limit does not see. Redis's
 * current_cow_size: the children's Private_Dirty (/proc/<pid>/smaps_rollup),
 * found through /proc/self/task/<tid>/children. */
static uint64_t children_cow(int *nchildren)
{
    uint64_t bytes = 0;
    *nchildren = 0;
    DIR *d = opendir("/proc/self/task");
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[320], line[128];
        snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        long pid;
        while (fscanf(f, "%ld", &pid) == 1) {
            snprintf(path, sizeof path, "/proc/%ld/smaps_rollup", pid);
            FILE *m = fopen(path, "r");
            if (!m) continue;
            (*nchildren)++;
            while (fgets(line, sizeof line, m))
                if (strncmp(line, "Private_Dirty:", 14) == 0) bytes += strtoull(line + 14, NULL, 10) * 1024;
            fclose(m);
        }
        fclose(f);
    }
    closedir(d);
    return bytes;
}

/* Bytes held by client connections (query and output buffers): shown, but
 * not part of used_memory, so a slow reader never makes the node evict. */
uint64_t tc_mem_clients(const tc_server *s)
{
    uint64_t n = 0;
    for (const tc_client *c = s->clients; c; c = c->next) n += c->query.cap + c->out.cap + c->inflight.cap;
    return n;
}

void tc_info_section_memory(void *ud, tc_buf *b)
{
    tc_server *s = ud;
    char h1[32], h2[32], h3[32], h4[32];
    uint64_t used = tc_mem_used(s), rss = rss_bytes(), peak = used > s->mem.peak ? used : s->mem.peak;
    uint64_t dataset = 0;
    for (int i = 0; i < s->ndbs; i++) dataset += s->dbs[i].mem + tc_ks_table_memory(&s->dbs[i]);
    int children;
    uint64_t cow = children_cow(&children);
    human_bytes(h1, sizeof h1, used);
    human_bytes(h2, sizeof h2, rss);
    human_bytes(h3, sizeof h3, peak);
    human_bytes(h4, sizeof h4, s->cfg.maxmemory);
    tc_buf_printf(b,
                  "used_memory:%llu\r\nused_memory_human:%s\r\nused_memory_rss:%llu\r\n"
                  "used_memory_rss_human:%s\r\nused_memory_peak:%llu\r\nused_memory_peak_human:%s\r\n"
                  "used_memory_startup:%llu\r\nused_memory_dataset:%llu\r\nmem_clients_normal:%llu\r\n"
                  "maxmemory:%llu\r\nmaxmemory_human:%s\r\nmaxmemory_policy:%s\r\nmaxmemory_exceeded:%d\r\n"
                  "mem_fragmentation_ratio:%.2f\r\nmem_allocator:libc\r\ncurrent_fork_children:%d\r\n"
                  "current_cow_size:%llu\r\nmem_huge_page_advised_bytes:%llu\r\nmem_big_buffers_kept:%llu\r\n"
                  "mem_big_buffers_reused:%llu\r\nmem_big_values_in_place:%llu\r\n",
                  (unsigned long long)used, h1, (unsigned long long)rss, h2, (unsigned long long)peak, h3,
                  (unsigned long long)s->mem.startup, (unsigned long long)dataset,
                  (unsigned long long)tc_mem_clients(s), (unsigned long long)s->cfg.maxmemory, h4,
                  tc_evict_policy_name(s->cfg.maxmemory_policy), tc_mem_exceeded(s),
                  used ? (double)rss / (double)used : 0.0, children, (unsigned long long)cow,
                  tc_big_alloc_advised_bytes(), tc_big_kept_bytes(), tc_big_reused(),
                  (unsigned long long)s->stats.big_values_in_place);
}

static void section_stats(void *ud, tc_buf *b)
{
    tc_server *s = ud;
    tc_stats *st = &s->stats;
    /* each database counts its own lookups and expiries */
    uint64_t expired = 0, hits = 0, misses = 0;
    for (int i = 0; i < s->ndbs; i++) {
        expired += s->dbs[i].expired_keys;
        hits += s->dbs[i].hits;
        misses += s->dbs[i].misses;
    }
    /* Redis's eviction_exceeded_time: how long used memory stayed over the
     * limit (the current spell, and all of them) */
    int64_t now = tc_now_ms();
    uint64_t current = s->mem.exceeded_since_ms ? (uint64_t)(now - s->mem.exceeded_since_ms) : 0;
    uint64_t exceeded_total = s->mem.exceeded_total_ms;
    tc_buf_printf(b,
                  "total_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
                  "total_net_input_bytes:%llu\r\ntotal_net_output_bytes:%llu\r\nrejected_connections:%llu\r\n"
                  "expired_keys:%llu\r\nexpired_stale_perc:%.2f\r\nexpired_time_cap_reached_count:%llu\r\n"
                  "expire_cycle_cpu_milliseconds:%llu\r\nevicted_keys:%llu\r\ntotal_eviction_exceeded_time:%llu\r\n"
                  "current_eviction_exceeded_time:%llu\r\nkeyspace_hits:%llu\r\nkeyspace_misses:%llu\r\n"
                  "acl_access_denied_auth:%llu\r\nacl_access_denied_cmd:%llu\r\nacl_access_denied_key:%llu\r\n"
                  "acl_access_denied_channel:%llu\r\ntotal_protocol_errors:%llu\r\n"
                  "client_query_buffer_limit_disconnections:%llu\r\nclient_output_buffer_limit_disconnections:%llu\r\n"
                  "unexpected_error_replies:0\r\ntotal_error_replies:%llu\r\n"
                  "tls_client_handshake_failures:%llu\r\ntls_client_reloads:%llu\r\nplaintext_clients_refused:%llu\r\n",
                  (unsigned long long)st->connections_received, (unsigned long long)st->commands_processed,
                  (unsigned long long)st->net_input_bytes, (unsigned long long)st->net_output_bytes,
                  (unsigned long long)st->rejected_connections, (unsigned long long)expired,
                  s->expire.stale_perc * 100, (unsigned long long)s->expire.time_cap_reached,
                  (unsigned long long)(s->expire.cycle_us / 1000),
                  (unsigned long long)s->mem.evicted_keys, (unsigned long long)(exceeded_total + current),
                  (unsigned long long)current,
                  (unsigned long long)hits, (unsigned long long)misses,
                  (unsigned long long)st->auth_failures, (unsigned long long)s->acl.denied_cmd,
                  (unsigned long long)s->acl.denied_key, (unsigned long long)s->acl.denied_channel,
                  (unsigned long long)st->protocol_errors,
                  (unsigned long long)st->client_qbuf_limit_disconnections,
                  (unsigned long long)st->client_outbuf_limit_disconnections,
                  (unsigned long long)st->error_replies,
                  /* ours, not Redis's: TLS clients that failed their handshake
                   * (node/conn_tls.c), TLS contexts reloaded, plain clients
                   * refused by transit_encryption_mode = "required" */
                  (unsigned long long)(s->tls ? tc_tls_handshake_failures(s->tls) : 0),
                  (unsigned long long)(s->tls ? tc_tls_reloads(s->tls) : 0),
                  (unsigned long long)st->plaintext_refused);
}

static void section_replication(void *ud, tc_buf *b)
{
    tc_server *s = ud;
    tc_buf_printf(b,
                  "role:master\r\nconnected_slaves:0\r\nmaster_replid:%s\r\n"
                  "master_repl_offset:0\r\n",
                  s->run_id);
}

static void section_persistence(void *ud, tc_buf *b)
{
    tc_server *s = ud;
    tc_buf_printf(b,
                  "loading:0\r\nasync_loading:0\r\nrdb_bgsave_in_progress:0\r\nrdb_last_save_time:%lld\r\n"
                  "rdb_last_bgsave_status:ok\r\naof_enabled:0\r\naof_rewrite_in_progress:0\r\n",
                  (long long)s->lastsave);
}

static void section_keyspace(void *ud, tc_buf *b)
{
    tc_server *s = ud;
    /* one line per non-empty database, as Redis prints them */
    for (int i = 0; i < s->ndbs; i++) {
        size_t keys = tc_ks_size(&s->dbs[i]);
        if (keys)
            tc_buf_printf(b, "db%d:keys=%zu,expires=%zu,avg_ttl=0\r\n", i, keys, tc_ks_volatile_count(&s->dbs[i]));
    }
}

static double timeval_s(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

static void section_cpu(void *ud, tc_buf *b)
{
    (void)ud;
    struct rusage self, children, thread;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    getrusage(RUSAGE_THREAD, &thread);
    tc_buf_printf(b,
                  "used_cpu_sys:%.6f\r\nused_cpu_user:%.6f\r\nused_cpu_sys_children:%.6f\r\n"
                  "used_cpu_user_children:%.6f\r\nused_cpu_sys_main_thread:%.6f\r\n"
                  "used_cpu_user_main_thread:%.6f\r\n",
                  timeval_s(self.ru_stime), timeval_s(self.ru_utime), timeval_s(children.ru_stime),
                  timeval_s(children.ru_utime), timeval_s(thread.ru_stime), timeval_s(thread.ru_utime));
}

/* There are no modules; the section exists because Redis's INFO has it. */
static void section_modules(void *ud, tc_buf *b)
{
    (void)ud;
    (void)b;
}

static void section_commandstats(void *ud, tc_buf *b)
{
    tc_server *s = ud;
    size_t n;
    const tc_cmd *table = tc_cmd_table(&n);
    for (size_t i = 0; i < n; i++) {
        const tc_cmdstat *st = &s->stats.cmds[i];
        if (!st->calls && !st->rejected && !st->failed) continue;
        tc_buf_printf(b, "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,failed_calls=%llu\r\n",
                      table[i].name, (unsigned long long)st->calls, (unsigned long long)st->usec,
                      st->calls ? (double)st->usec / (double)st->calls : 0.0, (unsigned long long)st->rejected,
                      (unsigned long long)st->failed);
    }
}

static void section_errorstats(void *ud, tc_buf *b)
{
    tc_server *s = ud;
    for (size_t i = 0; i < s->stats.nerrors; i++)
        tc_buf_printf(b, "errorstat_%s:count=%llu\r\n", s->stats.errors[i].code,
                      (unsigned long long)s->stats.errors[i].count);
}

static void section_cluster(void *ud, tc_buf *b)
{
    tc_server *s = ud;
    tc_buf_printf(b, "cluster_enabled:%d\r\n", s->cfg.cluster_mode ? 1 : 0);
}

int tc_info_add(tc_server *s, const char *name, const char *title, tc_info_fn render, void *ud, int in_default)
{
    tc_info_section *sec = NULL;
    for (size_t i = 0; i < s->ninfo && !sec; i++)
        if (strcmp(s->info[i].name, name) == 0) sec = &s->info[i];
    if (!sec) {
        if (s->ninfo == TC_INFO_MAX_SECTIONS || !title) return -1;
        sec = &s->info[s->ninfo++];
        snprintf(sec->name, sizeof sec->name, "%s", name);
    }
    if (title) snprintf(sec->title, sizeof sec->title, "%s", title);
    sec->render = render;
    sec->ud = ud;
    sec->in_default = in_default;
    return 0;
}

void tc_info_init(tc_server *s)
{
    /* Redis's order, so tools that read INFO by position see what they expect */
    tc_info_add(s, "server", "Server", section_server, s, 1);
    tc_info_add(s, "clients", "Clients", section_clients, s, 1);
    tc_info_add(s, "memory", "Memory", tc_info_section_memory, s, 1);
    tc_info_add(s, "persistence", "Persistence", section_persistence, s, 1);
    tc_info_add(s, "stats", "Stats", section_stats, s, 1);
    tc_info_add(s, "replication", "Replication", section_replication, s, 1);
    tc_info_add(s, "cpu", "CPU", section_cpu, s, 1);
    tc_info_add(s, "modules", "Modules", section_modules, s, 1);
    tc_info_add(s, "commandstats", "Commandstats", section_commandstats, s, 0);
    tc_info_add(s, "errorstats", "Errorstats", section_errorstats, s, 1);
    tc_info_add(s, "cluster", "Cluster", section_cluster, s, 1);
    tc_info_add(s, "keyspace", "Keyspace", section_keyspace, s, 1);
}

void tc_info_render(tc_server *s, tc_buf *b, size_t n, const tc_slice *names)
{
    int want[TC_INFO_MAX_SECTIONS] = {0};
    int all = 0, dflt = n == 0;
    for (size_t i = 0; i < n; i++) {
        if (tc_arg_is(&names[i], "all") || tc_arg_is(&names[i], "everything")) all = 1;
        if (tc_arg_is(&names[i], "default")) dflt = 1;
        for (size_t k = 0; k < s->ninfo; k++)
            if (tc_arg_is(&names[i], s->info[k].name)) want[k] = 1;
    }
    int first = 1;
    for (size_t k = 0; k < s->ninfo; k++) {
        if (!all && !want[k] && !(dflt && s->info[k].in_default)) continue;
        if (!first) tc_buf_append(b, "\r\n", 2);
        tc_buf_printf(b, "# %s\r\n", s->info[k].title);
        s->info[k].render(s->info[k].ud, b);
        first = 0;
    }
}
