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

char *jl_json_quote(const char *s) {
    size_t cap = strlen(s) * 6 + 3, n = 0;
    char *o = malloc(cap);
    if (!o)
        return NULL;
    o[n++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            o[n++] = '\\';
            o[n++] = (char)*p;
        } else if (*p < 0x20 || *p >= 0x7f) {
            /* Our values are ASCII; anything else (server error text) is
             * escaped byte by byte so the line stays valid JSON. */
            n += (size_t)snprintf(o + n, cap - n, "\\u%04x", *p);
        } else {
            o[n++] = (char)*p;
        }
    }
    o[n++] = '"';
    o[n] = '\0';
    return o;
}

int64_t jl_recorder_event(jl_recorder *r, int64_t process, jl_type type, jl_fn f, const char *key,
                          const char *value_json, int node, const char *error, int64_t t_call) {
    char *qkey = jl_json_quote(key);
    char *qerr = error ? jl_json_quote(error) : NULL;
    pthread_mutex_lock(&r->mu);
    int64_t t = jl_now_ns() - r->t0;
    if (t < 0)
        t = 0;
    fprintf(r->f, "{\"process\":%lld,\"type\":\"%s\",\"f\":\"%s\",\"key\":%s", (long long)process,
            jl_type_name(type), jl_fn_name(f), qkey ? qkey : "\"?\"");
    if (value_json)
        fprintf(r->f, ",\"value\":%s", value_json);
    fprintf(r->f, ",\"time\":%lld", (long long)t);
    if (node >= 0)
        fprintf(r->f, ",\"node\":%d", node + 1);
    if (qerr)
        fprintf(r->f, ",\"error\":%s", qerr);
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
    free(qkey);
    free(qerr);
    return t;
}
