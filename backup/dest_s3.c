/* Backups in S3-compatible object storage (s3://bucket/prefix).
 *
 * A snapshot is streamed up with constant memory: bytes gather in one
 * buffer of TC_BACKUP_PART_SIZE, and every time it fills it becomes one
 * part of a multipart upload (created on the first full buffer). A
 * snapshot smaller than one part is sent with a single PUT. Parts are sent
 * from that buffer, so a failed part can be retried without the stream.
 * S3 makes the object visible only when CompleteMultipartUpload succeeds,
 * so a cut-short upload never shows up as N.tcsnap; its parts are aborted
 * here, or by prune once they are an hour old. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup_internal.h"
#include "s3_request.h"

#define MAX_PARTS 10000 /* S3's limit per multipart upload */

typedef struct s3_dest {
    tc_s3_client c;
    char prefix[520];               /* "" or "a/b/" */
} s3_dest;

typedef struct s3_upload {
    char key[1200];
    unsigned char *buf;             /* TC_BACKUP_PART_SIZE */
    size_t len;
    char upload_id[512];            /* "" until a multipart upload exists */
    char (*etags)[128];
    unsigned nparts, cap;
} s3_upload;

static void key_of(const s3_dest *s, const char *obj, char *out, size_t len)
{
    snprintf(out, len, "%s%s", s->prefix, obj);
}

static int request(s3_dest *s, const char *method, const char *key, const tc_s3_param *q, size_t nq,
                   const void *body, size_t len, const char *content_type, tc_s3_resp *resp,
                   char *err, size_t errlen)
{
    char header[128];
    const char *headers[1] = {header};
    snprintf(header, sizeof header, "Content-Type: %s", content_type ? content_type : "");
    tc_s3_req req = {
        .method = method, .key = key, .query = q, .nquery = nq, .headers = headers,
        .nheaders = content_type ? 1 : 0, .body = body, .body_len = len,
    };
    return tc_s3_request(&s->c, &req, resp, err, errlen);
}

/* ------------------------------------------------------------- multipart */

static int create_multipart(s3_dest *s, s3_upload *su, char *err, size_t errlen)
{
    tc_s3_param q[] = {{"uploads", ""}};
    tc_s3_resp resp;
    int rc = request(s, "POST", su->key, q, 1, NULL, 0, "application/octet-stream", &resp, err,
                     errlen);
    if (!rc && tc_s3_xml_text(resp.body ? resp.body : "", resp.body_len, "UploadId", su->upload_id,
                              sizeof su->upload_id) != 1) {
        tc__bk_errf(err, errlen, "s3://%s/%s: CreateMultipartUpload answered without an UploadId",
                    s->c.bucket, su->key);
        rc = TC_BACKUP_EREMOTE;
    }
    tc_s3_resp_free(&resp);
    return rc;
}

static int upload_part(s3_dest *s, s3_upload *su, char *err, size_t errlen)
{
    if (su->nparts == MAX_PARTS) {
        tc__bk_errf(err, errlen, "s3://%s/%s: larger than %d parts of %u MiB, S3's limit",
                    s->c.bucket, su->key, MAX_PARTS, TC_BACKUP_PART_SIZE >> 20);
        return TC_BACKUP_EINVAL;
    }
    if (su->nparts == su->cap) {
        unsigned cap = su->cap ? su->cap * 2 : 16;
        void *g = realloc(su->etags, cap * sizeof *su->etags);
        if (!g) {
            tc__bk_errf(err, errlen, "s3://%s/%s: out of memory", s->c.bucket, su->key);
            return TC_BACKUP_ENOMEM;
        }
        su->etags = g;
        su->cap = cap;
    }
    char number[16];
    snprintf(number, sizeof number, "%u", su->nparts + 1);
    tc_s3_param q[] = {{"partNumber", number}, {"uploadId", su->upload_id}};
    tc_s3_resp resp;
    int rc = request(s, "PUT", su->key, q, 2, su->buf, su->len, NULL, &resp, err, errlen);
    if (!rc && !resp.etag[0]) {
        tc__bk_errf(err, errlen, "s3://%s/%s: part %s was accepted without an ETag", s->c.bucket,
                    su->key, number);
        rc = TC_BACKUP_EREMOTE;
    }
    if (!rc) {
        memcpy(su->etags[su->nparts++], resp.etag, sizeof resp.etag);
        su->len = 0;
    }
    tc_s3_resp_free(&resp);
    return rc;
}

/* Appends s at out + o, with XML's special characters escaped when
 * escape is set; returns the new length. */
static size_t xml_put(char *out, size_t o, const char *s, int escape)
{
    for (; *s; s++) {
        const char *rep = !escape ? NULL : *s == '&' ? "&amp;" : *s == '<' ? "&lt;"
                                        : *s == '>' ? "&gt;" : NULL;
        if (rep) {
            memcpy(out + o, rep, strlen(rep));
            o += strlen(rep);
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
    return o;
}

static int complete_multipart(s3_dest *s, s3_upload *su, char *err, size_t errlen)
{
    /* Each part: fixed tags (under 60 bytes), its number and its ETag
     * escaped (at most 5 bytes a character). */
    size_t cap = 128 + (size_t)su->nparts * (80 + 5 * sizeof su->etags[0]);
    char *xml = malloc(cap);
    if (!xml) {
        tc__bk_errf(err, errlen, "s3://%s/%s: out of memory", s->c.bucket, su->key);
        return TC_BACKUP_ENOMEM;
    }
    size_t o = xml_put(xml, 0, "<CompleteMultipartUpload>", 0);
    for (unsigned i = 0; i < su->nparts; i++) {
        char number[16];
        snprintf(number, sizeof number, "%u", i + 1);
        o = xml_put(xml, o, "<Part><PartNumber>", 0);
        o = xml_put(xml, o, number, 0);
        o = xml_put(xml, o, "</PartNumber><ETag>", 0);
        o = xml_put(xml, o, su->etags[i], 1);
        o = xml_put(xml, o, "</ETag></Part>", 0);
    }
    o = xml_put(xml, o, "</CompleteMultipartUpload>", 0);
    tc_s3_param q[] = {{"uploadId", su->upload_id}};
    char header[] = "Content-Type: application/xml";
    const char *headers[] = {header};
    tc_s3_req req = {.method = "POST", .key = su->key, .query = q, .nquery = 1,
                     .headers = headers, .nheaders = 1, .body = xml, .body_len = o,
                     .error_in_200 = 1};
    tc_s3_resp resp;
    int rc = tc_s3_request(&s->c, &req, &resp, err, errlen);
    tc_s3_resp_free(&resp);
    free(xml);
    return rc;
}

static void abort_multipart(s3_dest *s, const char *key, const char *upload_id)
{
    tc_s3_param q[] = {{"uploadId", upload_id}};
    tc_s3_resp resp;
    /* Best effort: prune retries what this leaves. */
    request(s, "DELETE", key, q, 1, NULL, 0, NULL, &resp, NULL, 0);
    tc_s3_resp_free(&resp);
}

/* ------------------------------------------------------------- uploads */

static int upload_begin(tc_backup_upload *u, char *err, size_t errlen)
{
    s3_dest *s = u->d->impl;
    s3_upload *su = calloc(1, sizeof *su);
    if (su) su->buf = malloc(TC_BACKUP_PART_SIZE);
    if (!su || !su->buf) {
        if (su) free(su);
        tc__bk_errf(err, errlen, "%s/%s: out of memory for the upload buffer", u->d->url, u->name);
        return TC_BACKUP_ENOMEM;
    }
    char obj[TC__BK_MAX_OBJECT];
    snprintf(obj, sizeof obj, "%s%s", u->name, TC__BK_SNAP_SUFFIX);
    key_of(s, obj, su->key, sizeof su->key);
    u->impl = su;
    return 0;
}

static int upload_write(tc_backup_upload *u, const void *buf, size_t len, char *err, size_t errlen)
{
    s3_dest *s = u->d->impl;
    s3_upload *su = u->impl;
    const unsigned char *p = buf;
    while (len > 0) {
        size_t n = TC_BACKUP_PART_SIZE - su->len;
        if (n > len) n = len;
        memcpy(su->buf + su->len, p, n);
        su->len += n;
        p += n;
        len -= n;
        if (su->len < TC_BACKUP_PART_SIZE) break;
        int rc = 0;
        if (!su->upload_id[0]) rc = create_multipart(s, su, err, errlen);
        if (!rc) rc = upload_part(s, su, err, errlen);
        if (rc) return rc;
    }
    return 0;
}

static int commit(s3_dest *s, s3_upload *su, char *err, size_t errlen)
{
    if (!su->upload_id[0]) {
        tc_s3_resp resp;
        int rc = request(s, "PUT", su->key, NULL, 0, su->buf, su->len, "application/octet-stream",
                         &resp, err, errlen);
        tc_s3_resp_free(&resp);
        return rc;
    }
    int rc = su->len ? upload_part(s, su, err, errlen) : 0;
    return rc ? rc : complete_multipart(s, su, err, errlen);
}

static int upload_end(tc_backup_upload *u, int commit_it, char *err, size_t errlen)
{
    s3_dest *s = u->d->impl;
    s3_upload *su = u->impl;
    if (!su) return 0;
    int rc = commit_it ? commit(s, su, err, errlen) : 0;
    if ((rc || !commit_it) && su->upload_id[0]) abort_multipart(s, su->key, su->upload_id);
    free(su->etags);
    free(su->buf);
    free(su);
    u->impl = NULL;
    return rc;
}

/* ------------------------------------------------------------- objects */

static int put_small(tc_backup_dest *d, const char *obj, const void *data, size_t len, char *err,
                     size_t errlen)
{
    s3_dest *s = d->impl;
    char key[1200];
    tc_s3_resp resp;
    key_of(s, obj, key, sizeof key);
    int rc = request(s, "PUT", key, NULL, 0, data, len, "application/json", &resp, err, errlen);
    tc_s3_resp_free(&resp);
    return rc;
}

static int get_small(tc_backup_dest *d, const char *obj, char **data, size_t *len, char *err,
                     size_t errlen)
{
    s3_dest *s = d->impl;
    char key[1200];
    key_of(s, obj, key, sizeof key);
    tc_s3_req req = {.method = "GET", .key = key, .body_max = TC__BK_MANIFEST_MAX};
    tc_s3_resp resp;
    int rc = tc_s3_request(&s->c, &req, &resp, err, errlen);
    *data = NULL;
    if (rc && resp.too_large) {
        tc__bk_errf(err, errlen, "s3://%s/%s: larger than %d bytes, not a manifest", s->c.bucket,
                    key, TC__BK_MANIFEST_MAX);
        rc = TC_BACKUP_ECORRUPT;
    }
    if (rc) {
        tc_s3_resp_free(&resp);
        return rc;
    }
    *data = resp.body ? resp.body : strdup("");
    *len = resp.body_len;
    if (!*data) {
        tc__bk_errf(err, errlen, "s3://%s/%s: out of memory", s->c.bucket, key);
        return TC_BACKUP_ENOMEM;
    }
    return 0;
}

typedef struct listing {
    const s3_dest *s;
    tc__bk_object *objs;
    size_t n, cap;
} listing;

static int on_listed(void *ud, const char *key, uint64_t size, int64_t mtime_ms)
{
    listing *l = ud;
    size_t plen = strlen(l->s->prefix);
    if (strncmp(key, l->s->prefix, plen) != 0) return 0;
    const char *name = key + plen;
    /* Only this level: a deeper key belongs to another destination. */
    if (!*name || strchr(name, '/') || strlen(name) >= TC__BK_MAX_OBJECT) return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        tc__bk_object *g = realloc(l->objs, cap * sizeof *g);
        if (!g) return TC_BACKUP_ENOMEM;
        l->objs = g;
        l->cap = cap;
    }
    tc__bk_object *o = &l->objs[l->n++];
    tc__bk_fmt(o->name, sizeof o->name, "%s", name); /* length checked by the caller */
    o->size = size;
    o->mtime_ms = mtime_ms;
    return 0;
}

static int list_page(s3_dest *s, listing *l, char *token, size_t tokenlen, int *more, char *err,
                     size_t errlen)
{
    tc_s3_param q[4] = {{"list-type", "2"}, {"prefix", s->prefix}, {"delimiter", "/"}};
    char current[1024];
    size_t nq = 3;
    snprintf(current, sizeof current, "%s", token);
    if (current[0]) q[nq++] = (tc_s3_param){"continuation-token", current};
    tc_s3_req req = {.method = "GET", .query = q, .nquery = nq};
    tc_s3_resp resp;
    int rc = tc_s3_request(&s->c, &req, &resp, err, errlen);
    if (!rc) {
        rc = tc_s3_parse_list(resp.body ? resp.body : "", resp.body_len, on_listed, l, more,
                              token, tokenlen);
        if (rc == TC_BACKUP_ENOMEM) {
            tc__bk_errf(err, errlen, "s3://%s: out of memory listing", s->c.bucket);
        } else if (rc) {
            tc__bk_errf(err, errlen, "s3://%s/%s: the object listing is malformed", s->c.bucket,
                        s->prefix);
            rc = TC_BACKUP_EREMOTE;
        }
    }
    tc_s3_resp_free(&resp);
    return rc;
}

static int list(tc_backup_dest *d, tc__bk_object **objs, size_t *n, char *err, size_t errlen)
{
    s3_dest *s = d->impl;
    listing l = {.s = s};
    char token[1024] = "";
    int more = 1, rc = 0;
    while (!rc && more) rc = list_page(s, &l, token, sizeof token, &more, err, errlen);
    if (rc) {
        free(l.objs);
        l.objs = NULL;
        l.n = 0;
    }
    *objs = l.objs;
    *n = l.n;
    return rc;
}

static int exists(tc_backup_dest *d, const char *obj, char *err, size_t errlen)
{
    s3_dest *s = d->impl;
    char key[1200];
    tc_s3_resp resp;
    key_of(s, obj, key, sizeof key);
    int rc = request(s, "HEAD", key, NULL, 0, NULL, 0, NULL, &resp, err, errlen);
    tc_s3_resp_free(&resp);
    if (rc == TC_BACKUP_ENOTFOUND) return 0;
    return rc ? rc : 1;
}

static int remove_object(tc_backup_dest *d, const char *obj, char *err, size_t errlen)
{
    s3_dest *s = d->impl;
    char key[1200];
    tc_s3_resp resp;
    key_of(s, obj, key, sizeof key);
    int rc = request(s, "DELETE", key, NULL, 0, NULL, 0, NULL, &resp, err, errlen);
    tc_s3_resp_free(&resp);
    return rc;
}

/* ------------------------------------------------------------- downloads */

typedef struct download {
    int fd;
    EVP_MD_CTX *sha;
    uint64_t done, total;
    tc_backup_progress_fn progress;
    void *ud;
} download;

static int dl_reset(void *ud)
{
    download *dl = ud;
    dl->done = 0;
    if (ftruncate(dl->fd, 0) < 0 || lseek(dl->fd, 0, SEEK_SET) < 0) return -errno;
    return EVP_DigestInit_ex(dl->sha, EVP_sha256(), NULL) == 1 ? 0 : -ENOMEM;
}

static int dl_write(void *ud, const void *buf, size_t len)
{
    download *dl = ud;
    const char *p = buf;
    EVP_DigestUpdate(dl->sha, buf, len);
    for (size_t left = len; left > 0;) {
        ssize_t n = write(dl->fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        p += n;
        left -= (size_t)n;
    }
    dl->done += len;
    if (dl->progress) dl->progress(dl->ud, dl->done, dl->total);
    return 0;
}

static int fetch(tc_backup_dest *d, const char *obj, uint64_t total, const char *dir, char *path,
                 size_t pathlen, tc_backup_progress_fn progress, void *progress_ud, uint64_t *size,
                 char sha256[65], char *err, size_t errlen)
{
    s3_dest *s = d->impl;
    if (!dir || !*dir || !path || (size_t)snprintf(path, pathlen, "%s/%s", dir, obj) >= pathlen) {
        tc__bk_errf(err, errlen, "%s/%s: a download folder and a large enough path buffer are needed",
                    d->url, obj);
        if (path && pathlen) path[0] = '\0';
        return TC_BACKUP_EINVAL;
    }
    download dl = {.total = total, .progress = progress, .ud = progress_ud};
    dl.sha = EVP_MD_CTX_new();
    dl.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (dl.fd < 0 || !dl.sha) {
        tc__bk_errf(err, errlen, "%s: cannot create the download: %s", path, strerror(errno));
        if (dl.fd >= 0) close(dl.fd);
        EVP_MD_CTX_free(dl.sha);
        path[0] = '\0';
        return TC_BACKUP_EIO;
    }
    char key[1200];
    key_of(s, obj, key, sizeof key);
    tc_s3_req req = {.method = "GET", .key = key, .sink = dl_write, .sink_reset = dl_reset,
                     .sink_ud = &dl};
    tc_s3_resp resp;
    int rc = tc_s3_request(&s->c, &req, &resp, err, errlen);
    tc_s3_resp_free(&resp);
    if (close(dl.fd) < 0 && !rc) {
        tc__bk_errf(err, errlen, "%s: close failed: %s", path, strerror(errno));
        rc = TC_BACKUP_EIO;
    }
    if (!rc) {
        unsigned char digest[32];
        EVP_DigestFinal_ex(dl.sha, digest, NULL);
        tc__bk_hex(digest, sha256);
        *size = dl.done;
    } else {
        unlink(path);
        path[0] = '\0';
    }
    EVP_MD_CTX_free(dl.sha);
    return rc;
}

static void fetch_done(tc_backup_dest *d, const char *path)
{
    (void)d;
    unlink(path);
}

/* ------------------------------------------------------------- leftovers */

/* One page of ListMultipartUploads: aborts our uploads started before the
 * cutoff. *more and the markers say where the next page starts. */
static int abort_stale_page(s3_dest *s, int64_t cutoff_ms, char *key_marker, char *id_marker,
                            int *more)
{
    tc_s3_param q[5] = {{"uploads", ""}, {"prefix", s->prefix}};
    size_t nq = 2;
    char km[1200], im[512];
    snprintf(km, sizeof km, "%s", key_marker);
    snprintf(im, sizeof im, "%s", id_marker);
    if (km[0]) q[nq++] = (tc_s3_param){"key-marker", km};
    if (im[0]) q[nq++] = (tc_s3_param){"upload-id-marker", im};
    tc_s3_req req = {.method = "GET", .query = q, .nquery = nq};
    tc_s3_resp resp;
    int rc = tc_s3_request(&s->c, &req, &resp, NULL, 0);
    const char *p = resp.body, *end = p ? p + resp.body_len : NULL, *up;
    size_t n;
    char flag[16] = "";
    *more = 0;
    if (!rc && tc_s3_xml_text(p, resp.body_len, "IsTruncated", flag, sizeof flag) == 1 && flag[0] == 't') {
        *more = tc_s3_xml_text(p, resp.body_len, "NextKeyMarker", key_marker, 1200) == 1 &&
                tc_s3_xml_text(p, resp.body_len, "NextUploadIdMarker", id_marker, 512) == 1;
    }
    while (!rc && p < end && tc_s3_xml_find(p, (size_t)(end - p), "Upload", &up, &n)) {
        char key[1200], id[512], when[64];
        int64_t ms;
        p = up + n;
        if (tc_s3_xml_text(up, n, "Key", key, sizeof key) != 1 ||
            tc_s3_xml_text(up, n, "UploadId", id, sizeof id) != 1 ||
            tc_s3_xml_text(up, n, "Initiated", when, sizeof when) != 1 ||
            tc_s3_parse_time(when, &ms) < 0)
            continue;
        size_t plen = strlen(s->prefix);
        if (strncmp(key, s->prefix, plen) != 0 || strchr(key + plen, '/') || ms >= cutoff_ms) continue;
        abort_multipart(s, key, id);
    }
    tc_s3_resp_free(&resp);
    return rc;
}

/* Unfinished multipart uploads cost storage and are invisible to listing.
 * Best effort: stores that do not implement the listing (s3rver, some
 * S3-compatible servers) are skipped; a bucket lifecycle rule
 * AbortIncompleteMultipartUpload does the same job on AWS. */
static int prune_leftovers(tc_backup_dest *d, int64_t cutoff_ms, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    s3_dest *s = d->impl;
    char key_marker[1200] = "", id_marker[512] = "";
    int more = 1;
    for (int page = 0; more && page < 100; page++)
        if (abort_stale_page(s, cutoff_ms, key_marker, id_marker, &more)) break;
    return 0;
}

static void close_dest(tc_backup_dest *d)
{
    s3_dest *s = d->impl;
    tc_s3_client_free(&s->c);
    free(s);
    d->impl = NULL;
}

static const tc__bk_ops s3_ops = {
    .upload_begin = upload_begin,
    .upload_write = upload_write,
    .upload_end = upload_end,
    .put_small = put_small,
    .get_small = get_small,
    .list = list,
    .exists = exists,
    .remove = remove_object,
    .fetch = fetch,
    .fetch_done = fetch_done,
    .prune_leftovers = prune_leftovers,
    .close = close_dest,
};

/* ------------------------------------------------------------- opening */

static int region_ok(const char *r)
{
    if (!*r) return 0;
    for (; *r; r++)
        if (!((*r >= 'a' && *r <= 'z') || (*r >= '0' && *r <= '9') || *r == '-')) return 0;
    return 1;
}

/* "" -> AWS's endpoint for the region; "host[:port]" -> https://...;
 * refuses other schemes and paths (the bucket and key make the path). */
static int set_endpoint(s3_dest *s, const tc_backup_conf *conf, const char *url, char *err,
                        size_t errlen)
{
    const char *e = conf->s3_endpoint;
    char tmp[sizeof s->c.endpoint];
    int rc;
    if (!e[0]) rc = tc__bk_fmt(tmp, sizeof tmp, "https://s3.%s.amazonaws.com", s->c.region);
    else if (!strstr(e, "://")) rc = tc__bk_fmt(tmp, sizeof tmp, "https://%s", e);
    else rc = tc__bk_fmt(tmp, sizeof tmp, "%s", e);
    size_t n = strlen(tmp);
    while (n && tmp[n - 1] == '/') tmp[--n] = '\0';
    const char *host = strstr(tmp, "://") + 3;
    int scheme_ok = strncmp(tmp, "http://", 7) == 0 || strncmp(tmp, "https://", 8) == 0;
    if (rc || !scheme_ok || !*host || strpbrk(host, "/?#@ ")) {
        tc__bk_errf(err, errlen,
                    "%s: bad s3_endpoint \"%s\": use http(s)://host[:port] with no path",
                    url, conf->s3_endpoint);
        return TC_BACKUP_EINVAL;
    }
    snprintf(s->c.endpoint, sizeof s->c.endpoint, "%s", tmp);
    return 0;
}

/* An address, not a name: "bucket.127.0.0.1" would mean nothing. */
static int host_is_ip(const char *endpoint)
{
    const char *h = strstr(endpoint, "://") + 3;
    if (*h == '[') return 1;
    size_t n = strcspn(h, ":");
    return n > 0 && strspn(h, "0123456789.") == n;
}

int tc__bk_s3_open(tc_backup_dest *d, const tc_backup_conf *conf, const char *bucket,
                   const char *prefix, char *err, size_t errlen)
{
    s3_dest *s = calloc(1, sizeof *s);
    if (!s) {
        tc__bk_errf(err, errlen, "%s: out of memory", d->url);
        return TC_BACKUP_ENOMEM;
    }
    snprintf(s->c.bucket, sizeof s->c.bucket, "%s", bucket);
    snprintf(s->prefix, sizeof s->prefix, "%s%s", prefix, prefix[0] ? "/" : "");
    snprintf(s->c.region, sizeof s->c.region, "%s", conf->s3_region[0] ? conf->s3_region : "us-east-1");
    int rc = 0;
    if (!region_ok(s->c.region)) {
        tc__bk_errf(err, errlen, "%s: bad s3_region \"%s\" (like us-east-1)", d->url, conf->s3_region);
        rc = TC_BACKUP_EINVAL;
    } else if (conf->retries < 0) {
        tc__bk_errf(err, errlen, "%s: retries must not be negative", d->url);
        rc = TC_BACKUP_EINVAL;
    }
    if (!rc) rc = set_endpoint(s, conf, d->url, err, errlen);
    /* A dotted bucket name does not match the TLS certificate's wildcard
     * as a host name, and an IP address takes no bucket in front of it:
     * both are only reachable by path. */
    s->c.path_style = conf->s3_path_style || strchr(bucket, '.') != NULL ||
                      (!rc && host_is_ip(s->c.endpoint));
    s->c.retries = conf->retries ? conf->retries : TC__BK_DEFAULT_RETRIES;
    if (!rc) {
        char why[TC_BACKUP_ERRLEN];
        rc = tc_s3_credentials_load(conf->s3_credentials_file, &s->c.creds, why, sizeof why);
        if (rc) tc__bk_errf(err, errlen, "%s: %s", d->url, why);
    }
    if (!rc) rc = tc_s3_client_init(&s->c, err, errlen);
    if (rc) {
        free(s);
        return rc;
    }
    d->ops = &s3_ops;
    d->impl = s;
    return 0;
}
