/* summary.json: the verdict, op counts by outcome, what was lost, and every
 * fault with how long the cluster took to serve writes again. */
#include <stdlib.h>
#include <string.h>

#include "run.h"

static bool is_write(jl_fn f) { return f == JL_WRITE || f == JL_CAS || f == JL_ADD; }

int64_t jl_fault_recovery(const jl_run_info *ri, const jl_fault *f) {
    if (!f->t_end)
        return -1;
    /* Completions are recorded in time order. */
    for (size_t i = 0; i < ri->rec->n_ops; i++) {
        const jl_oprec *o = &ri->rec->ops[i];
        if (o->outcome == JL_OK && is_write(o->f) && o->t_ret >= f->t_end)
            return o->t_ret - f->t_end;
    }
    return -1;
}

int64_t jl_fault_write_gap(const jl_run_info *ri, const jl_fault *f) {
    if (!f->t_start)
        return -1;
    int64_t end = f->t_end ? f->t_end : ri->t_end;
    int64_t prev = -1, gap = 0;
    for (size_t i = 0; i < ri->rec->n_ops; i++) {
        const jl_oprec *o = &ri->rec->ops[i];
        if (o->outcome != JL_OK || !is_write(o->f))
            continue;
        if (o->t_ret >= f->t_start && prev >= 0 && prev <= end && o->t_ret - prev > gap)
            gap = o->t_ret - prev;
        prev = o->t_ret;
        if (prev > end)
            return gap;
    }
    /* No write acknowledged after the fault (until the end of the workload). */
    return prev >= 0 && ri->t_end - prev > gap && prev <= end ? ri->t_end - prev : gap;
}

static const char *verdict_json(jl_verdict v) {
    return v == JL_VALID ? "true" : v == JL_INVALID ? "false" : "\"unknown\"";
}

static void counts(FILE *f, const jl_recorder *rec) {
    static const char *const fns[] = {"read", "write", "cas", "add"};
    long by[4][4] = {{0}}, tot[4] = {0};
    for (size_t i = 0; i < rec->n_ops; i++) {
        by[rec->ops[i].f][rec->ops[i].outcome]++;
        tot[rec->ops[i].outcome]++;
    }
    fprintf(f, "  \"ops\": {\"total\": %zu, \"ok\": %ld, \"fail\": %ld, \"info\": %ld", rec->n_ops, tot[JL_OK],
            tot[JL_FAIL], tot[JL_INFO]);
    for (int k = 0; k < 4; k++)
        if (by[k][JL_OK] + by[k][JL_FAIL] + by[k][JL_INFO])
            fprintf(f, ",\n    \"%s\": {\"ok\": %ld, \"fail\": %ld, \"info\": %ld}", fns[k], by[k][JL_OK],
                    by[k][JL_FAIL], by[k][JL_INFO]);
    fputs("},\n", f);
}

static void ms_or_null(FILE *f, int64_t ns) {
    if (ns < 0)
        fputs("null", f);
    else
        fprintf(f, "%lld", (long long)(ns / 1000000));
}

int jl_write_summary(const jl_run_info *ri, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\n  \"valid\": %s,\n  \"workload\": \"%s\",\n  \"nodes\": %d,\n  \"concurrency\": %d,\n"
               "  \"time_s\": %.1f,\n  \"seed\": %llu,\n  \"local\": %s,\n  \"nemesis\": \"%s\",\n",
            verdict_json(ri->verdict), ri->workload, ri->n_nodes, ri->concurrency, ri->time_s,
            (unsigned long long)ri->seed, ri->local ? "true" : "false", ri->nemesis);
    fprintf(f, "  \"netns_prefix\": \"%s\",\n  \"subnet\": \"%s\",\n  \"pids\": [", ri->netns_prefix, ri->subnet);
    for (size_t i = 0; i < ri->n_pids; i++)
        fprintf(f, "%s%d", i ? ", " : "", (int)ri->pids[i]);
    fputs("],\n", f);
    counts(f, ri->rec);
    /* Lost writes: acknowledged adds missing from every final read (set);
     * for a register a lost write shows up as a linearizability failure. */
    long lost = -1;
    if (ri->res && ri->res->model == JL_MODEL_SET) {
        lost = 0;
        for (size_t k = 0; k < ri->res->n_keys; k++)
            lost += (long)ri->res->keys[k].lost.n;
    }
    fputs("  \"lost_writes\": ", f);
    if (lost < 0)
        fputs("null", f);
    else
        fprintf(f, "%ld", lost);
    fputs(",\n", f);
    if (strcmp(ri->workload, "set") == 0) {
        fputs("  \"final_reads\": [", f);
        for (int i = 0; i < ri->n_nodes; i++) {
            fprintf(f, "%s{\"node\": %d, \"present\": ", i ? ", " : "", i + 1);
            if (ri->per_node_missing[i] < 0)
                fputs("null, \"missing_acknowledged\": null, \"error\": \"could not be read\"}", f);
            else
                fprintf(f, "%ld, \"missing_acknowledged\": %ld}", ri->per_node_present[i], ri->per_node_missing[i]);
        }
        fputs("],\n", f);
    }
    fprintf(f, "  \"replica_reads\": %ld,\n  \"stale_reads_seen_on_replica_reads\": %ld,\n", ri->n_replica_reads,
            ri->stale_replica_reads);
    if (ri->inject_stale)
        fprintf(f, "  \"stale_reads_injected\": %ld,\n", ri->stale_injected);
    fputs("  \"faults\": [", f);
    for (size_t i = 0; i < ri->n_faults; i++) {
        const jl_fault *ft = &ri->faults[i];
        const char *what = ft->what[0] ? ft->what : "not started";
        fprintf(f, "%s\n    {\"kind\": \"%s\", \"what\": ", i ? "," : "", jl_fault_names[ft->kind]);
        tc_json_write_str(f, what, strlen(what));
        fprintf(f, ", \"start_s\": %.3f, \"end_s\": %.3f, ", ft->t_start / 1e9, ft->t_end / 1e9);
        fputs("\"writes_again_after_heal_ms\": ", f);
        ms_or_null(f, jl_fault_recovery(ri, ft));
        fputs(", \"longest_write_gap_ms\": ", f);
        ms_or_null(f, jl_fault_write_gap(ri, ft));
        if (ft->kind == JL_F_MEMBER) {
            /* From the first MEMBERS REMOVE to its commit; from the heal's
             * first MEMBERS ADD until the primary lists the node as a voter. */
            fputs(", \"removed_after_ms\": ", f);
            ms_or_null(f, ft->t_removed && ft->t_start ? ft->t_removed - ft->t_start : -1);
            fputs(", \"voter_again_after_heal_ms\": ", f);
            ms_or_null(f, ft->t_voter_again && ft->t_end ? ft->t_voter_again - ft->t_end : -1);
        }
        fputs("}", f);
    }
    fputs("\n  ],\n  \"checker\": ", f);
    if (ri->res)
        jl_report_json(f, ri->h, ri->res);
    else
        fputs("null", f);
    fputs("\n}\n", f);
    return fclose(f) == 0 ? 0 : -1;
}
