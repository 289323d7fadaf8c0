/* Key folders: the cluster's keys as files key-<id>.tckey (see snapshot.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "snapshot_internal.h"

/* "key-<decimal id>.tckey" -> id, or 0 when the name is not a key file's. */
static uint32_t id_from_name(const char *name)
{
    if (strncmp(name, "key-", 4) != 0) return 0;
    const char *p = name + 4;
    uint64_t id = 0;
    if (*p < '1' || *p > '9') return 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        id = id * 10 + (uint64_t)(*p - '0');
        if (id > UINT32_MAX) return 0;
    }
    return strcmp(p, ".tckey") == 0 ? (uint32_t)id : 0;
}

static int by_id(const void *a, const void *b)
{
    uint32_t x = ((const tc_snapshot_key *)a)->id, y = ((const tc_snapshot_key *)b)->id;
    return x < y ? -1 : x > y;
}

int tc_snapshot_keydir_load(tc_snapshot_keydir *kd, const char *dir, char *err, size_t errlen)
{
    memset(kd, 0, sizeof *kd);
    DIR *d = opendir(dir);
    if (!d) {
        tc__snap_errf(err, errlen, "%s: cannot open the key folder: %s", dir, strerror(errno));
        return TC_SNAPSHOT_EKEYFILE;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        uint32_t id = id_from_name(de->d_name);
        if (!id) continue;
        if (kd->n == TC_SNAPSHOT_MAX_KEYS) {
            tc__snap_errf(err, errlen, "%s: more than %d key files; remove keys no data needs any more", dir,
                          TC_SNAPSHOT_MAX_KEYS);
            rc = TC_SNAPSHOT_EKEYFILE;
            break;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        tc_snapshot_key *k = &kd->keys[kd->n];
        rc = tc_snapshot_key_load(path, k, err, errlen);
        if (rc == 0 && k->id != id) {
            tc__snap_errf(err, errlen, "%s holds key id %u, not %u: key files must keep the name they were made with",
                          path, k->id, id);
            rc = TC_SNAPSHOT_EKEYFILE;
        }
        if (rc == 0) kd->n++;
    }
    closedir(d);
    if (rc != 0) {
        tc_snapshot_keydir_clear(kd);
        return rc;
    }
    qsort(kd->keys, kd->n, sizeof kd->keys[0], by_id);
    return 0;
}

const tc_snapshot_key *tc_snapshot_keydir_newest(const tc_snapshot_keydir *kd)
{
    return kd && kd->n ? &kd->keys[kd->n - 1] : NULL;
}

const tc_snapshot_key *tc_snapshot_keydir_lookup(void *keydir, uint32_t key_id)
{
    const tc_snapshot_keydir *kd = keydir;
    for (size_t i = 0; kd && i < kd->n; i++)
        if (kd->keys[i].id == key_id) return &kd->keys[i];
    return NULL;
}

int tc_snapshot_keydir_generate(tc_snapshot_keydir *kd, const char *dir, uint32_t *id, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        tc__snap_errf(err, errlen, "%s: cannot create the key folder: %s", dir, strerror(errno));
        return TC_SNAPSHOT_EKEYFILE;
    }
    int rc = tc_snapshot_keydir_load(kd, dir, err, errlen);
    if (rc != 0) return rc;
    if (kd->n == TC_SNAPSHOT_MAX_KEYS) {
        tc__snap_errf(err, errlen, "%s: already %d key files; remove keys no data needs any more", dir,
                      TC_SNAPSHOT_MAX_KEYS);
        return TC_SNAPSHOT_EKEYFILE;
    }
    const tc_snapshot_key *newest = tc_snapshot_keydir_newest(kd);
    uint32_t next = newest ? newest->id + 1 : 1;
    if (next == 0) {
        tc__snap_errf(err, errlen, "%s: key ids are exhausted", dir);
        return TC_SNAPSHOT_EKEYFILE;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/key-%u.tckey", dir, next);
    rc = tc_snapshot_key_generate(path, next, err, errlen);
    /* the highest id: appending keeps the keys sorted */
    if (rc == 0) rc = tc_snapshot_key_load(path, &kd->keys[kd->n], err, errlen);
    if (rc == 0) {
        kd->n++;
        *id = next;
    }
    return rc;
}

void tc_snapshot_keydir_clear(tc_snapshot_keydir *kd)
{
    OPENSSL_cleanse(kd, sizeof *kd);
}
