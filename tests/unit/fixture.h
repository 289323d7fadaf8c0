/* A node without networking for command tests: a tc_server built from the
 * default configuration, one pretend client, and a clock the test sets. */
#ifndef TC_TEST_FIXTURE_H
#define TC_TEST_FIXTURE_H

#include "server.h"

typedef struct fx {
    tc_server srv;
    tc_client client; /* not connected: only its session fields are used */
    tc_buf out;
    int64_t now_ms;
} fx;

/* cmocka setup/teardown: *state becomes a fx*. */
int fx_setup(void **state);
int fx_teardown(void **state);

/* Runs a command (NULL-terminated arguments) and returns the raw RESP reply,
 * valid until the next call. */
const char *fx_run(fx *f, const char *arg0, ...) __attribute__((sentinel));
/* Same with explicit lengths (binary arguments). */
const char *fx_runv(fx *f, size_t argc, const char **argv, const size_t *lens);

#endif
