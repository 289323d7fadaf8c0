/* DEBUG DIGEST without blocking the node (see digest_child.c). */
#ifndef TC_DIGEST_CHILD_H
#define TC_DIGEST_CHILD_H

#include <stdint.h>

#include "server.h"

/* Keyspaces at least this big are hashed in a child. */
#define TC_DIGEST_CHILD_KEYS 100000

/* Forks a child that hashes the keyspace as of now; the client gets the
 * reply through tc_client_deliver. 0, or -1 (nothing started: hash inline). */
int tc_digest_in_child(tc_server *s, tc_client *client, int64_t now_ms);

#endif
