/* Key files: 48 bytes, "TCSNKEY1" | u32 id | 32 key bytes | first 4 bytes
 * of SHA-256 over the preceding 44 (FORMAT.md, "Key files"). The checksum
 * catches a damaged or truncated copy before it is mistaken for a wrong
 * key, which would look like every snapshot being corrupt. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "snapshot_internal.h"

#define KEYFILE_MAGIC "TCSNKEY1"
#define KEYFILE_LEN 48
#define KEYFILE_SUM_AT 44

static int fsync_parent(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (slash == path ? 1 : (size_t)(slash - path)) : 1;
    if (n >= sizeof dir) return -ENAMETOOLONG;
    if (slash) memcpy(dir, path, n);
    else dir[0] = '.';
    dir[n] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int tc_snapshot_key_generate(const char *path, uint32_t id, char *err, size_t errlen)
{
    if (id == 0) {
        tc__snap_errf(err, errlen,
                      "%s: key id 0 is reserved for unencrypted snapshots; choose an id of 1 or "
                      "more",
                      path);
        return TC_SNAPSHOT_EINVAL;
    }
    uint8_t buf[KEYFILE_LEN], sum[TC__SNAP_HASH_LEN];
    memcpy(buf, KEYFILE_MAGIC, 8);
    tc__snap_put32(buf + 8, id);
    int rc = tc__snap_random(buf + 12, TC_SNAPSHOT_KEY_LEN);
    if (rc) {
        tc__snap_errf(err, errlen, "%s: getrandom failed: %s", path, strerror(-rc));
        return TC_SNAPSHOT_EIO;
    }
    if (tc__snap_sha256(buf, KEYFILE_SUM_AT, sum) != 0) {
        OPENSSL_cleanse(buf, sizeof buf);
        tc__snap_errf(err, errlen, "%s: SHA-256 failed in OpenSSL", path);
        return TC_SNAPSHOT_ECRYPTO;
    }
    memcpy(buf + KEYFILE_SUM_AT, sum, 4);

    /* O_EXCL: replacing a key would make every snapshot made with it
     * unreadable, so that is never done silently. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        int e = errno;
        OPENSSL_cleanse(buf, sizeof buf);
        if (e == EEXIST)
            tc__snap_errf(err, errlen,
                          "%s already exists; refusing to replace a key (snapshots made with it "
                          "could no longer be read); choose another path",
                          path);
        else
            tc__snap_errf(err, errlen, "%s: cannot create: %s", path, strerror(e));
        return TC_SNAPSHOT_EKEYFILE;
    }
    const char *step = NULL;
    int e = 0;
    /* The umask may have left fewer bits, never more; make it exactly 0600
     * so that loading (which refuses group/other access) accepts it. */
    if (fchmod(fd, 0600) < 0) step = "chmod";
    size_t off = 0;
    while (!step && off < sizeof buf) {
        ssize_t n = write(fd, buf + off, sizeof buf - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) step = "write";
        else off += (size_t)n;
    }
    if (!step && fsync(fd) < 0) step = "fsync";
    if (step) e = errno;
    if (close(fd) < 0 && !step) {
        step = "close";
        e = errno;
    }
    OPENSSL_cleanse(buf, sizeof buf);
    if (!step && (rc = fsync_parent(path)) < 0) {
        step = "fsync of the directory";
        e = -rc;
    }
    if (step) {
        unlink(path);
        tc__snap_errf(err, errlen, "%s: %s failed: %s", path, step, strerror(e));
        return TC_SNAPSHOT_EKEYFILE;
    }
    return 0;
}

int tc_snapshot_key_load(const char *path, tc_snapshot_key *key, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tc__snap_errf(err, errlen, "%s: cannot open key file: %s", path, strerror(errno));
        return TC_SNAPSHOT_EKEYFILE;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        tc__snap_errf(err, errlen, "%s: cannot stat key file: %s", path, strerror(errno));
        close(fd);
        return TC_SNAPSHOT_EKEYFILE;
    }
    if (!S_ISREG(sb.st_mode)) {
        tc__snap_errf(err, errlen, "%s: not a regular file, so not a key file", path);
        close(fd);
        return TC_SNAPSHOT_EKEYFILE;
    }
    /* Like ssh with private keys: a key others can read is a leaked key,
     * and one others can write could be swapped for theirs. */
    if (sb.st_mode & 077) {
        tc__snap_errf(err, errlen,
                      "%s: key file permissions %04o let group or others access it; run "
                      "\"chmod 600 %s\" (and check who may have copied it)",
                      path, (unsigned)(sb.st_mode & 07777), path);
        close(fd);
        return TC_SNAPSHOT_EKEYFILE;
    }
    uint8_t buf[KEYFILE_LEN + 1];
    size_t got = 0;
    while (got < sizeof buf) {
        ssize_t n = read(fd, buf + got, sizeof buf - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            tc__snap_errf(err, errlen, "%s: cannot read key file: %s", path, strerror(errno));
            close(fd);
            OPENSSL_cleanse(buf, sizeof buf);
            return TC_SNAPSHOT_EKEYFILE;
        }
        if (n == 0) break;
        got += (size_t)n;
    }
    close(fd);
    int rc = TC_SNAPSHOT_EKEYFILE;
    uint8_t sum[TC__SNAP_HASH_LEN];
    if (got >= 8 && memcmp(buf, KEYFILE_MAGIC, 8) != 0)
        tc__snap_errf(err, errlen, "%s: not a tricache snapshot key file (bad magic)", path);
    else if (got > KEYFILE_LEN)
        tc__snap_errf(err, errlen,
                      "%s: key file is longer than %d bytes (it is damaged or not a key file)",
                      path, KEYFILE_LEN);
    else if (got < KEYFILE_LEN)
        tc__snap_errf(err, errlen,
                      "%s: key file is %zu bytes, not %d (it is truncated; restore it from your "
                      "key backup)",
                      path, got, KEYFILE_LEN);
    else if (tc__snap_sha256(buf, KEYFILE_SUM_AT, sum) != 0) {
        tc__snap_errf(err, errlen, "%s: SHA-256 failed in OpenSSL", path);
        rc = TC_SNAPSHOT_ECRYPTO;
    }
    else if (!tc__snap_equal(sum, buf + KEYFILE_SUM_AT, 4))
        tc__snap_errf(err, errlen,
                      "%s: key file is damaged (checksum mismatch); restore it from your key "
                      "backup",
                      path);
    else if (tc__snap_get32(buf + 8) == 0)
        tc__snap_errf(err, errlen, "%s: key file names key id 0, which is reserved (damaged?)",
                      path);
    else {
        key->id = tc__snap_get32(buf + 8);
        memcpy(key->bytes, buf + 12, TC_SNAPSHOT_KEY_LEN);
        rc = 0;
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

const tc_snapshot_key *tc_snapshot_keyset_lookup(void *keyset, uint32_t key_id)
{
    const tc_snapshot_keyset *ks = keyset;
    for (size_t i = 0; ks && i < ks->n; i++)
        if (ks->keys[i].id == key_id) return &ks->keys[i];
    return NULL;
}
