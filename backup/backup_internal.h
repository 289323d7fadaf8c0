/* Internals shared by the files of backup/ (destination.c, manifest.c,
 * util.c and the two backends dest_file.c and dest_s3.c); nothing outside
 * backup/ includes it except the backup tests. Names are tc__bk_* (double
 * underscore: not API).
 *
 * destination.c owns everything that is the same for every destination:
 * names, hashing what is streamed, listing rules, retention; manifest.c the
 * manifests; util.c the helpers all of them use. A backend
 * only moves opaque objects ("N.tcsnap", "N.manifest") to and from one
 * place, through the table of operations below. */
#ifndef TC_BACKUP_INTERNAL_H
#define TC_BACKUP_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "backup.h"

#define TC__BK_SNAP_SUFFIX ".tcsnap"
#define TC__BK_MANIFEST_SUFFIX ".manifest"
#define TC__BK_TMP_SUFFIX ".tmp"
/* A manifest is a few hundred bytes; anything much larger is not one, and
 * reading it whole must not cost much memory. */
#define TC__BK_MANIFEST_MAX (64 * 1024)
/* An upload left alone this long is abandoned: prune may remove its
 * leftovers. Long enough that no upload in progress is taken for one. */
#define TC__BK_ABANDONED_MS (3600 * 1000LL)
/* Object names: the backup name plus the longest suffix (".manifest.tmp"). */
#define TC__BK_MAX_OBJECT (TC_BACKUP_MAX_NAME + 16)
#define TC__BK_DEFAULT_RETRIES 5

/* One object at the destination, as a backend lists it. */
typedef struct tc__bk_object {
    char name[TC__BK_MAX_OBJECT];  /* relative to the destination */
    uint64_t size;
    int64_t mtime_ms;              /* last modified, unix ms */
} tc__bk_object;

/* What a backend does. Every function returns 0 or a TC_BACKUP_E* code
 * and then leaves a sentence in err naming the destination and object. */
typedef struct tc__bk_ops {
    /* Starts N.tcsnap for u->name; sets u->impl. */
    int (*upload_begin)(tc_backup_upload *u, char *err, size_t errlen);
    int (*upload_write)(tc_backup_upload *u, const void *buf, size_t len, char *err,
                        size_t errlen);
    /* commit: makes N.tcsnap complete and visible; else removes what was
     * written. Frees u->impl either way. */
    int (*upload_end)(tc_backup_upload *u, int commit, char *err, size_t errlen);
    /* Small whole objects (manifests): put replaces atomically. get
     * returns a malloc'd, NUL-terminated copy; TC_BACKUP_ENOTFOUND if
     * missing, TC_BACKUP_ECORRUPT if larger than TC__BK_MANIFEST_MAX. */
    int (*put_small)(tc_backup_dest *d, const char *obj, const void *data, size_t len, char *err,
                     size_t errlen);
    int (*get_small)(tc_backup_dest *d, const char *obj, char **data, size_t *len, char *err,
                     size_t errlen);
    /* Every object directly at the destination (not in sub-folders);
     * *objs is malloc'd. A destination that does not exist yet is
     * TC_BACKUP_ENOTFOUND. */
    int (*list)(tc_backup_dest *d, tc__bk_object **objs, size_t *n, char *err, size_t errlen);
    /* 1 if obj exists, 0 if not, or a negative code. */
    int (*exists)(tc_backup_dest *d, const char *obj, char *err, size_t errlen);
    int (*remove)(tc_backup_dest *d, const char *obj, char *err, size_t errlen);
    /* Makes obj readable as a local file at path (downloading into dir if
     * needed), reporting progress against total, and returns the size and
     * SHA-256 (lower-case hex) of the bytes it saw. */
    int (*fetch)(tc_backup_dest *d, const char *obj, uint64_t total, const char *dir, char *path,
                 size_t pathlen, tc_backup_progress_fn progress, void *progress_ud,
                 uint64_t *size, char sha256[65], char *err, size_t errlen);
    void (*fetch_done)(tc_backup_dest *d, const char *path);
    /* Removes leftovers only this backend knows about (temporary files,
     * unfinished multipart uploads) last touched before cutoff_ms. */
    int (*prune_leftovers)(tc_backup_dest *d, int64_t cutoff_ms, char *err, size_t errlen);
    void (*close)(tc_backup_dest *d);
} tc__bk_ops;

struct tc_backup_dest {
    const tc__bk_ops *ops;
    char url[TC_BACKUP_MAX_URL];   /* normalized, for messages */
    int64_t (*now_ms)(void);       /* the clock prune judges age by; tests move it */
    void *impl;
};

struct tc_backup_upload {
    tc_backup_dest *d;
    char name[TC_BACKUP_MAX_NAME];
    EVP_MD_CTX *sha;               /* SHA-256 of every byte streamed */
    uint64_t size;
    int code;                      /* first error, sticky */
    char err[TC_BACKUP_ERRLEN];
    void *impl;
};

/* printf into err (if non-NULL and errlen > 0), always NUL-terminated. */
void tc__bk_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* snprintf that says whether everything fit: 0, or -1 if out was too
 * small (it then holds the truncated text). */
int tc__bk_fmt(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A character a backup name may hold: [A-Za-z0-9._-]. */
int tc__bk_name_char_ok(unsigned char c);

/* 0 if name is a valid backup name ([A-Za-z0-9._-], not starting with a
 * dot, shorter than TC_BACKUP_MAX_NAME); else TC_BACKUP_EINVAL and why. */
int tc__bk_check_name(const char *name, const char *url, char *err, size_t errlen);

/* Lower-case hex of a 32-byte digest into out[65]. */
void tc__bk_hex(const unsigned char digest[32], char out[65]);

/* Reads a local file through SHA-256, reporting progress (file backend,
 * and tests). */
int tc__bk_hash_file(const char *path, uint64_t total, tc_backup_progress_fn progress, void *ud,
                     uint64_t *size, char sha256[65], char *err, size_t errlen);

/* Manifests (manifest.c). encode returns the length written (without NUL)
 * or TC_BACKUP_EINVAL when a field cannot be written (bad name, cluster
 * with a NUL, ...). decode is strict: exactly the known fields, each once,
 * of the right type and range; `what` names the object in messages. */
int tc__bk_manifest_encode(const tc_backup_meta *m, char *out, size_t outlen, char *err,
                           size_t errlen);
int tc__bk_manifest_decode(const char *json, size_t len, tc_backup_meta *m, const char *what,
                           char *err, size_t errlen);

/* Backends: fill d->ops and d->impl. */
int tc__bk_file_open(tc_backup_dest *d, const char *dir, char *err, size_t errlen);
int tc__bk_s3_open(tc_backup_dest *d, const tc_backup_conf *conf, const char *bucket,
                   const char *prefix, char *err, size_t errlen);

/* For tests: the clock prune uses to decide what is abandoned. */
void tc__bk_set_clock(tc_backup_dest *d, int64_t (*now_ms)(void));

#endif
