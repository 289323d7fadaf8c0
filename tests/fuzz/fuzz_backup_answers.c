/* libFuzzer target for what a backup destination answers: manifests
 * (files anyone with access to the folder or bucket may have written) and
 * S3's ListObjectsV2 XML (from any endpoint configured). The first byte
 * picks the parser; the rest is its input.
 *
 * Each must accept or refuse without crashing; an accepted manifest must
 * encode again and decode to the same fields (a round trip), and a listing
 * must report only keys and sizes that fit its buffers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup_internal.h"
#include "s3_request.h"

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                \
        }                                                                           \
    } while (0)

static int on_object(void *ud, const char *key, uint64_t size, int64_t mtime_ms)
{
    (void)size;
    (void)mtime_ms;
    CHECK(key != NULL);
    (*(size_t *)ud)++;
    return 0;
}

static void manifest(const uint8_t *data, size_t len)
{
    tc_backup_meta m, again;
    char err[TC_BACKUP_ERRLEN], json[4096];
    if (tc__bk_manifest_decode((const char *)data, len, &m, "fuzz", err, sizeof err) != 0) {
        CHECK(err[0] != '\0');
        return;
    }
    int n = tc__bk_manifest_encode(&m, json, sizeof json, err, sizeof err);
    if (n < 0) return; /* decodable but not encodable: refused on the way out */
    CHECK(tc__bk_manifest_decode(json, (size_t)n, &again, "fuzz", err, sizeof err) == 0);
    CHECK(memcmp(&m, &again, sizeof m) == 0);
}

static void listing(const uint8_t *data, size_t len)
{
    size_t objects = 0;
    int truncated = -1;
    char token[1024];
    int rc = tc_s3_parse_list((const char *)data, len, on_object, &objects, &truncated, token, sizeof token);
    CHECK(rc == 0 || rc == -1);
    if (rc == 0) CHECK(truncated == 0 || truncated == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (len < 1) return 0;
    if (data[0] & 1) listing(data + 1, len - 1);
    else manifest(data + 1, len - 1);
    return 0;
}
