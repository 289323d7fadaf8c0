/* S3 credentials, looked up the way the AWS tools do (so an operator's
 * existing setup works): the environment first, then one profile of the
 * shared credentials file. Instance roles and SSO are not supported; their
 * tools can export the environment variables. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup_internal.h"
#include "s3_request.h"

static int copy_value(char *dst, size_t cap, const char *value, const char *what, const char *from,
                      char *err, size_t errlen)
{
    if (strlen(value) >= cap) {
        tc__bk_errf(err, errlen, "%s from %s is longer than %zu bytes", what, from, cap - 1);
        return TC_BACKUP_EINVAL;
    }
    snprintf(dst, cap, "%s", value);
    return 0;
}

static int from_env(tc_s3_creds *c, int *found, char *err, size_t errlen)
{
    const char *id = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    const char *token = getenv("AWS_SESSION_TOKEN");
    int has_id = id && *id, has_secret = secret && *secret;
    *found = 0;
    if (!has_id && !has_secret) return 0;
    if (!has_id || !has_secret) {
        tc__bk_errf(err, errlen,
                    "%s is set but %s is not: set both (or neither, to use a credentials file)",
                    has_id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                    has_id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
        return TC_BACKUP_EAUTH;
    }
    const char *from = "the environment";
    int rc = copy_value(c->access_key, sizeof c->access_key, id, "AWS_ACCESS_KEY_ID", from, err, errlen);
    if (!rc) rc = copy_value(c->secret_key, sizeof c->secret_key, secret, "AWS_SECRET_ACCESS_KEY", from, err, errlen);
    if (!rc && token) rc = copy_value(c->token, sizeof c->token, token, "AWS_SESSION_TOKEN", from, err, errlen);
    snprintf(c->source, sizeof c->source, "AWS_ACCESS_KEY_ID in the environment");
    *found = !rc;
    return rc;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

/* "[name]" or "[profile name]" (the form of ~/.aws/config) -> name. */
static int is_section(char *line, const char **name)
{
    size_t n = strlen(line);
    if (n < 2 || line[0] != '[' || line[n - 1] != ']') return 0;
    line[n - 1] = '\0';
    char *s = trim(line + 1);
    if (strncmp(s, "profile ", 8) == 0) s = trim(s + 8);
    *name = s;
    return 1;
}

/* Scans the file for profile's keys. *in_profile says whether it was seen. */
static int scan(FILE *f, const char *profile, tc_s3_creds *c, int *in_profile, const char *path,
                char *err, size_t errlen)
{
    char *line = NULL;
    size_t cap = 0;
    int mine = 0, rc = 0;
    while (!rc && getline(&line, &cap, f) >= 0) {
        char *s = trim(line);
        const char *section;
        if (!*s || *s == '#' || *s == ';') continue;
        if (is_section(s, &section)) {
            mine = strcmp(section, profile) == 0;
            *in_profile |= mine;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!mine || !eq) continue;
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        if (strcmp(key, "aws_access_key_id") == 0)
            rc = copy_value(c->access_key, sizeof c->access_key, value, key, path, err, errlen);
        else if (strcmp(key, "aws_secret_access_key") == 0)
            rc = copy_value(c->secret_key, sizeof c->secret_key, value, key, path, err, errlen);
        else if (strcmp(key, "aws_session_token") == 0)
            rc = copy_value(c->token, sizeof c->token, value, key, path, err, errlen);
    }
    free(line);
    return rc;
}

static int from_file(const char *file, tc_s3_creds *c, char *err, size_t errlen)
{
    char path[512];
    const char *env = getenv("AWS_SHARED_CREDENTIALS_FILE"), *home = getenv("HOME");
    const char *profile = getenv("AWS_PROFILE");
    if (!profile || !*profile) profile = "default";
    if (file && *file) snprintf(path, sizeof path, "%s", file);
    else if (env && *env) snprintf(path, sizeof path, "%s", env);
    else snprintf(path, sizeof path, "%s/.aws/credentials", home && *home ? home : "");
    FILE *f = fopen(path, "re");
    if (!f) {
        tc__bk_errf(err, errlen,
                    "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write "
                    "a credentials file (%s: %s)",
                    path, strerror(errno));
        return TC_BACKUP_EAUTH;
    }
    int seen = 0;
    int rc = scan(f, profile, c, &seen, path, err, errlen);
    fclose(f);
    if (rc) return rc;
    if (!seen) {
        tc__bk_errf(err, errlen,
                    "no S3 credentials: profile [%s] is not in %s (AWS_PROFILE picks another); or "
                    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                    profile, path);
        return TC_BACKUP_EAUTH;
    }
    if (!c->access_key[0] || !c->secret_key[0]) {
        tc__bk_errf(err, errlen,
                    "no S3 credentials: profile [%s] in %s needs aws_access_key_id and "
                    "aws_secret_access_key",
                    profile, path);
        return TC_BACKUP_EAUTH;
    }
    snprintf(c->source, sizeof c->source, "profile [%s] of %s", profile, path);
    return 0;
}

int tc_s3_credentials_load(const char *file, tc_s3_creds *creds, char *err, size_t errlen)
{
    memset(creds, 0, sizeof *creds);
    int found = 0;
    int rc = from_env(creds, &found, err, errlen);
    if (rc || found) return rc;
    rc = from_file(file, creds, err, errlen);
    if (rc) memset(creds, 0, sizeof *creds); /* no half-loaded secrets */
    return rc;
}
