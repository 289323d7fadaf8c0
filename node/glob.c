/* Redis-compatible glob matching (KEYS, SCAN MATCH, CONFIG GET patterns).
 * Iterative with single-star backtracking, so a hostile pattern such as
 * "a*a*a*a*b" costs O(pattern * string) at worst instead of exponential time. */
#include "glob.h"

#include <ctype.h>

static int fold(int c, int nocase) { return nocase ? tolower(c) : c; }

/* Matches one character class starting after '['. Returns 1/0 for match and
 * sets *end to the index just past the closing ']' (or plen if unterminated,
 * in which case the class ends at the pattern end, as Redis does). */
static int class_match(const char *p, size_t plen, size_t i, int c, int nocase, size_t *end)
{
    int negate = 0, match = 0;
    if (i < plen && p[i] == '^') {
        negate = 1;
        i++;
    }
    while (i < plen && p[i] != ']') {
        if (p[i] == '\\' && i + 1 < plen) {
            i++;
            if (fold((unsigned char)p[i], nocase) == c) match = 1;
            i++;
        } else if (i + 2 < plen && p[i + 1] == '-') {
            int lo = fold((unsigned char)p[i], nocase), hi = fold((unsigned char)p[i + 2], nocase);
            if (lo > hi) {
                int t = lo;
                lo = hi;
                hi = t;
            }
            if (c >= lo && c <= hi) match = 1;
            i += 3;
        } else {
            if (fold((unsigned char)p[i], nocase) == c) match = 1;
            i++;
        }
    }
    *end = i < plen ? i + 1 : plen;
    return negate ? !match : match;
}

int tc_glob_match(const char *p, size_t plen, const char *s, size_t slen, int nocase)
{
    size_t pi = 0, si = 0;
    size_t star_p = (size_t)-1, star_s = 0; /* where to resume after the last '*' */

    while (si < slen) {
        if (pi < plen) {
            char pc = p[pi];
            int c = fold((unsigned char)s[si], nocase);
            if (pc == '*') {
                while (pi < plen && p[pi] == '*') pi++;
                if (pi == plen) return 1;
                star_p = pi;
                star_s = si;
                continue;
            }
            if (pc == '?') {
                pi++;
                si++;
                continue;
            }
            if (pc == '[') {
                size_t end;
                if (class_match(p, plen, pi + 1, c, nocase, &end)) {
                    pi = end;
                    si++;
                    continue;
                }
            } else {
                if (pc == '\\' && pi + 1 < plen) pc = p[pi + 1];
                if (fold((unsigned char)pc, nocase) == c) {
                    pi += (p[pi] == '\\' && pi + 1 < plen) ? 2 : 1;
                    si++;
                    continue;
                }
            }
        }
        /* mismatch: let the last '*' swallow one more character */
        if (star_p == (size_t)-1) return 0;
        pi = star_p;
        si = ++star_s;
    }
    while (pi < plen && p[pi] == '*') pi++;
    return pi == plen;
}
