/* What every file of backup/ uses: error texts, bounded formatting, hex,
 * backup names, hashing a local file. It calls nothing else of backup/,
 * so the destination, its backends and the manifests all depend on it and
 * never on each other in a circle. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backup_internal.h"

void tc__bk_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int tc__bk_fmt(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, len, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < len ? 0 : -1;
}

void tc__bk_hex(const unsigned char digest[32], char out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[digest[i] >> 4];
        out[2 * i + 1] = digits[digest[i] & 15];
    }
    out[64] = '\0';
}

int tc__bk_name_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

int tc__bk_check_name(const char *name, const char *url, char *err, size_t errlen)
{
    if (!name || !*name) {
        tc__bk_errf(err, errlen, "%s: a backup name is required", url);
        return TC_BACKUP_EINVAL;
    }
    size_t n = strnlen(name, TC_BACKUP_MAX_NAME);
    if (n >= TC_BACKUP_MAX_NAME) {
        tc__bk_errf(err, errlen, "%s: backup name \"%.40s...\" is longer than %d bytes", url, name,
                    TC_BACKUP_MAX_NAME - 1);
        return TC_BACKUP_EINVAL;
    }
    /* A leading dot would make hidden files and allow "." and "..". */
    for (size_t i = 0; i < n; i++) {
        if (!tc__bk_name_char_ok((unsigned char)name[i]) || (i == 0 && name[i] == '.')) {
            tc__bk_errf(err, errlen,
                        "%s: bad backup name \"%s\": use only letters, digits, '.', '_' and '-' "
                        "(not starting with '.'); tc_backup_name makes valid names",
                        url, name);
            return TC_BACKUP_EINVAL;
        }
    }
    return 0;
}

int tc__bk_hash_file(const char *path, uint64_t total, tc_backup_progress_fn progress, void *ud,
                     uint64_t *size, char sha256[65], char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        tc__bk_errf(err, errlen, "%s: cannot open: %s", path, strerror(e));
        return e == ENOENT ? TC_BACKUP_ENOTFOUND : TC_BACKUP_EIO;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t cap = 1 << 20;
    unsigned char *buf = malloc(cap);
    int rc = 0;
    if (!md || !buf || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        tc__bk_errf(err, errlen, "%s: out of memory hashing the file", path);
        rc = TC_BACKUP_ENOMEM;
    }
    uint64_t done = 0;
    while (!rc) {
        ssize_t got = read(fd, buf, cap);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            tc__bk_errf(err, errlen, "%s: read failed: %s", path, strerror(errno));
            rc = TC_BACKUP_EIO;
            break;
        }
        if (got == 0) break;
        EVP_DigestUpdate(md, buf, (size_t)got);
        done += (uint64_t)got;
        if (progress) progress(ud, done, total);
    }
    if (!rc) {
        unsigned char digest[32];
        EVP_DigestFinal_ex(md, digest, NULL);
        tc__bk_hex(digest, sha256);
        *size = done;
    }
    EVP_MD_CTX_free(md);
    free(buf);
    close(fd);
    return rc;
}
