/* report.html: one self-contained page (no external JS or CSS) with the
 * verdict, the faults, and two SVG plots drawn here: the latency of every
 * op over time coloured by outcome, and throughput per second, with the
 * faults shaded behind both. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

#define W 1000
#define H 300
#define ML 60 /* margins */
#define MR 20
#define MT 20
#define MB 40
#define PW (W - ML - MR)
#define PH (H - MT - MB)

static const char *const outcome_colour[] = {"#888", "#2a9d3a", "#e69500", "#d62728"}; /* -, ok, fail, info */
static const char *const fault_colour[JL_F_NKINDS] = {"#f4c7c3", "#c6dbef", "#fde9a9", "#d9c6ef", "#c7e9c0",
                                                      "#d9d9d9", "#fdd0a2"};

static void html_escape(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '"')
            fputs("&quot;", f);
        else
            fputc(*s, f);
    }
}

static double x_of(double t_s, double span_s) { return ML + PW * (t_s / span_s); }

/* Fault bands and the time axis, shared by both plots. */
static void frame(FILE *f, const jl_run_info *ri, double span_s) {
    for (size_t i = 0; i < ri->n_faults; i++) {
        const jl_fault *ft = &ri->faults[i];
        if (!ft->t_start)
            continue;
        double a = x_of(ft->t_start / 1e9, span_s);
        double b = x_of((ft->t_end ? ft->t_end : ri->t_end) / 1e9, span_s);
        fprintf(f, "<rect x='%.1f' y='%d' width='%.1f' height='%d' fill='%s'><title>", a, MT, b - a < 1 ? 1 : b - a,
                PH, fault_colour[ft->kind]);
        html_escape(f, ft->what);
        fprintf(f, "</title></rect>\n<text x='%.1f' y='%d' font-size='10' fill='#555'>%s</text>\n", a + 2, MT + 10,
                jl_fault_names[ft->kind]);
    }
    fprintf(f, "<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#333'/>\n", ML, MT, PW, PH);
    int step = span_s > 120 ? 20 : span_s > 40 ? 10 : 5;
    for (int t = 0; t <= span_s; t += step) {
        double x = x_of(t, span_s);
        fprintf(f, "<line x1='%.1f' y1='%d' x2='%.1f' y2='%d' stroke='#333'/>"
                   "<text x='%.1f' y='%d' font-size='11' text-anchor='middle'>%ds</text>\n",
                x, MT + PH, x, MT + PH + 4, x, MT + PH + 16, t);
    }
}

static void latency_plot(FILE *f, const jl_run_info *ri, double span_s) {
    /* log scale, 0.1 ms .. 10 s */
    const double lo = log10(0.1), hi = log10(10000);
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif'>\n", W, H);
    frame(f, ri, span_s);
    for (int e = -1; e <= 4; e++) {
        double y = MT + PH - PH * (e - lo) / (hi - lo);
        const char *lab[] = {"0.1ms", "1ms", "10ms", "100ms", "1s", "10s"};
        fprintf(f, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ddd'/>"
                   "<text x='%d' y='%.1f' font-size='11' text-anchor='end'>%s</text>\n",
                ML, y, ML + PW, y, ML - 4, y + 4, lab[e + 1]);
    }
    /* ok first so that failures are drawn on top */
    static const jl_type order[] = {JL_OK, JL_FAIL, JL_INFO};
    for (int k = 0; k < 3; k++) {
        fprintf(f, "<g fill='%s' fill-opacity='0.6'>\n", outcome_colour[order[k]]);
        for (size_t i = 0; i < ri->rec->n_ops; i++) {
            const jl_oprec *o = &ri->rec->ops[i];
            if (o->outcome != order[k])
                continue;
            double ms = (o->t_ret - o->t_call) / 1e6;
            double l = log10(ms < 0.1 ? 0.1 : ms > 10000 ? 10000 : ms);
            fprintf(f, "<circle cx='%.1f' cy='%.1f' r='1.6'/>", x_of(o->t_call / 1e9, span_s),
                    MT + PH - PH * (l - lo) / (hi - lo));
        }
        fputs("\n</g>\n", f);
    }
    fprintf(f, "<text x='14' y='%d' font-size='11' transform='rotate(-90 14 %d)' text-anchor='middle'>latency</text>\n",
            MT + PH / 2, MT + PH / 2);
    fputs("</svg>\n", f);
}

static void throughput_plot(FILE *f, const jl_run_info *ri, double span_s) {
    int nb = (int)ceil(span_s) + 1;
    long *b = calloc((size_t)nb * 4, sizeof *b);
    if (!b)
        return;
    long max = 1;
    for (size_t i = 0; i < ri->rec->n_ops; i++) {
        const jl_oprec *o = &ri->rec->ops[i];
        int s = (int)(o->t_ret / 1000000000);
        if (s >= 0 && s < nb && ++b[s * 4 + o->outcome] > max)
            max = b[s * 4 + o->outcome];
    }
    fprintf(f, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif'>\n", W, H);
    frame(f, ri, span_s);
    for (int k = 0; k <= 4; k++) {
        double y = MT + PH - PH * k / 4.0;
        fprintf(f, "<line x1='%d' y1='%.1f' x2='%d' y2='%.1f' stroke='#ddd'/>"
                   "<text x='%d' y='%.1f' font-size='11' text-anchor='end'>%ld</text>\n",
                ML, y, ML + PW, y, ML - 4, y + 4, max * k / 4);
    }
    for (int t = JL_OK; t <= JL_INFO; t++) {
        fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='1.5' points='", outcome_colour[t]);
        for (int s = 0; s < nb; s++)
            fprintf(f, "%.1f,%.1f ", x_of(s + 0.5 < span_s ? s + 0.5 : span_s, span_s),
                    MT + PH - PH * (double)b[s * 4 + t] / (double)max);
        fputs("'/>\n", f);
    }
    fprintf(f, "<text x='14' y='%d' font-size='11' transform='rotate(-90 14 %d)' text-anchor='middle'>ops/s</text>\n",
            MT + PH / 2, MT + PH / 2);
    fputs("</svg>\n", f);
    free(b);
}

static void legend(FILE *f) {
    fputs("<p class='legend'>", f);
    static const char *const names[] = {"", "ok", "fail", "info (unknown)"};
    for (int t = JL_OK; t <= JL_INFO; t++)
        fprintf(f, "<span style='color:%s'>&#9679; %s</span> ", outcome_colour[t], names[t]);
    for (int k = 0; k < JL_F_NKINDS; k++)
        fprintf(f, "<span style='background:%s'>&nbsp;%s&nbsp;</span> ", fault_colour[k], jl_fault_names[k]);
    fputs("</p>\n", f);
}

static void ms_cell(FILE *f, int64_t ns) {
    if (ns < 0)
        fputs("<td>-</td>", f);
    else
        fprintf(f, "<td>%lld ms</td>", (long long)(ns / 1000000));
}

int jl_write_html(const jl_run_info *ri, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    const char *v = ri->verdict == JL_VALID ? "valid" : ri->verdict == JL_INVALID ? "INVALID" : "unknown";
    fprintf(f, "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>jepsen-lite: %s</title>\n"
               "<style>body{font-family:sans-serif;margin:2em;max-width:1060px}"
               "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
               ".valid{color:#2a9d3a}.INVALID{color:#d62728}.unknown{color:#e69500}"
               "pre{background:#f6f6f6;padding:1em;overflow:auto}.legend span{margin-right:1em}</style>\n"
               "</head><body>\n<h1>jepsen-lite: <span class='%s'>%s</span></h1>\n",
            v, v, v);
    fprintf(f, "<p>workload <b>%s</b>, %d nodes%s, %d clients, %.0f s, seed %llu, nemesis %s%s</p>\n", ri->workload,
            ri->n_nodes, ri->local ? " on loopback (--local)" : " in network namespaces", ri->concurrency,
            ri->time_s, (unsigned long long)ri->seed, ri->nemesis,
            ri->inject_stale ? ", <b>stale reads injected (test)</b>" : "");
    long tot[4] = {0};
    for (size_t i = 0; i < ri->rec->n_ops; i++)
        tot[ri->rec->ops[i].outcome]++;
    fprintf(f, "<p>%zu ops: %ld ok, %ld fail, %ld info. Replica reads: %ld, stale: %ld.</p>\n", ri->rec->n_ops,
            tot[JL_OK], tot[JL_FAIL], tot[JL_INFO], ri->n_replica_reads, ri->stale_replica_reads);
    fputs("<h2>Faults</h2>\n<table><tr><th>fault</th><th>start</th><th>end</th><th>writes again after heal</th>"
          "<th>longest write gap</th><th>member: removed after</th><th>member: a voter again after heal</th></tr>\n",
          f);
    for (size_t i = 0; i < ri->n_faults; i++) {
        const jl_fault *ft = &ri->faults[i];
        fputs("<tr><td>", f);
        html_escape(f, ft->what[0] ? ft->what : "not started");
        fprintf(f, "</td><td>%.2f s</td><td>%.2f s</td>", ft->t_start / 1e9, ft->t_end / 1e9);
        ms_cell(f, jl_fault_recovery(ri, ft));
        ms_cell(f, jl_fault_write_gap(ri, ft));
        ms_cell(f, ft->t_removed && ft->t_start ? ft->t_removed - ft->t_start : -1);
        ms_cell(f, ft->t_voter_again && ft->t_end ? ft->t_voter_again - ft->t_end : -1);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n", f);
    double span_s = ri->t_end / 1e9;
    for (size_t i = 0; i < ri->rec->n_ops; i++)
        if (ri->rec->ops[i].t_ret / 1e9 > span_s)
            span_s = ri->rec->ops[i].t_ret / 1e9;
    if (span_s < 1)
        span_s = 1;
    fputs("<h2>Latency of every op (by invoke time)</h2>\n", f);
    legend(f);
    latency_plot(f, ri, span_s);
    fputs("<h2>Throughput (completions per second)</h2>\n", f);
    throughput_plot(f, ri, span_s);
    fputs("<h2>Checker</h2>\n<pre>", f);
    if (ri->res) {
        char *text = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&text, &len);
        if (m) {
            jl_report_text(m, ri->h, ri->res);
            fclose(m);
            html_escape(f, text ? text : "");
            free(text);
        }
    } else {
        fputs("the history could not be checked", f);
    }
    fputs("</pre>\n</body></html>\n", f);
    return fclose(f) == 0 ? 0 : -1;
}
