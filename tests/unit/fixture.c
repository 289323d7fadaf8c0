#include "fixture.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "multi.h"
#include "pubsub.h"

int fx_setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    if (!f) return -1;
    tc_config cfg;
    tc_config_defaults(&cfg);
    cfg.nnodes = 1;
    cfg.nodes[0].id = 1;
    strcpy(cfg.nodes[0].zone, "zone-a");
    strcpy(cfg.nodes[0].client_host, "127.0.0.1");
    cfg.nodes[0].client_port = 7001;
    char err[256];
    if (tc_server_init(&f->srv, &cfg, 1, err, sizeof err) != 0) {
        free(f);
        return -1;
    }
    f->client.srv = &f->srv;
    f->client.id = 1;
    f->client.resp = 2;
    f->client.authenticated = 1;
    f->now_ms = 1700000000000LL; /* a fixed instant: expiry tests move it */
    *state = f;
    return 0;
}

int fx_teardown(void **state)
{
    fx *f = *state;
    tc_multi_client_gone(&f->client); /* a test may leave a transaction open; its watches live in srv */
    tc_server_free(&f->srv);
    tc_buf_free(&f->out);
    free(f->client.name);
    tc_pubsub_unsubscribe_all(&f->client);
    free(f);
    return 0;
}

const char *fx_runv(fx *f, size_t argc, const char **argv, const size_t *lens)
{
    tc_slice v[64];
    for (size_t i = 0; i < argc && i < 64; i++) {
        v[i].p = argv[i];
        v[i].len = lens ? lens[i] : strlen(argv[i]);
    }
    f->out.len = 0;
    tc_reply r = {&f->out, f->client.resp};
    f->srv.current = &f->client; /* as while a connection runs a command */
    tc_server_execute(&f->srv, &f->client, argc, v, &r, f->now_ms);
    f->srv.current = NULL;
    tc_buf_append(&f->out, "", 1); /* NUL-terminate for string asserts */
    f->out.len--;
    return f->out.data;
}

const char *fx_run(fx *f, const char *arg0, ...)
{
    const char *argv[64];
    size_t argc = 0;
    va_list ap;
    va_start(ap, arg0);
    for (const char *a = arg0; a && argc < 64; a = va_arg(ap, const char *)) argv[argc++] = a;
    va_end(ap);
    return fx_runv(f, argc, argv, NULL);
}
