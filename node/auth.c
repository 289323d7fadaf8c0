#include "auth.h"

#include <string.h>

int tc_auth_required(const char *token) { return token && token[0] != '\0'; }

/* Compares every byte of the longer input so the time taken does not reveal
 * how much of a guess was right. */
static int equal_const_time(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t n = alen > blen ? alen : blen;
    unsigned diff = (unsigned)(alen ^ blen);
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < alen ? (unsigned char)a[i] : 0;
        unsigned char y = i < blen ? (unsigned char)b[i] : 0;
        diff |= (unsigned)(x ^ y);
    }
    return diff == 0;
}

int tc_auth_check(const char *token, const char *user, size_t ulen, const char *pass, size_t plen)
{
    int user_ok = !user || (ulen == 7 && memcmp(user, "default", 7) == 0);
    if (!tc_auth_required(token)) {
        /* Redis: the default user has no password, so "AUTH default x"
         * succeeds and the one-argument form is an error. */
        if (!user) return TC_AUTH_NOT_CONFIGURED;
        return user_ok ? TC_AUTH_OK : TC_AUTH_WRONG;
    }
    int pass_ok = equal_const_time(token, strlen(token), pass, plen);
    return (user_ok && pass_ok) ? TC_AUTH_OK : TC_AUTH_WRONG;
}
