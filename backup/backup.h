/* Backups: snapshot files kept at a destination, a local folder
 * (file:///path) or S3-compatible object storage (s3://bucket/prefix).
 *
 * A backup named N is two objects under the destination:
 *   N.tcsnap      the snapshot file (snapshot/FORMAT.md), uploaded first
 *   N.manifest    a small JSON document describing it, written last
 * Only names with a readable manifest are backups: an upload cut short
 * leaves at most a .tcsnap without manifest, which listing ignores and
 * tc_backup_prune removes. Names are made by tc_backup_name and sort by
 * creation time.
 *
 * Everything here blocks (network and disk): call it from tricachectl, a
 * forked child or a thread, never from a node's event loop.
 *
 * Errors: 0 on success or a negative TC_BACKUP_E* code, with a sentence
 * for the operator in err (which names the destination and the object). */
#ifndef TC_BACKUP_H
#define TC_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "snapshot.h"

#define TC_BACKUP_MAX_URL 1024
#define TC_BACKUP_MAX_NAME 128
#define TC_BACKUP_ERRLEN 768
/* S3 multipart: parts of this size are uploaded as the stream fills them;
 * a file smaller than one part is sent with a single PUT. */
#define TC_BACKUP_PART_SIZE (16u * 1024 * 1024)

enum {
    TC_BACKUP_OK = 0,
    TC_BACKUP_EINVAL = -1,    /* bad URL, name or setting */
    TC_BACKUP_ENOMEM = -2,
    TC_BACKUP_EIO = -3,       /* local file system error */
    TC_BACKUP_ENET = -4,      /* could not reach the endpoint after every retry */
    TC_BACKUP_EAUTH = -5,     /* credentials missing or refused (401/403) */
    TC_BACKUP_ENOTFOUND = -6, /* no such backup / bucket / folder */
    TC_BACKUP_EREMOTE = -7,   /* the server answered something unusable */
    TC_BACKUP_ECORRUPT = -8,  /* size or SHA-256 differs from the manifest */
};

/* Where backups go and how to reach S3. The s3_* fields are ignored for
 * file:// URLs. Credentials come from AWS_ACCESS_KEY_ID /
 * AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else from the shared
 * credentials file (s3_credentials_file, else $AWS_SHARED_CREDENTIALS_FILE,
 * else ~/.aws/credentials; profile $AWS_PROFILE or "default"). */
typedef struct tc_backup_conf {
    char url[TC_BACKUP_MAX_URL];
    char s3_endpoint[256];         /* "" = https://s3.<region>.amazonaws.com */
    char s3_region[64];            /* "" = us-east-1 */
    int s3_path_style;             /* 1: endpoint/bucket/key; 0: bucket.endpoint/key */
    char s3_credentials_file[512]; /* "" = the default lookup above */
    int retries;                   /* attempts per request after the first; 0 = default (5) */
} tc_backup_conf;

/* What a manifest says. */
typedef struct tc_backup_meta {
    char name[TC_BACKUP_MAX_NAME];
    char cluster[TC_SNAPSHOT_MAX_CLUSTER + 1];
    int node_id;                   /* the node that took it */
    uint64_t raft_index, raft_term;
    int64_t created_ms;            /* unix ms */
    uint64_t keys;
    uint64_t size;                 /* bytes of N.tcsnap */
    char sha256[65];               /* lower-case hex of N.tcsnap */
    uint32_t key_id;               /* 0 = not encrypted */
} tc_backup_meta;

typedef struct tc_backup_dest tc_backup_dest;

/* Parses the URL and loads credentials (no request is made). */
int tc_backup_open(tc_backup_dest **out, const tc_backup_conf *conf, char *err, size_t errlen);
void tc_backup_close(tc_backup_dest *d);
/* The URL, for messages. */
const char *tc_backup_url(const tc_backup_dest *d);

/* "<cluster>-<UTC yyyymmddThhmmss>-<ms>-n<node>" into out. */
void tc_backup_name(char *out, size_t len, const char *cluster, int64_t created_ms, int node_id);

/* ---- writing one backup, streamed ---------------------------------- */

typedef struct tc_backup_upload tc_backup_upload;

int tc_backup_upload_begin(tc_backup_dest *d, const char *name, tc_backup_upload **out, char *err,
                           size_t errlen);
/* A tc_snapshot_write_fn: pass the upload as ud. Returns 0 or -EIO; the
 * reason is kept for tc_backup_upload_finish. */
int tc_backup_upload_write(void *upload, const void *buf, size_t len);
/* Completes N.tcsnap, then writes N.manifest from meta (size and sha256
 * are filled in from what was streamed; meta->name must equal the name).
 * Frees the upload whatever happens; on error nothing is listed. */
int tc_backup_upload_finish(tc_backup_upload *u, tc_backup_meta *meta, char *err, size_t errlen);
/* Gives up: removes what was written (S3: aborts the multipart upload). */
void tc_backup_upload_abort(tc_backup_upload *u);

/* ---- reading ------------------------------------------------------- */

/* Every complete backup at the destination, oldest first. *out is
 * malloc'd (free it); an unreadable manifest is reported in err but does
 * not fail the listing when others are good (*n counts the good ones). */
int tc_backup_list(tc_backup_dest *d, tc_backup_meta **out, size_t *n, char *err, size_t errlen);
/* One backup's manifest. */
int tc_backup_stat(tc_backup_dest *d, const char *name, tc_backup_meta *meta, char *err, size_t errlen);

/* Makes N.tcsnap readable as a local file: file:// gives its own path,
 * S3 downloads it into dir (removed by tc_backup_fetch_done). The size
 * and SHA-256 are checked against the manifest before this returns 0.
 * progress (may be NULL) is called with bytes done and total. */
typedef void (*tc_backup_progress_fn)(void *ud, uint64_t done, uint64_t total);
int tc_backup_fetch(tc_backup_dest *d, const tc_backup_meta *meta, const char *dir, char *path,
                    size_t pathlen, tc_backup_progress_fn progress, void *progress_ud, char *err,
                    size_t errlen);
void tc_backup_fetch_done(tc_backup_dest *d, const char *path);

/* ---- removing ------------------------------------------------------ */

/* Removes the manifest first (so the backup stops being listed), then the
 * file. */
int tc_backup_delete(tc_backup_dest *d, const char *name, char *err, size_t errlen);
/* Keeps the newest `retain` backups of this cluster, deletes older ones
 * and snapshot files without a manifest older than one hour (abandoned
 * uploads). *deleted (may be NULL) counts removed backups. */
int tc_backup_prune(tc_backup_dest *d, const char *cluster, unsigned retain, unsigned *deleted, char *err,
                    size_t errlen);

#endif
