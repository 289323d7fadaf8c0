/* A throwaway certificate authority for `jepsen-lite run --tls`: one CA,
 * one certificate per node naming it the way tricache's mutual TLS between
 * nodes wants (DNS SAN node-<id>), one the client ports share, and one
 * client certificate for the run's own clients. EC P-256 keys, valid for two days: the run's directory is the
 * only place they live. Made with OpenSSL's API so a run needs no openssl
 * command. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "run.h"

#define VALID_SECONDS (2L * 24 * 3600)

static int fail(char *err, size_t len, const char *what)
{
    unsigned long e = ERR_get_error();
    snprintf(err, len, "%s: %s", what, e ? ERR_reason_error_string(e) : "failed");
    return -1;
}

static int write_key(const char *path, EVP_PKEY *key, char *err, size_t len)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, len, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    chmod(path, 0600);
    int ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) == 1;
    if (fclose(f) != 0) ok = 0;
    return ok ? 0 : fail(err, len, path);
}

static int write_cert(const char *path, X509 *x, char *err, size_t len)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, len, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    int ok = PEM_write_X509(f, x) == 1;
    if (fclose(f) != 0) ok = 0;
    return ok ? 0 : fail(err, len, path);
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!e) return -1;
    int ok = X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok == 1 ? 0 : -1;
}

/* A certificate for key named cn, signed by ca_key (self-signed when ca is
 * NULL); san: a subjectAltName value or NULL. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *ca, EVP_PKEY *ca_key, const char *san, long serial)
{
    X509 *x = X509_new();
    if (!x) return NULL;
    X509_NAME *name = X509_get_subject_name(x);
    int ok = X509_set_version(x, 2) == 1 && ASN1_INTEGER_set(X509_get_serialNumber(x), serial) == 1 &&
             X509_gmtime_adj(X509_getm_notBefore(x), -3600) && X509_gmtime_adj(X509_getm_notAfter(x), VALID_SECONDS) &&
             X509_set_pubkey(x, key) == 1 &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) == 1 &&
             X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : name) == 1;
    X509 *issuer = ca ? ca : x;
    if (ok && !ca) ok = add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE") == 0 &&
                        add_ext(x, issuer, NID_key_usage, "critical,keyCertSign,cRLSign") == 0;
    if (ok && ca) ok = add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE") == 0;
    if (ok && san) ok = add_ext(x, issuer, NID_subject_alt_name, san) == 0;
    if (ok) ok = X509_sign(x, ca ? ca_key : key, EVP_sha256()) > 0;
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* Writes <dir>/<name>.key and <dir>/<name>.crt. */
static int issue(const char *dir, const char *name, const char *cn, const char *san, X509 *ca, EVP_PKEY *ca_key,
                 long serial, char *err, size_t len)
{
    char path[600];
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (!key) return fail(err, len, "cannot make a key");
    X509 *x = make_cert(key, cn, ca, ca_key, san, serial);
    int rc = x ? 0 : fail(err, len, "cannot make a certificate");
    snprintf(path, sizeof path, "%s/%s.key", dir, name);
    if (rc == 0) rc = write_key(path, key, err, len);
    snprintf(path, sizeof path, "%s/%s.crt", dir, name);
    if (rc == 0) rc = write_cert(path, x, err, len);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

int jl_certs_make(const char *dir, const jl_cluster *c, char *err, size_t len)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, len, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    EVP_PKEY *ca_key = EVP_EC_gen("P-256");
    X509 *ca = ca_key ? make_cert(ca_key, "jepsen-lite CA", NULL, NULL, NULL, 1) : NULL;
    if (!ca) {
        EVP_PKEY_free(ca_key);
        return fail(err, len, "cannot make the CA");
    }
    char path[600];
    snprintf(path, sizeof path, "%s/ca.crt", dir);
    int rc = write_cert(path, ca, err, len);
    /* nodes: node-<id> for the Raft peers' check, and the address clients
     * use (clients check the chain only, but a user's redis-cli may check
     * the host) */
    for (int i = 0; rc == 0 && i < c->n; i++) {
        char name[32], san[160];
        snprintf(name, sizeof name, "node-%d", c->nodes[i].id);
        snprintf(san, sizeof san, "DNS:%s,IP:%s", name, c->nodes[i].host);
        rc = issue(dir, name, name, san, ca, ca_key, 10 + i, err, len);
    }
    /* the client ports share one certificate (tls_cert_file): every node's address */
    char san[64 + JL_MAX_NODES * 72] = "DNS:localhost";
    for (int i = 0; i < c->n; i++)
        snprintf(san + strlen(san), sizeof san - strlen(san), ",IP:%s", c->nodes[i].host);
    if (rc == 0) rc = issue(dir, "server", "tricache", san, ca, ca_key, 3, err, len);
    if (rc == 0) rc = issue(dir, "client", "jepsen-lite client", NULL, ca, ca_key, 2, err, len);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
    return rc;
}
