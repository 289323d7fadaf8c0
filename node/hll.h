/* HyperLogLog internals behind PFADD/PFCOUNT/PFMERGE (t_hll.c): Redis's
 * hash and estimator, and tricache's own byte representation of an HLL
 * string (described in t_hll.c). Exposed for the unit tests. */
#ifndef TC_HLL_H
#define TC_HLL_H

#include <stddef.h>
#include <stdint.h>

#define HLL_REGISTERS 16384

/* Redis's MurmurHash64A (little-endian reading of 8-byte words). */
uint64_t tc_murmur64a(const void *key, size_t len, uint32_t seed);
/* The register an element falls in and the run length (1..51) it offers. */
void tc_hll_pos(const void *ele, size_t len, unsigned *reg, unsigned *count);
/* Redis's cardinality estimate from HLL_REGISTERS register values. */
uint64_t tc_hll_estimate(const uint8_t *regs);
/* An HLL string's registers into regs[HLL_REGISTERS]; -1 when the bytes
 * are not an HLL. */
int tc_hll_decode(const char *p, size_t len, uint8_t *regs);
/* regs as HLL bytes into out (room for 5 + 12288 bytes): sparse while
 * small unless dense is set. Returns the length. */
size_t tc_hll_encode(const uint8_t *regs, int dense, char *out);

#endif
