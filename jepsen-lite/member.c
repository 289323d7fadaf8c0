/* The member fault's two halves: a node leaves the Raft voter set and comes
 * back, the way an operator would do it, over the wire. MEMBERS REMOVE <id>
 * and MEMBERS ADD <id> go to the current primary and answer +OK once the
 * change is committed (ADD first catches the node up as a non-voter, then
 * makes it a voter); MEMBERS LIST tells where a change whose reply was lost
 * stands. The node keeps running on its data directory throughout.
 *
 * A configuration the primary lists may not be committed yet (a leader uses
 * a new configuration as soon as it appends it). So a change is taken as
 * done on a +OK, or when the list shows it and a write on the same primary
 * then commits: that write comes after the configuration in the log. */
#include <string.h>

#include "run.h"

#define LIST_TIMEOUT_MS 1000
#define CHANGE_TIMEOUT_MS 3000 /* REMOVE: one configuration entry */
#define ADD_TIMEOUT_MS 10000   /* ADD: catch-up, then a configuration entry */
#define RETRY_MS 200

static void describe(char *why, size_t len, int p, const char *what, int rc, const tc_rc_reply *r) {
    if (rc == 0 && r->type == TC_RC_ERROR)
        snprintf(why, len, "%s on n%d: -%s", what, p + 1, r->str);
    else if (rc == 0)
        snprintf(why, len, "%s on n%d: unexpected reply", what, p + 1);
    else
        snprintf(why, len, "%s on n%d: %s", what, p + 1,
                 rc == JL_RC_TIMEOUT ? "no reply in time" : rc == JL_RC_LOST ? "connection lost" : "not sent");
}

int jl_member_role(jl_cluster *c, int p, int i) {
    tc_rc_reply r;
    const char *argv[] = {"MEMBERS", "LIST"};
    int role = JL_MEMBER_ERROR;
    if (jl_cluster_call(c, p, LIST_TIMEOUT_MS, &r, 2, argv) == 0 && r.type == TC_RC_ARRAY) {
        role = JL_MEMBER_ABSENT;
        for (size_t k = 0; k < r.n; k++) {
            const tc_rc_reply *m = &r.elem[k]; /* [id, raft address, role, zone] */
            if (m->type != TC_RC_ARRAY || m->n < 3 || m->elem[0].type != TC_RC_INT || m->elem[2].type != TC_RC_BULK) {
                role = JL_MEMBER_ERROR;
                break;
            }
            if (m->elem[0].integer == c->nodes[i].id)
                role = strcmp(m->elem[2].str, "voter") == 0 ? JL_MEMBER_VOTER : JL_MEMBER_OTHER;
        }
    }
    tc_rc_reply_free(&r);
    return role;
}

/* A write through node p commits: everything p appended before is
 * committed too. */
static bool write_commits(jl_cluster *c, int p) {
    tc_rc_reply r;
    const char *argv[] = {"SET", "jepsen-lite:probe", "1"};
    bool ok = jl_cluster_call(c, p, CHANGE_TIMEOUT_MS, &r, 3, argv) == 0 && r.type == TC_RC_STATUS &&
              strcmp(r.str, "OK") == 0;
    tc_rc_reply_free(&r);
    return ok;
}

/* Sends MEMBERS <sub> <id of i> to node p; true on +OK. */
static bool change(jl_cluster *c, int p, const char *sub, int i, int timeout_ms, char *why, size_t len) {
    char id[16], what[32];
    snprintf(id, sizeof id, "%d", c->nodes[i].id);
    snprintf(what, sizeof what, "MEMBERS %s %d", sub, c->nodes[i].id);
    const char *argv[] = {"MEMBERS", sub, id};
    tc_rc_reply r;
    int rc = jl_cluster_call(c, p, timeout_ms, &r, 3, argv);
    bool ok = rc == 0 && r.type == TC_RC_STATUS && strcmp(r.str, "OK") == 0;
    if (!ok)
        describe(why, len, p, what, rc, &r);
    tc_rc_reply_free(&r);
    return ok;
}

static int ms_until(int64_t deadline, int cap_ms) {
    int64_t left = (deadline - jl_now_ns()) / 1000000;
    return left < 100 ? 100 : left > cap_ms ? cap_ms : (int)left;
}

int jl_member_remove(jl_cluster *c, int i, int64_t deadline, char *why, size_t len) {
    snprintf(why, len, "no attempt");
    for (;;) {
        int p = jl_cluster_primary(c, 300);
        if (p < 0) {
            snprintf(why, len, "no primary found");
        } else {
            int role = jl_member_role(c, p, i);
            if (role == JL_MEMBER_ERROR) {
                snprintf(why, len, "MEMBERS LIST on n%d failed", p + 1);
            } else if (role != JL_MEMBER_ABSENT) {
                if (change(c, p, "REMOVE", i, ms_until(deadline, CHANGE_TIMEOUT_MS), why, len))
                    return 0;
            } else if (p != i && write_commits(c, p)) {
                return 0; /* an earlier attempt's reply was lost, but it is done */
            } else {
                /* A primary removing itself steps down once that commits. */
                snprintf(why, len, "n%d is no longer listed; waiting for the change to commit", i + 1);
            }
        }
        if (jl_now_ns() >= deadline)
            return -1;
        jl_sleep_ms(RETRY_MS);
    }
}

int jl_member_add(jl_cluster *c, int i, int64_t deadline, char *why, size_t len) {
    snprintf(why, len, "no attempt");
    for (;;) {
        int p = jl_cluster_primary(c, 300);
        if (p < 0) {
            snprintf(why, len, "no primary found");
        } else {
            int role = jl_member_role(c, p, i);
            if (role == JL_MEMBER_ERROR) {
                snprintf(why, len, "MEMBERS LIST on n%d failed", p + 1);
            } else if (role == JL_MEMBER_VOTER) {
                if (write_commits(c, p))
                    return 0;
                snprintf(why, len, "n%d lists n%d as a voter but a write there did not commit", p + 1, i + 1);
            } else if (role == JL_MEMBER_ABSENT) {
                if (change(c, p, "ADD", i, ms_until(deadline, ADD_TIMEOUT_MS), why, len))
                    return 0;
            } else {
                /* Added but not (yet) a voter: an earlier ADD still catching
                 * it up, or one cut short by a change of primary. Removing it
                 * fails while a change is in progress and otherwise lets the
                 * next ADD start over. */
                if (change(c, p, "REMOVE", i, ms_until(deadline, CHANGE_TIMEOUT_MS), why, len))
                    snprintf(why, len, "n%d was left half added: removed, to add it again", i + 1);
            }
        }
        if (jl_now_ns() >= deadline)
            return -1;
        jl_sleep_ms(RETRY_MS);
    }
}
