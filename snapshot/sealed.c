/* Sealed payloads: one message at a time under AES-256-GCM (snapshot.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "snapshot_internal.h"

#define SEALED_VERSION 1
#define SEALED_INFO "tricache log v1"

struct tc_snapshot_sealer {
    uint32_t key_id;
    uint8_t salt[TC__SNAP_SALT_LEN];
    uint64_t counter;
    EVP_CIPHER *cipher;
    EVP_CIPHER_CTX *ctx;
};

/* An AES-256-GCM context keyed with HKDF(key, salt). */
static int keyed_ctx(const tc_snapshot_key *key, const uint8_t salt[TC__SNAP_SALT_LEN], int decrypt,
                     EVP_CIPHER **cipher, EVP_CIPHER_CTX **ctx)
{
    uint8_t k[TC_SNAPSHOT_KEY_LEN];
    if (tc__snap_hkdf(key->bytes, salt, SEALED_INFO, k, sizeof k) != 0) return TC_SNAPSHOT_ECRYPTO;
    if (!*cipher) *cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (!*ctx) *ctx = EVP_CIPHER_CTX_new();
    int ok = *cipher && *ctx &&
             (decrypt ? EVP_DecryptInit_ex2(*ctx, *cipher, k, NULL, NULL) : EVP_EncryptInit_ex2(*ctx, *cipher, k, NULL, NULL));
    OPENSSL_cleanse(k, sizeof k);
    return ok ? 0 : TC_SNAPSHOT_ECRYPTO;
}

static void make_iv(uint64_t counter, uint8_t iv[12])
{
    memset(iv, 0, 4);
    tc__snap_put64(iv + 4, counter);
}

int tc_snapshot_sealer_new(tc_snapshot_sealer **out, const tc_snapshot_key *key, char *err, size_t errlen)
{
    tc_snapshot_sealer *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s) {
        tc__snap_errf(err, errlen, "out of memory");
        return TC_SNAPSHOT_ENOMEM;
    }
    s->key_id = key->id;
    if (tc__snap_random(s->salt, sizeof s->salt) != 0 || keyed_ctx(key, s->salt, 0, &s->cipher, &s->ctx) != 0) {
        tc__snap_errf(err, errlen, "cannot set up AES-256-GCM in OpenSSL");
        tc_snapshot_sealer_free(s);
        return TC_SNAPSHOT_ECRYPTO;
    }
    *out = s;
    return 0;
}

int tc_snapshot_seal(tc_snapshot_sealer *s, const void *in, size_t len, void *out)
{
    uint8_t *o = out, iv[12];
    if (len > TC_SNAPSHOT_SEALED_MAX || len > INT32_MAX) return TC_SNAPSHOT_EINVAL;
    uint64_t counter = s->counter++;
    o[0] = TC_SNAPSHOT_SEALED_MAGIC;
    o[1] = SEALED_VERSION;
    o[2] = o[3] = 0;
    tc__snap_put32(o + 4, s->key_id);
    tc__snap_put32(o + 8, (uint32_t)len);
    memcpy(o + 12, s->salt, TC__SNAP_SALT_LEN);
    tc__snap_put64(o + 28, counter);
    make_iv(counter, iv);
    int n = 0, fin = 0;
    uint8_t *ct = o + TC_SNAPSHOT_SEALED_HEAD;
    if (!EVP_EncryptInit_ex2(s->ctx, NULL, NULL, iv, NULL) ||
        !EVP_EncryptUpdate(s->ctx, NULL, &n, o, TC_SNAPSHOT_SEALED_HEAD) ||
        (len && !EVP_EncryptUpdate(s->ctx, ct, &n, in, (int)len)) || !EVP_EncryptFinal_ex(s->ctx, ct + len, &fin) ||
        !EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_GET_TAG, TC__SNAP_TAG_LEN, ct + len))
        return TC_SNAPSHOT_ECRYPTO;
    return 0;
}

void tc_snapshot_sealer_free(tc_snapshot_sealer *s)
{
    if (!s) return;
    EVP_CIPHER_CTX_free(s->ctx);
    EVP_CIPHER_free(s->cipher);
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
}

int tc_snapshot_is_sealed(const void *data, size_t len)
{
    return len >= 1 && ((const uint8_t *)data)[0] == TC_SNAPSHOT_SEALED_MAGIC;
}

/* The opener keeps the context of the last (key id, salt) it saw: one
 * primary's entries share both, so derivation happens once per primary. */
struct tc_snapshot_opener {
    tc_snapshot_keyring_fn keyring;
    void *keyring_ud;
    int keyed;
    uint32_t key_id;
    uint8_t salt[TC__SNAP_SALT_LEN];
    EVP_CIPHER *cipher;
    EVP_CIPHER_CTX *ctx;
    uint8_t *buf;
    size_t cap;
};

int tc_snapshot_opener_new(tc_snapshot_opener **out, tc_snapshot_keyring_fn keyring, void *keyring_ud)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return TC_SNAPSHOT_ENOMEM;
    (*out)->keyring = keyring;
    (*out)->keyring_ud = keyring_ud;
    return 0;
}

void tc_snapshot_opener_free(tc_snapshot_opener *o)
{
    if (!o) return;
    EVP_CIPHER_CTX_free(o->ctx);
    EVP_CIPHER_free(o->cipher);
    if (o->buf) OPENSSL_cleanse(o->buf, o->cap);
    free(o->buf);
    free(o);
}

static int check_head(const uint8_t *d, size_t len, uint32_t *plain_len, char *err, size_t errlen)
{
    if (len < TC_SNAPSHOT_SEALED_OVERHEAD || d[0] != TC_SNAPSHOT_SEALED_MAGIC) {
        tc__snap_errf(err, errlen, "sealed payload of %zu bytes is too short or has no sealed header", len);
        return TC_SNAPSHOT_ECORRUPT;
    }
    if (d[1] != SEALED_VERSION || d[2] || d[3]) {
        tc__snap_errf(err, errlen, "sealed payload has version %u, this tricache knows %u (written by a newer one?)",
                      d[1], SEALED_VERSION);
        return TC_SNAPSHOT_EVERSION;
    }
    *plain_len = tc__snap_get32(d + 8);
    size_t need = (size_t)*plain_len + TC_SNAPSHOT_SEALED_OVERHEAD;
    if (*plain_len > len || need > len || len - need > 7) {
        tc__snap_errf(err, errlen, "sealed payload says %u bytes but holds %zu", *plain_len, len);
        return TC_SNAPSHOT_ECORRUPT;
    }
    for (size_t i = need; i < len; i++)
        if (d[i]) {
            tc__snap_errf(err, errlen, "sealed payload has non-zero bytes after its tag");
            return TC_SNAPSHOT_ECORRUPT;
        }
    return 0;
}

int tc_snapshot_open_sealed(tc_snapshot_opener *o, const void *data, size_t len, const void **plain,
                            size_t *plain_len, char *err, size_t errlen)
{
    const uint8_t *d = data;
    uint32_t n32;
    int rc = check_head(d, len, &n32, err, errlen);
    if (rc != 0) return rc;
    uint32_t key_id = tc__snap_get32(d + 4);
    if (!o->keyed || o->key_id != key_id || memcmp(o->salt, d + 12, TC__SNAP_SALT_LEN) != 0) {
        const tc_snapshot_key *k = o->keyring ? o->keyring(o->keyring_ud, key_id) : NULL;
        if (!k) {
            tc__snap_errf(err, errlen, "payload is encrypted with key id %u, which is not in keys_dir", key_id);
            return TC_SNAPSHOT_ENOKEY;
        }
        o->keyed = 0;
        if (keyed_ctx(k, d + 12, 1, &o->cipher, &o->ctx) != 0) {
            tc__snap_errf(err, errlen, "cannot set up AES-256-GCM in OpenSSL");
            return TC_SNAPSHOT_ECRYPTO;
        }
        o->keyed = 1;
        o->key_id = key_id;
        memcpy(o->salt, d + 12, TC__SNAP_SALT_LEN);
    }
    if (n32 + 1 > o->cap) {
        size_t cap = n32 + 1 > 2 * o->cap ? n32 + 1 : 2 * o->cap;
        uint8_t *b = malloc(cap);
        if (!b) {
            tc__snap_errf(err, errlen, "out of memory for a %u-byte payload", n32);
            return TC_SNAPSHOT_ENOMEM;
        }
        if (o->buf) OPENSSL_cleanse(o->buf, o->cap);
        free(o->buf);
        o->buf = b;
        o->cap = cap;
    }
    uint8_t iv[12], tag[TC__SNAP_TAG_LEN];
    make_iv(tc__snap_get64(d + 28), iv);
    memcpy(tag, d + TC_SNAPSHOT_SEALED_HEAD + n32, sizeof tag);
    int n = 0, fin = 0;
    if (!EVP_DecryptInit_ex2(o->ctx, NULL, NULL, iv, NULL) ||
        !EVP_DecryptUpdate(o->ctx, NULL, &n, d, TC_SNAPSHOT_SEALED_HEAD) ||
        (n32 && !EVP_DecryptUpdate(o->ctx, o->buf, &n, d + TC_SNAPSHOT_SEALED_HEAD, (int)n32)) ||
        !EVP_CIPHER_CTX_ctrl(o->ctx, EVP_CTRL_GCM_SET_TAG, TC__SNAP_TAG_LEN, tag)) {
        tc__snap_errf(err, errlen, "AES-256-GCM failed in OpenSSL");
        return TC_SNAPSHOT_ECRYPTO;
    }
    if (EVP_DecryptFinal_ex(o->ctx, o->buf + n, &fin) <= 0) {
        tc__snap_errf(err, errlen,
                      "payload sealed with key id %u fails authentication: it was altered, or key-%u.tckey is not the key it was sealed with",
                      key_id, key_id);
        return TC_SNAPSHOT_ECORRUPT;
    }
    *plain = o->buf;
    *plain_len = n32;
    return 0;
}
