/* The history writer. Every event takes its timestamp and its place in the
 * file under one lock, so the file order is the real-time order and `time`
 * never decreases along it (the checker relies on the order). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

int jl_recorder_open(jl_recorder *r, const char *path, int64_t t0) {
    memset(r, 0, sizeof *r);
    r->t0 = t0;
    r->f = fopen(path, "w");
    if (!r->f)
        return -1;
    pthread_mutex_init(&r->mu, NULL);
    return 0;
}

int jl_recorder_close(jl_recorder *r) {
    int rc = r->err ? -1 : 0;
    if (r->f && fclose(r->f) != 0)
        rc = -1;
    r->f = NULL;
    return rc;
}

int64_t jl_recorder_event(jl_recorder *r, int64_t process, jl_type type, jl_fn f, const char *key,
                          const char *value_json, int node, const char *error, int64_t t_call) {
    pthread_mutex_lock(&r->mu);
    int64_t t = jl_now_ns() - r->t0;
    if (t < 0)
        t = 0;
    fprintf(r->f, "{\"process\":%lld,\"type\":\"%s\",\"f\":\"%s\",\"key\":", (long long)process,
            jl_type_name(type), jl_fn_name(f));
    tc_json_write_str(r->f, key, strlen(key));
    if (value_json)
        fprintf(r->f, ",\"value\":%s", value_json);
    fprintf(r->f, ",\"time\":%lld", (long long)t);
    if (node >= 0)
        fprintf(r->f, ",\"node\":%d", node + 1);
    if (error) {
        fputs(",\"error\":", r->f);
        tc_json_write_str(r->f, error, strlen(error));
    }
    if (fputs("}\n", r->f) < 0 && !r->err)
        r->err = errno ? errno : EIO;
    if (type != JL_INVOKE) {
        if (r->n_ops == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 4096;
            jl_oprec *v = realloc(r->ops, cap * sizeof *v);
            if (v) {
                r->ops = v;
                r->cap = cap;
            }
        }
        if (r->n_ops < r->cap)
            r->ops[r->n_ops++] = (jl_oprec){.t_call = t_call, .t_ret = t, .f = f, .outcome = type, .node = node};
    }
    pthread_mutex_unlock(&r->mu);
    return t;
}
