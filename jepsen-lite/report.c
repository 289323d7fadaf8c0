/* Reports: a summary for people and one JSON object for programs. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TAIL_SHOWN 8   /* ops of the linearizable prefix printed before the failure */
#define IDS_SHOWN 20   /* set elements printed per anomaly */
#define VALUE_SHOWN 48 /* bytes of a value printed in text */

static const char *verdict_text(jl_verdict v) {
    return v == JL_VALID ? "valid" : v == JL_INVALID ? "INVALID" : "UNKNOWN";
}

/* A value as a short quoted string; null for JL_NIL. */
static void text_value(FILE *f, const jl_history *h, uint32_t id) {
    if (id == JL_NIL) {
        fputs("null", f);
        return;
    }
    const jl_str *s = &h->values[id];
    if (s->num) {
        fwrite(s->s, 1, s->len, f); /* a number, as JSON writes it */
        return;
    }
    if (s->len <= VALUE_SHOWN) {
        tc_json_write_str(f, s->s, s->len);
        return;
    }
    tc_json_write_str(f, s->s, VALUE_SHOWN);
    fprintf(f, "...(%zu bytes)", s->len);
}

static void text_key(FILE *f, const jl_history *h, uint32_t key) {
    if (key == UINT32_MAX)
        fputs("(all keys)", f);
    else
        tc_json_write_str(f, h->keys[key].s, h->keys[key].len);
}

static void text_time(FILE *f, const jl_history *h, int64_t t) {
    if (t == JL_NO_TIME) {
        fputs("(info)     ", f);
        return;
    }
    int64_t d = t - h->t0;
    fprintf(f, "+%lld.%06llds", (long long)(d / 1000000000), (long long)(d % 1000000000 / 1000));
}

static void text_op_what(FILE *f, const jl_history *h, const jl_op *op) {
    fprintf(f, "p%-4lld %s ", (long long)op->process, jl_fn_name(op->f));
    switch (op->f) {
    case JL_READ:
        fputs("-> ", f);
        if (h->model == JL_MODEL_SET)
            fprintf(f, "[%u elements]", op->list_len);
        else
            text_value(f, h, op->a);
        break;
    case JL_WRITE:
    case JL_ADD:
        text_value(f, h, op->a);
        break;
    case JL_CAS:
        text_value(f, h, op->b);
        fputs(" if ", f);
        text_value(f, h, op->a);
        break;
    }
}

/* One op on one line: what it did, padded so the times line up. */
static void text_op(FILE *f, const jl_history *h, const jl_op *op) {
    char *what = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&what, &len);
    if (m) {
        text_op_what(m, h, op);
        fclose(m);
    }
    if (what) {
        fprintf(f, "%-36s", what);
        free(what);
    } else {
        text_op_what(f, h, op);
    }
    fputs("  ", f);
    text_time(f, h, op->t_call);
    fputs(" .. ", f);
    text_time(f, h, op->t_ret);
    fprintf(f, "  line %u", op->line_call);
}

static uint32_t state_of(const jl_key_result *k, uint32_t key) {
    for (size_t i = 0; i < k->state_keys.n; i++)
        if (k->state_keys.v[i] == key)
            return k->state.v[i];
    return JL_NIL;
}

static void text_window(FILE *f, const jl_history *h, const jl_key_result *k) {
    size_t from = k->prefix.n > TAIL_SHOWN ? k->prefix.n - TAIL_SHOWN : 0;
    if (k->prefix.n == 0)
        fputs("    no op could be linearized first.\n", f);
    else
        fprintf(f, "    the longest linearizable prefix has %zu ops; it ends with:\n", k->prefix.n);
    for (size_t i = from; i < k->prefix.n; i++) {
        fputs("      ", f);
        text_op(f, h, &h->ops[k->prefix.v[i]]);
        fputc('\n', f);
    }
    fputs("    then ", f);
    for (size_t i = 0; i < k->state_keys.n; i++) {
        fputs(i ? ", " : "", f);
        text_key(f, h, k->state_keys.v[i]);
        fputs(" = ", f);
        text_value(f, h, k->state.v[i]);
    }
    fputs(", and none of these concurrent ops can come next:\n", f);
    for (size_t i = 0; i < k->stuck.n; i++) {
        const jl_op *op = &h->ops[k->stuck.v[i]];
        uint32_t cur = state_of(k, op->key), nv;
        fputs("      ", f);
        text_op(f, h, op);
        if (!jl__register_step(op, cur, &nv)) {
            fputs("  impossible: it is ", f);
            text_value(f, h, cur);
        } else {
            fputs("  no linearization continues from it", f);
        }
        fputc('\n', f);
    }
}

static void text_ids(FILE *f, const jl_history *h, const char *what, const jl_ids *ids) {
    if (ids->n == 0)
        return;
    fprintf(f, "    %s: %zu:", what, ids->n);
    for (size_t i = 0; i < ids->n && i < IDS_SHOWN; i++) {
        fputc(' ', f);
        text_value(f, h, ids->v[i]);
    }
    if (ids->n > IDS_SHOWN)
        fprintf(f, " ... and %zu more", ids->n - IDS_SHOWN);
    fputc('\n', f);
}

void jl_report_text(FILE *f, const jl_history *h, const jl_result *r) {
    fprintf(f, "%s history: %zu ops on %zu keys, checked %sin %.3f s\n",
            r->model == JL_MODEL_REGISTER ? "register" : "set", h->n_ops, h->n_keys,
            r->whole ? "as one multi-key register " : "", r->seconds);
    for (size_t i = 0; i < r->n_keys; i++) {
        const jl_key_result *k = &r->keys[i];
        fputs("  key ", f);
        text_key(f, h, k->key);
        fprintf(f, ": %s (%zu ok, %zu fail, %zu info", verdict_text(k->verdict), k->n_ok,
                k->n_fail, k->n_info);
        if (r->model == JL_MODEL_REGISTER)
            fprintf(f, "; %llu configurations", (unsigned long long)k->configs);
        else
            fprintf(f, "; %zu adds attempted, %zu acknowledged, %zu final reads", k->n_attempted,
                    k->n_acked, k->n_final_reads);
        fprintf(f, "; %.3f s)", k->seconds);
        if (k->verdict == JL_UNKNOWN)
            fprintf(f, ": %s", k->unknown_why);
        fputc('\n', f);
        if (r->model == JL_MODEL_REGISTER && k->verdict == JL_INVALID)
            text_window(f, h, k);
        text_ids(f, h, "lost (acknowledged, absent from every final read)", &k->lost);
        text_ids(f, h, "unexpected (read, never attempted)", &k->unexpected);
        text_ids(f, h, "failed yet present (the add failed, the element was read)",
                 &k->failed_present);
        text_ids(f, h, "stale (known present, missing from a later read)", &k->stale);
        text_ids(f, h, "recovered (indeterminate add, present)", &k->recovered);
        text_ids(f, h, "lost-unknown (indeterminate add, absent: allowed)", &k->lost_unknown);
        text_ids(f, h, "divergent (present in some final reads, absent from others)",
                 &k->divergent);
    }
    fprintf(f, "verdict: %s\n", r->verdict == JL_VALID     ? "valid"
                                : r->verdict == JL_INVALID ? "INVALID"
                                                           : "unknown");
}

/* ------------------------------------------------------------ JSON */

static void json_value(FILE *f, const jl_history *h, uint32_t id) {
    if (id == JL_NIL)
        fputs("null", f);
    else if (h->values[id].num)
        fwrite(h->values[id].s, 1, h->values[id].len, f);
    else
        tc_json_write_str(f, h->values[id].s, h->values[id].len);
}

static void json_key(FILE *f, const jl_history *h, uint32_t key) {
    if (key == UINT32_MAX)
        fputs("null", f);
    else
        tc_json_write_str(f, h->keys[key].s, h->keys[key].len);
}

static void json_verdict(FILE *f, jl_verdict v) {
    fputs(v == JL_VALID ? "true" : v == JL_INVALID ? "false" : "\"unknown\"", f);
}

static void json_op(FILE *f, const jl_history *h, const jl_op *op) {
    fprintf(f, "{\"process\":%lld,\"f\":\"%s\",\"key\":", (long long)op->process,
            jl_fn_name(op->f));
    json_key(f, h, op->key);
    fputs(",\"value\":", f);
    switch (op->f) {
    case JL_READ:
        if (h->model == JL_MODEL_REGISTER) {
            json_value(f, h, op->a);
        } else {
            fputc('[', f);
            for (uint32_t i = 0; i < op->list_len; i++) {
                fputs(i ? "," : "", f);
                json_value(f, h, h->lists[op->list_off + i]);
            }
            fputc(']', f);
        }
        break;
    case JL_WRITE:
    case JL_ADD:
        json_value(f, h, op->a);
        break;
    case JL_CAS:
        fputc('[', f);
        json_value(f, h, op->a);
        fputc(',', f);
        json_value(f, h, op->b);
        fputc(']', f);
        break;
    }
    fprintf(f, ",\"type\":\"%s\",\"invoke\":%lld,\"complete\":", jl_type_name(op->outcome),
            (long long)(op->t_call - h->t0));
    if (op->t_ret == JL_NO_TIME)
        fputs("null", f);
    else
        fprintf(f, "%lld", (long long)(op->t_ret - h->t0));
    fprintf(f, ",\"line\":%u}", op->line_call);
}

static void json_ops(FILE *f, const jl_history *h, const jl_ids *ids, size_t from) {
    fputc('[', f);
    for (size_t i = from; i < ids->n; i++) {
        fputs(i > from ? "," : "", f);
        json_op(f, h, &h->ops[ids->v[i]]);
    }
    fputc(']', f);
}

static void json_ids(FILE *f, const jl_history *h, const jl_ids *ids) {
    fputc('[', f);
    for (size_t i = 0; i < ids->n; i++) {
        fputs(i ? "," : "", f);
        json_value(f, h, ids->v[i]);
    }
    fputc(']', f);
}

/* One anomaly object per list that is not empty; *first tracks commas. */
static void json_set_anomaly(FILE *f, const jl_history *h, const jl_key_result *k,
                             const char *type, const jl_ids *ids, bool *first) {
    if (ids->n == 0)
        return;
    fputs(*first ? "" : ",", f);
    *first = false;
    fprintf(f, "{\"type\":\"%s\",\"key\":", type);
    json_key(f, h, k->key);
    fputs(",\"elements\":", f);
    json_ids(f, h, ids);
    fputc('}', f);
}

void jl_report_json(FILE *f, const jl_history *h, const jl_result *r) {
    fputs("{\"valid\":", f);
    json_verdict(f, r->verdict);
    fprintf(f, ",\"model\":\"%s\",\"split\":%s,\"ops\":%zu,\"elapsed_us\":%lld,\"keys\":[",
            r->model == JL_MODEL_REGISTER ? "register" : "set", r->whole ? "false" : "true",
            h->n_ops, (long long)(r->seconds * 1e6));
    for (size_t i = 0; i < r->n_keys; i++) {
        const jl_key_result *k = &r->keys[i];
        fputs(i ? "," : "", f);
        fputs("{\"key\":", f);
        json_key(f, h, k->key);
        fputs(",\"valid\":", f);
        json_verdict(f, k->verdict);
        fprintf(f, ",\"ok\":%zu,\"fail\":%zu,\"info\":%zu,\"elapsed_us\":%lld", k->n_ok,
                k->n_fail, k->n_info, (long long)(k->seconds * 1e6));
        if (r->model == JL_MODEL_REGISTER)
            fprintf(f, ",\"configurations\":%llu", (unsigned long long)k->configs);
        else
            fprintf(f,
                    ",\"attempted\":%zu,\"acknowledged\":%zu,\"final_reads\":%zu,\"lost\":%zu,"
                    "\"unexpected\":%zu,\"failed_present\":%zu,\"recovered\":%zu,"
                    "\"lost_unknown\":%zu,\"divergent\":%zu,\"stale\":%zu,\"stale_reads\":%zu",
                    k->n_attempted, k->n_acked, k->n_final_reads, k->lost.n, k->unexpected.n,
                    k->failed_present.n, k->recovered.n, k->lost_unknown.n, k->divergent.n,
                    k->stale.n, k->n_stale_reads);
        if (k->verdict == JL_UNKNOWN) {
            fputs(",\"unknown\":", f);
            tc_json_write_str(f, k->unknown_why, strlen(k->unknown_why));
        }
        fputc('}', f);
    }
    fputs("],\"anomalies\":[", f);
    bool first = true;
    for (size_t i = 0; i < r->n_keys; i++) {
        const jl_key_result *k = &r->keys[i];
        if (r->model == JL_MODEL_SET) {
            json_set_anomaly(f, h, k, "lost", &k->lost, &first);
            json_set_anomaly(f, h, k, "unexpected", &k->unexpected, &first);
            json_set_anomaly(f, h, k, "failed-present", &k->failed_present, &first);
            json_set_anomaly(f, h, k, "stale", &k->stale, &first);
            continue;
        }
        if (k->verdict != JL_INVALID)
            continue;
        fputs(first ? "" : ",", f);
        first = false;
        fputs("{\"type\":\"nonlinearizable\",\"key\":", f);
        json_key(f, h, k->key);
        fprintf(f, ",\"prefix_length\":%zu,\"state\":{", k->prefix.n);
        for (size_t s = 0; s < k->state_keys.n; s++) {
            fputs(s ? "," : "", f);
            json_key(f, h, k->state_keys.v[s]);
            fputc(':', f);
            json_value(f, h, k->state.v[s]);
        }
        fputs("},\"prefix_tail\":", f);
        json_ops(f, h, &k->prefix, k->prefix.n > TAIL_SHOWN ? k->prefix.n - TAIL_SHOWN : 0);
        fputs(",\"stuck\":", f);
        json_ops(f, h, &k->stuck, 0);
        fputc('}', f);
    }
    fputs("]", f);
    if (r->model == JL_MODEL_SET) {
        /* information, not anomalies */
        fputs(",\"info\":[", f);
        first = true;
        for (size_t i = 0; i < r->n_keys; i++) {
            const jl_key_result *k = &r->keys[i];
            json_set_anomaly(f, h, k, "recovered", &k->recovered, &first);
            json_set_anomaly(f, h, k, "lost-unknown", &k->lost_unknown, &first);
            json_set_anomaly(f, h, k, "divergent", &k->divergent, &first);
        }
        fputs("]", f);
    }
    fputs("}\n", f);
}
