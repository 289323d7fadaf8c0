/* DEBUG DIGEST without blocking the node (see digest_child.c). */
#ifndef TC_DIGEST_CHILD_H
#define TC_DIGEST_CHILD_H

#include <stdint.h>

#include "server.h"

/* Keyspaces of at least this many keys, or of this many elements counting
 * every member of every collection, are hashed in a child: one sorted set
 * of a million members takes as long to hash as a million keys. */
#define TC_DIGEST_CHILD_KEYS 100000

/* Whether the keyspace (every database) is that big (counts elements only
 * while below the limit, so it costs at most a pass over fewer than
 * TC_DIGEST_CHILD_KEYS keys). */
int tc_digest_wants_child(struct tc_server *s);

/* Forks a child that hashes the keyspace as of now; the client gets the
 * reply through tc_client_deliver. 0, or -1 (nothing started: hash inline). */
int tc_digest_in_child(tc_server *s, tc_client *client, int64_t now_ms);

#endif
