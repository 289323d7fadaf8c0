/* jepsen-lite: the command line.
 *
 *   jepsen-lite check --model register|set|set-full [--time-limit 60s] [--json] [--no-split] FILE|-
 *   jepsen-lite run [options]    (run.c)
 *
 * Exit codes: 0 valid, 1 invalid, 2 unknown (could not decide, e.g. the
 * time limit ran out), 3 usage or input error. */
#include <stdlib.h>
#include <string.h>

#include "jepsen.h"
#include "run.h"

enum { EXIT_USAGE = 3 };

static void usage(FILE *f) {
    fputs("usage: jepsen-lite check --model register|set|set-full [options] FILE|-\n"
          "       jepsen-lite run [--nodes 3|5] [--time 60s] [--workload register|set|sadd]\n"
          "                       [--nemesis kill,pause,partition,clock,member] [--seed N]\n"
          "                       [--out DIR] [--local] ...   (jepsen-lite run --help)\n"
          "\n"
          "Checks a history (JSON Lines, see jepsen-lite/README.md) read from FILE or\n"
          "standard input (-).\n"
          "\n"
          "options:\n"
          "  --model register|set|set-full  the model to check against (required)\n"
          "  --time-limit DURATION budget for the whole check, e.g. 30s, 500ms, 2m\n"
          "                        (default 60s); when it runs out the verdict is unknown\n"
          "  --json                print one JSON object instead of the summary\n"
          "  --no-split            register: search all keys together instead of one key at a\n"
          "                        time (same verdict, much slower; for cross-checking)\n"
          "\n"
          "exit status: 0 valid, 1 invalid, 2 unknown, 3 usage or input error\n",
          f);
}

static int usage_error(const char *fmt, const char *arg) {
    fputs("jepsen-lite: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n(jepsen-lite --help for usage)\n", stderr);
    return EXIT_USAGE;
}

double jl_parse_seconds(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v > 0) || v > 1e9)
        return -1;
    if (*end == '\0' || strcmp(end, "s") == 0)
        return v;
    if (strcmp(end, "ms") == 0)
        return v / 1000;
    if (strcmp(end, "m") == 0)
        return v * 60;
    if (strcmp(end, "h") == 0)
        return v * 3600;
    return -1;
}

static int cmd_check(int argc, char **argv) {
    const char *model = NULL, *path = NULL;
    double limit = 60;
    bool json = false, whole = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--model") == 0 || strcmp(a, "--time-limit") == 0) {
            if (i + 1 >= argc)
                return usage_error("%s needs a value", a);
            const char *v = argv[++i];
            if (a[2] == 'm') {
                model = v;
            } else if ((limit = jl_parse_seconds(v)) < 0) {
                return usage_error("bad --time-limit '%s': use e.g. 30s, 500ms, 2m", v);
            }
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--no-split") == 0) {
            whole = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option '%s'", a);
        } else if (path) {
            return usage_error("one history at a time (extra argument '%s')", a);
        } else {
            path = a;
        }
    }
    if (model == NULL)
        return usage_error("%s", "check needs --model register or --model set");
    jl_model m;
    bool realtime = false; /* set-full: the set model whose reads are all linearizable */
    if (strcmp(model, "register") == 0)
        m = JL_MODEL_REGISTER;
    else if (strcmp(model, "set") == 0 || (realtime = strcmp(model, "set-full") == 0))
        m = JL_MODEL_SET;
    else
        return usage_error("unknown model '%s': register, set or set-full", model);
    if (path == NULL)
        return usage_error("%s", "check needs a history FILE (or - for standard input)");

    jl_error err;
    jl_history *h;
    if (jl_history_load(&h, m, path, &err) != 0) {
        fprintf(stderr, "jepsen-lite: %s\n", err.msg);
        return EXIT_USAGE;
    }
    jl_check_opts opts = {.time_limit = limit, .whole = whole, .set_realtime = realtime};
    jl_result *r;
    if (jl_check(h, &opts, &r, &err) != 0) {
        fprintf(stderr, "jepsen-lite: %s\n", err.msg);
        jl_history_free(h);
        return EXIT_USAGE;
    }
    if (json)
        jl_report_json(stdout, h, r);
    else
        jl_report_text(stdout, h, r);
    int code = (int)r->verdict;
    jl_result_free(r);
    jl_history_free(h);
    if (fflush(stdout) != 0)
        return EXIT_USAGE;
    return code;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "check") == 0)
        return cmd_check(argc - 2, argv + 2);
    if (strcmp(argv[1], "run") == 0)
        return jl_cmd_run(argc - 2, argv + 2);
    return usage_error("unknown command '%s' (the commands are: check, run)", argv[1]);
}
