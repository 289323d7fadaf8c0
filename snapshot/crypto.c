/* Block sealing (AES-256-GCM or a keyless checksum), key derivation and
 * randomness, all through OpenSSL 3's EVP interface and getrandom(2). */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "snapshot_internal.h"

int tc__snap_random(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int tc__snap_equal(const void *a, const void *b, size_t len)
{
    /* A tag compared byte-by-byte with an early exit tells an attacker how
     * many leading bytes of a forgery were right. */
    return CRYPTO_memcmp(a, b, len) == 0;
}

int tc__snap_sha256(const void *data, size_t len, uint8_t out[TC__SNAP_HASH_LEN])
{
    unsigned int n = 0;
    if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) || n != TC__SNAP_HASH_LEN)
        return TC_SNAPSHOT_ECRYPTO;
    return 0;
}

int tc__snap_hkdf(const uint8_t key[TC_SNAPSHOT_KEY_LEN], const uint8_t salt[TC__SNAP_SALT_LEN], const char *info,
                  uint8_t *out, size_t outlen)
{
    int rc = TC_SNAPSHOT_ECRYPTO;
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    if (kctx) {
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, TC_SNAPSHOT_KEY_LEN),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, TC__SNAP_SALT_LEN),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info)),
            OSSL_PARAM_construct_end(),
        };
        if (EVP_KDF_derive(kctx, out, outlen, params) > 0) rc = 0;
    }
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rc;
}

int tc__snap_derive(const uint8_t key[TC_SNAPSHOT_KEY_LEN], const uint8_t salt[TC__SNAP_SALT_LEN],
                    uint8_t file_key[TC_SNAPSHOT_KEY_LEN], uint8_t check[TC__SNAP_CHECK_LEN])
{
    uint8_t okm[TC_SNAPSHOT_KEY_LEN + TC__SNAP_CHECK_LEN];
    int rc = tc__snap_hkdf(key, salt, TC__SNAP_HKDF_INFO, okm, sizeof okm);
    if (rc == 0) {
        memcpy(file_key, okm, TC_SNAPSHOT_KEY_LEN);
        memcpy(check, okm + TC_SNAPSHOT_KEY_LEN, TC__SNAP_CHECK_LEN);
    }
    OPENSSL_cleanse(okm, sizeof okm);
    return rc;
}

int tc__snap_seal_init(tc__snap_seal *s, const uint8_t *file_key,
                       const uint8_t header_hash[TC__SNAP_HASH_LEN], int decrypt)
{
    memset(s, 0, sizeof *s);
    memcpy(s->header_hash, header_hash, TC__SNAP_HASH_LEN);
    s->encrypted = file_key != NULL;
    if (s->encrypted) {
        /* Fetched once per file, not per block: implicit fetches on every
         * EVP_*Init cost a lock and a lookup in OpenSSL 3. */
        s->cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
        s->ctx = EVP_CIPHER_CTX_new();
        if (!s->cipher || !s->ctx) goto fail;
        int ok = decrypt ? EVP_DecryptInit_ex2(s->ctx, s->cipher, file_key, NULL, NULL)
                         : EVP_EncryptInit_ex2(s->ctx, s->cipher, file_key, NULL, NULL);
        if (!ok) goto fail;
    } else {
        s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
        s->md = EVP_MD_CTX_new();
        if (!s->sha256 || !s->md) goto fail;
    }
    return 0;
fail:
    tc__snap_seal_free(s);
    return TC_SNAPSHOT_ECRYPTO;
}

void tc__snap_seal_free(tc__snap_seal *s)
{
    EVP_CIPHER_CTX_free(s->ctx);
    EVP_CIPHER_free(s->cipher);
    EVP_MD_CTX_free(s->md);
    EVP_MD_free(s->sha256);
    memset(s, 0, sizeof *s);
}

static void make_ad(const tc__snap_seal *s, uint64_t index, const uint8_t frame[TC__SNAP_FRAME_LEN],
                    uint8_t ad[TC__SNAP_AD_LEN])
{
    memcpy(ad, s->header_hash, TC__SNAP_HASH_LEN);
    tc__snap_put64(ad + TC__SNAP_HASH_LEN, index);
    memcpy(ad + TC__SNAP_HASH_LEN + 8, frame, TC__SNAP_FRAME_LEN);
}

/* The block index is the nonce. It never repeats under one file key, and
 * every file has its own key (HKDF over a random salt), see FORMAT.md. */
static void make_iv(uint64_t index, uint8_t iv[12])
{
    tc__snap_put64(iv, index);
    memset(iv + 8, 0, 4);
}

static int checksum(tc__snap_seal *s, const uint8_t ad[TC__SNAP_AD_LEN], const uint8_t *data,
                    size_t len, uint8_t out[TC__SNAP_HASH_LEN])
{
    unsigned int n = 0;
    if (!EVP_DigestInit_ex2(s->md, s->sha256, NULL) ||
        !EVP_DigestUpdate(s->md, ad, TC__SNAP_AD_LEN) || !EVP_DigestUpdate(s->md, data, len) ||
        !EVP_DigestFinal_ex(s->md, out, &n))
        return TC_SNAPSHOT_ECRYPTO;
    return 0;
}

int tc__snap_seal_block(tc__snap_seal *s, uint64_t index, const uint8_t frame[TC__SNAP_FRAME_LEN],
                        const uint8_t *in, uint8_t *out, size_t len,
                        uint8_t tag[TC__SNAP_TAG_LEN])
{
    uint8_t ad[TC__SNAP_AD_LEN];
    make_ad(s, index, frame, ad);
    if (!s->encrypted) {
        uint8_t sum[TC__SNAP_HASH_LEN];
        if (in != out) memmove(out, in, len);
        if (checksum(s, ad, out, len, sum) != 0) return TC_SNAPSHOT_ECRYPTO;
        memcpy(tag, sum, TC__SNAP_TAG_LEN);
        return 0;
    }
    uint8_t iv[12];
    make_iv(index, iv);
    int n = 0, fin = 0;
    if (!EVP_EncryptInit_ex2(s->ctx, NULL, NULL, iv, NULL) ||
        !EVP_EncryptUpdate(s->ctx, NULL, &n, ad, (int)sizeof ad) ||
        !EVP_EncryptUpdate(s->ctx, out, &n, in, (int)len) ||
        !EVP_EncryptFinal_ex(s->ctx, out + n, &fin) ||
        !EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_GET_TAG, TC__SNAP_TAG_LEN, tag))
        return TC_SNAPSHOT_ECRYPTO;
    return 0;
}

int tc__snap_open_block(tc__snap_seal *s, uint64_t index, const uint8_t frame[TC__SNAP_FRAME_LEN],
                        uint8_t *buf, size_t len, const uint8_t tag[TC__SNAP_TAG_LEN])
{
    uint8_t ad[TC__SNAP_AD_LEN];
    make_ad(s, index, frame, ad);
    if (!s->encrypted) {
        uint8_t sum[TC__SNAP_HASH_LEN];
        if (checksum(s, ad, buf, len, sum) != 0) return TC_SNAPSHOT_ECRYPTO;
        return tc__snap_equal(sum, tag, TC__SNAP_TAG_LEN) ? 0 : TC_SNAPSHOT_ECORRUPT;
    }
    uint8_t iv[12], t[TC__SNAP_TAG_LEN];
    make_iv(index, iv);
    memcpy(t, tag, sizeof t); /* the ctrl call takes a non-const pointer */
    int n = 0, fin = 0;
    if (!EVP_DecryptInit_ex2(s->ctx, NULL, NULL, iv, NULL) ||
        !EVP_DecryptUpdate(s->ctx, NULL, &n, ad, (int)sizeof ad) ||
        !EVP_DecryptUpdate(s->ctx, buf, &n, buf, (int)len) ||
        !EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_SET_TAG, TC__SNAP_TAG_LEN, t))
        return TC_SNAPSHOT_ECRYPTO;
    if (EVP_DecryptFinal_ex(s->ctx, buf + n, &fin) <= 0) return TC_SNAPSHOT_ECORRUPT;
    return 0;
}
