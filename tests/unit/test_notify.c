/* node/notify.c: notify-keyspace-events letters, the channels an event goes
 * to, the keyspace's expired/new hooks, and the setting through CONFIG SET
 * and cluster.toml. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "notify.h"
#include "pubsub.h"

static void test_letters(void **state)
{
    (void)state;
    assert_int_equal(tc_notify_parse(""), 0);
    assert_int_equal(tc_notify_parse("K"), TC_NOTIFY_KEYSPACE);
    assert_int_equal(tc_notify_parse("Ex"), TC_NOTIFY_KEYEVENT | TC_NOTIFY_EXPIRED);
    assert_int_equal(tc_notify_parse("A"), TC_NOTIFY_ALL);
    /* A leaves out K, E, m and n, as in Redis */
    assert_int_equal(tc_notify_parse("A") & (TC_NOTIFY_KEYSPACE | TC_NOTIFY_KEYEVENT | TC_NOTIFY_KEY_MISS | TC_NOTIFY_NEW),
                     0);
    assert_int_equal(tc_notify_parse("g$lshzxetd"), TC_NOTIFY_ALL);
    assert_int_equal(tc_notify_parse("Q"), -1);
    assert_int_equal(tc_notify_parse("KE "), -1);
    assert_int_equal(tc_notify_parse("a"), -1); /* letters are case-sensitive */

    char out[TC_NOTIFY_LETTERS_MAX];
    static const char *const cases[][2] = {
        {"", ""},          {"KEA", "AKE"},   {"Ex", "xE"},     {"Kn", "nK"}, {"g$lshzxetd", "A"},
        {"Agm", "Am"},     {"An", "A"},      {"mEK", "KEm"},   {"zhsl$g", "g$lshz"},
        {"AKEmn", "AKEm"}, {"dtexn", "xetdn"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tc_notify_render(tc_notify_parse(cases[i][0]), out);
        assert_string_equal(out, cases[i][1]);
    }
    /* every class at once fits the buffer */
    tc_notify_render(tc_notify_parse("KEg$lshzxetmdn"), out);
    assert_string_equal(out, "AKEm");
}

static void test_channels(void **state)
{
    (void)state;
    char stack[32], *ch;
    size_t n = tc_notify_channel(&ch, stack, sizeof stack, 1, 0, "user:1", 6);
    assert_int_equal(n, strlen("__keyspace@0__:user:1"));
    assert_memory_equal(ch, "__keyspace@0__:user:1", n);
    assert_ptr_equal(ch, stack);
    n = tc_notify_channel(&ch, stack, sizeof stack, 0, 15, "expired", 7);
    assert_memory_equal(ch, "__keyevent@15__:expired", n);
    /* binary key names, and the empty one */
    n = tc_notify_channel(&ch, stack, sizeof stack, 1, 0, "a\0b", 3);
    assert_int_equal(n, 18);
    assert_memory_equal(ch, "__keyspace@0__:a\0b", 18);
    n = tc_notify_channel(&ch, stack, sizeof stack, 1, 0, "", 0);
    assert_memory_equal(ch, "__keyspace@0__:", n);
    /* a long key goes to the heap */
    char big[300];
    memset(big, 'k', sizeof big);
    n = tc_notify_channel(&ch, stack, sizeof stack, 1, 0, big, sizeof big);
    assert_int_equal(n, 15 + sizeof big);
    assert_ptr_not_equal(ch, stack);
    assert_memory_equal(ch + 15, big, sizeof big);
    free(ch);
}

/* What a keyspace told its owner, as text: "expired:k new:k replaced:k ". */
typedef struct heard {
    char log[512];
} heard;

static void on_expired(const tc_ks_events *ev, const char *key, size_t klen)
{
    heard *h = ev->ud;
    size_t o = strlen(h->log);
    snprintf(h->log + o, sizeof h->log - o, "expired:%.*s ", (int)klen, key);
}

static void on_added(const tc_ks_events *ev, const char *key, size_t klen, const tc_key *replaced)
{
    heard *h = ev->ud;
    size_t o = strlen(h->log);
    snprintf(h->log + o, sizeof h->log - o, "%s:%.*s ", replaced ? "replaced" : "new", (int)klen, key);
}

static void test_keyspace_hooks(void **state)
{
    (void)state;
    heard h = {""};
    tc_keyspace ks;
    tc_ks_init(&ks, 1, 2);
    ks.events = (tc_ks_events){.ud = &h, .expired = on_expired, .added = on_added};
    tc_ks_set(&ks, "a", 1, "1", 1, 0);
    tc_ks_set(&ks, "a", 1, "2", 1, 0);
    tc_ks_set(&ks, "b", 1, "1", 1, 100);
    tc_ks_set(&ks, "c", 1, "1", 1, 100);
    tc_ks_set(&ks, "d", 1, "1", 1, 100);
    assert_string_equal(h.log, "new:a replaced:a new:b new:c new:d ");
    h.log[0] = '\0';
    /* a plain delete says nothing (the command names it) */
    tc_ks_delete(&ks, "a", 1);
    assert_string_equal(h.log, "");
    /* lazy expiry on access, the replicated sweep's delete, active expiry */
    assert_null(tc_ks_find(&ks, "b", 1, 200));
    assert_int_equal(tc_ks_delete_if_expired(&ks, "c", 1, 200), 1);
    assert_int_equal(tc_ks_expire_cycle(&ks, 200, 100), 1);
    assert_string_equal(h.log, "expired:b expired:c expired:d ");
    assert_int_equal(ks.expired_keys, 3);
    /* a replica hides an expired key: nothing is deleted, nothing said */
    h.log[0] = '\0';
    ks.lazy_delete = 0;
    tc_ks_set(&ks, "e", 1, "1", 1, 100);
    assert_null(tc_ks_find(&ks, "e", 1, 200));
    assert_string_equal(h.log, "new:e ");
    /* a flush keeps the hooks; a keyspace made like this one has none */
    tc_ks_flush(&ks);
    assert_ptr_equal(ks.events.ud, &h);
    tc_keyspace other;
    tc_ks_init_like(&other, &ks);
    assert_null(other.events.added);
    assert_null(other.events.expired);
    tc_ks_free(&other);
    tc_ks_free(&ks);
}

/* The node's setting: CONFIG SET changes the classes the node reads. */
static void test_config_set(void **state)
{
    fx *f = *state;
    assert_int_equal(f->srv.cfg.notify_classes, 0);
    assert_string_equal(fx_run(f, "config", "set", "notify-keyspace-events", "Ex", NULL), "+OK\r\n");
    assert_int_equal(f->srv.cfg.notify_classes, TC_NOTIFY_KEYEVENT | TC_NOTIFY_EXPIRED);
    assert_string_equal(fx_run(f, "config", "get", "notify-keyspace-events", NULL),
                        "*2\r\n$22\r\nnotify-keyspace-events\r\n$2\r\nxE\r\n");
    assert_string_equal(fx_run(f, "config", "set", "notify-keyspace-events", "Ez", NULL), "+OK\r\n");
    assert_int_equal(f->srv.cfg.notify_classes, TC_NOTIFY_KEYEVENT | TC_NOTIFY_ZSET);
    /* a bad letter changes nothing */
    const char *r = fx_run(f, "config", "set", "notify-keyspace-events", "Ey", NULL);
    assert_non_null(strstr(r, "Invalid event class character"));
    assert_int_equal(f->srv.cfg.notify_classes, TC_NOTIFY_KEYEVENT | TC_NOTIFY_ZSET);
    /* key misses are looked for only while class m is on */
    assert_null(f->srv.dbs[0].events.missed);
    assert_string_equal(fx_run(f, "config", "set", "notify-keyspace-events", "Em", NULL), "+OK\r\n");
    assert_non_null(f->srv.dbs[0].events.missed);
    assert_string_equal(fx_run(f, "config", "set", "notify-keyspace-events", "", NULL), "+OK\r\n");
    assert_int_equal(f->srv.cfg.notify_classes, 0);
    assert_null(f->srv.dbs[0].events.missed);
    assert_non_null(f->srv.dbs[0].events.expired);
}

/* The node counts subscriptions, so an event with nobody subscribed costs
 * no channel building and no walk over the clients. */
static void test_subscription_count(void **state)
{
    fx *f = *state;
    assert_int_equal(f->srv.pubsub_subscriptions, 0);
    fx_run(f, "subscribe", "a", "b", "a", NULL);
    assert_int_equal(f->srv.pubsub_subscriptions, 2);
    fx_run(f, "psubscribe", "__key*__:*", NULL);
    assert_int_equal(f->srv.pubsub_subscriptions, 3);
    fx_run(f, "unsubscribe", "a", "nope", NULL);
    assert_int_equal(f->srv.pubsub_subscriptions, 2);
    fx_run(f, "punsubscribe", NULL);
    assert_int_equal(f->srv.pubsub_subscriptions, 1);
    fx_run(f, "psubscribe", "x*", "y*", NULL);
    assert_int_equal(f->srv.pubsub_subscriptions, 3);
    tc_pubsub_unsubscribe_all(&f->client); /* a closing client */
    assert_int_equal(f->srv.pubsub_subscriptions, 0);
}

/* cluster.toml: the letters are checked and normalised at load. */
static void test_toml(void **state)
{
    (void)state;
    static const char NODE[] = "[[node]]\nid = 1\nzone = \"a\"\nclient_addr = \"127.0.0.1:7001\"\n"
                               "raft_addr = \"127.0.0.1:7101\"\n";
    char text[512], err[1024];
    tc_config c;
    snprintf(text, sizeof text, "notify_keyspace_events = \"Ex\"\n%s", NODE);
    assert_int_equal(tc_config_parse(&c, "t.toml", text, strlen(text), err, sizeof err), 0);
    assert_string_equal(c.notify_keyspace_events, "xE");
    assert_int_equal(c.notify_classes, TC_NOTIFY_KEYEVENT | TC_NOTIFY_EXPIRED);
    snprintf(text, sizeof text, "notify_keyspace_events = \"Exq\"\n%s", NODE);
    assert_int_equal(tc_config_parse(&c, "t.toml", text, strlen(text), err, sizeof err), -1);
    assert_non_null(strstr(err, "notify_keyspace_events"));
    assert_non_null(strstr(err, "may only contain the letters"));
    tc_config_defaults(&c);
    assert_int_equal(c.notify_classes, 0);
    assert_string_equal(c.notify_keyspace_events, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_letters),
        cmocka_unit_test(test_channels),
        cmocka_unit_test(test_keyspace_hooks),
        cmocka_unit_test_setup_teardown(test_config_set, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_subscription_count, fx_setup, fx_teardown),
        cmocka_unit_test(test_toml),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
