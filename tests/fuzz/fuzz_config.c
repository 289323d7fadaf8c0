/* libFuzzer target: cluster.toml text comes from operators and deploy
 * tooling, so any bytes must give a config or an error - never a crash, an
 * out-of-bounds read or a leak.
 *
 * The input is passed as is (not NUL-terminated, may hold NUL bytes), so
 * ASan catches any read past `size`. After a successful parse the result is
 * also run through CONFIG GET, and the input's first line is tried as a
 * CONFIG SET name/value pair and with the size/duration helpers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_redis.h"
#include "server.h"

static void count_emit(void *ud, const char *name, const char *value)
{
    size_t *total = ud;
    *total += strlen(name) + strlen(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tc_config c; /* ~18 KB: keep it off the fuzzer's stack */
    char err[512];

    if (tc_config_parse(&c, "fuzz.toml", (const char *)data, size, err, sizeof err) == 0) {
        size_t total = 0;
        tc_config_get(&c, "*", count_emit, &total);
    } else if (strncmp(err, "fuzz.toml:", 10) != 0 || !strstr(err, "\n  hint: ")) {
        abort(); /* every parse error must be "<file>:<line>: <message>\n  hint: <hint>" */
    }

    /* first line as "name value" for CONFIG SET and the helpers */
    size_t n = 0;
    while (n < size && n < 512 && data[n] != '\n') n++;
    char *line = malloc(n + 1);
    if (!line) return 0;
    memcpy(line, data, n);
    line[n] = '\0';
    char *value = strchr(line, ' ');
    if (value) *value++ = '\0';
    uint64_t v;
    tc_parse_size(line, &v);
    tc_parse_duration_ms(line, &v);
    tc_config_defaults(&c);
    tc_config_set(&c, line, value ? value : "", err, sizeof err);
    free(line);

    /* CONFIG SET <name> <value> then CONFIG GET <name> and *, binary-safe */
    static tc_server s; /* no networking: cfg, self and data_dir are all CONFIG reads */
    memset(&s, 0, sizeof s);
    tc_config_defaults(&s.cfg);
    const uint8_t *sp = memchr(data, ' ', n);
    tc_slice args[2] = {{(const char *)data, sp ? (size_t)(sp - data) : n},
                        {sp ? (const char *)sp + 1 : "", sp ? n - (size_t)(sp - data) - 1 : 0}};
    char serr[1024];
    int set = tc_config_cmd_set(&s, 2, args, serr, sizeof serr);
    if (set != 0 && strncmp(serr, "ERR ", 4) != 0) abort(); /* errors are Redis's "ERR ..." */
    size_t npairs;
    char **kv = tc_config_cmd_get(&s, 1, &args[0], &npairs);
    tc_config_pairs_free(kv, npairs);
    if (set == 0) { /* what was stored, rendered with everything else */
        tc_slice star = {"*", 1};
        kv = tc_config_cmd_get(&s, 1, &star, &npairs);
        tc_config_pairs_free(kv, npairs);
    }
    tc_rconf_free(s.rconf);
    return 0;
}
