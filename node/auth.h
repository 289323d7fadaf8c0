/* The auth_token check (Redis's requirepass, ElastiCache's --auth-token). */
#ifndef TC_AUTH_H
#define TC_AUTH_H

#include <stddef.h>

enum tc_auth_result {
    TC_AUTH_OK = 0,
    TC_AUTH_NOT_CONFIGURED = -1, /* AUTH <token> while no token is configured */
    TC_AUTH_WRONG = -2,          /* wrong user or token */
};

/* 1 if commands need AUTH first. */
int tc_auth_required(const char *token);

/* Checks AUTH [user] password against the configured token. The only user
 * is "default"; user may be NULL for the one-argument form. The comparison
 * takes the same time whatever the position of the first differing byte. */
int tc_auth_check(const char *token, const char *user, size_t ulen, const char *pass, size_t plen);

#define TC_ERR_NOAUTH "NOAUTH Authentication required."
#define TC_ERR_WRONGPASS "WRONGPASS invalid username-password pair or user is disabled."
#define TC_ERR_AUTH_NOT_CONFIGURED                                                                           \
    "ERR AUTH <password> called without any password configured for the default user. Are you sure your " \
    "configuration is correct?"

#endif
