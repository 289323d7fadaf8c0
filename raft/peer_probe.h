/* Has the cluster counted on this node's data before? (see peer_probe.c) */
#ifndef TC_PEER_PROBE_H
#define TC_PEER_PROBE_H

#include <stddef.h>

#include "config.h"

/* 1 with a message in err when a peer proves this node had data (the
 * cluster has formed, or the primary holds entries it acknowledged); 0 when
 * every peer answered without proof, or none runs, or the wait's bound
 * passed. listen_fd: this node's client listener (already listening, -1 if
 * none), on which peers probing at the same moment are answered. */
int tc_peer_probe_lost_data(const tc_config *cfg, const tc_node_conf *self, int listen_fd, char *err,
                            size_t errlen);

#endif
