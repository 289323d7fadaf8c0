/* Redis-style glob matching, used by KEYS, SCAN MATCH and CONFIG GET. */
#ifndef TC_GLOB_H
#define TC_GLOB_H

#include <stddef.h>

/* 1 if str matches pattern (*, ?, [abc], [^a-z], \x escapes), else 0.
 * nocase != 0 compares ASCII letters case-insensitively. */
int tc_glob_match(const char *pattern, size_t plen, const char *str, size_t slen, int nocase);

#endif
