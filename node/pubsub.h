/* Pub/sub on one node (pubsub.c): SUBSCRIBE, PSUBSCRIBE, their
 * UNSUBSCRIBEs and PUBLISH are commands of the table; this is what the
 * rest of the node and the layers above it call. Messages are not
 * replicated (as in Redis without cluster mode). */
#ifndef TC_PUBSUB_H
#define TC_PUBSUB_H

#include <stddef.h>

struct tc_server;
struct tc_client;

/* PUBLISH to this node's subscribers (also +switch-master from raft/);
 * returns how many received it. */
size_t tc_pubsub_publish(struct tc_server *s, const char *channel, size_t clen, const char *msg, size_t mlen);
/* Drops every subscription of a closing client. */
void tc_pubsub_unsubscribe_all(struct tc_client *c);

#endif
