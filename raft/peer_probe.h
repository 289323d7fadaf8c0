/* Has the cluster counted on this node's data before? (see peer_probe.c) */
#ifndef TC_PEER_PROBE_H
#define TC_PEER_PROBE_H

#include <stddef.h>

#include "config.h"

/* 1 with a message in err when a reachable primary says this node had
 * acknowledged log entries; 0 otherwise (also when no peer answers). */
int tc_peer_probe_lost_data(const tc_config *cfg, const tc_node_conf *self, char *err, size_t errlen);

#endif
