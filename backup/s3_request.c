/* One signed S3 request with retries, over libcurl's easy API. See
 * s3_request.h for what libcurl signs and what we must prepare for it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "backup_internal.h"
#include "s3_request.h"

/* ------------------------------------------------------------- encoding */

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

size_t tc_s3_encode(const char *in, int keep_slash, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        int plain = unreserved(*p) || (keep_slash && *p == '/');
        size_t need = plain ? 1 : 3;
        if (o + need >= outlen) return (size_t)-1;
        if (plain) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    if (o >= outlen) return (size_t)-1;
    out[o] = '\0';
    return o;
}

typedef struct enc_param {
    char *name, *value;
} enc_param;

static int cmp_param(const enc_param *a, const enc_param *b)
{
    int c = strcmp(a->name, b->name);
    return c ? c : strcmp(a->value, b->value);
}

int tc_s3_canonical_query(const tc_s3_param *q, size_t n, char *out, size_t outlen)
{
    if (outlen == 0) return -1;
    out[0] = '\0';
    if (n == 0) return 0;
    enc_param *e = calloc(n, sizeof *e);
    char *space = malloc(outlen * 2);
    int rc = (e && space) ? 0 : -1;
    size_t used = 0;
    /* Encode each name and value into one scratch area, then sort. */
    for (size_t i = 0; i < n && !rc; i++) {
        size_t k;
        e[i].name = space + used;
        k = tc_s3_encode(q[i].name, 0, e[i].name, outlen * 2 - used);
        if (k == (size_t)-1) rc = -1;
        else used += k + 1;
        if (rc) break;
        e[i].value = space + used;
        k = tc_s3_encode(q[i].value ? q[i].value : "", 0, e[i].value, outlen * 2 - used);
        if (k == (size_t)-1) rc = -1;
        else used += k + 1;
    }
    for (size_t i = 1; i < n && !rc; i++) { /* insertion sort: n is a handful */
        enc_param x = e[i];
        size_t j = i;
        for (; j > 0 && cmp_param(&e[j - 1], &x) > 0; j--) e[j] = e[j - 1];
        e[j] = x;
    }
    size_t o = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        int k = snprintf(out + o, outlen - o, "%s%s=%s", i ? "&" : "", e[i].name, e[i].value);
        if (k < 0 || (size_t)k >= outlen - o) rc = -1;
        else o += (size_t)k;
    }
    if (rc) out[0] = '\0';
    free(e);
    free(space);
    return rc;
}

int tc_s3_url(const tc_s3_client *c, const char *key, const tc_s3_param *q, size_t nq, char *out,
              size_t outlen)
{
    const char *sep = strstr(c->endpoint, "://");
    if (!sep) return -1;
    size_t scheme_len = (size_t)(sep - c->endpoint) + 3;
    const char *hostport = sep + 3;
    char path[3 * 1024 + 2], query[4096];
    path[0] = '\0';
    if (key && *key && tc_s3_encode(key, 1, path, sizeof path) == (size_t)-1) return -1;
    if (tc_s3_canonical_query(q, nq, query, sizeof query) < 0) return -1;
    int k;
    if (c->path_style) {
        k = snprintf(out, outlen, "%.*s%s/%s%s%s%s%s", (int)scheme_len, c->endpoint, hostport,
                     c->bucket, path[0] ? "/" : "", path, query[0] ? "?" : "", query);
    } else {
        k = snprintf(out, outlen, "%.*s%s.%s/%s%s%s", (int)scheme_len, c->endpoint, c->bucket,
                     hostport, path, query[0] ? "?" : "", query);
    }
    return (k < 0 || (size_t)k >= outlen) ? -1 : 0;
}

/* ------------------------------------------------------------- XML */

int tc_s3_xml_find(const char *xml, size_t len, const char *tag, const char **inner,
                   size_t *inner_len)
{
    size_t tlen = strlen(tag);
    const char *p = xml, *end = xml + len;
    char close[80];
    if (tlen + 4 > sizeof close) return 0;
    snprintf(close, sizeof close, "</%s>", tag);
    while (p < end) {
        const char *lt = memchr(p, '<', (size_t)(end - p));
        if (!lt || (size_t)(end - lt) < tlen + 2) return 0;
        p = lt + 1;
        if (memcmp(p, tag, tlen) != 0) continue;
        char after = p[tlen];
        if (after != '>' && after != ' ' && after != '/') continue;
        const char *gt = memchr(p, '>', (size_t)(end - p));
        if (!gt) return 0;
        if (gt[-1] == '/') { /* <tag/> */
            *inner = gt + 1;
            *inner_len = 0;
            return 1;
        }
        const char *c = memmem(gt + 1, (size_t)(end - gt - 1), close, tlen + 3);
        if (!c) return 0;
        *inner = gt + 1;
        *inner_len = (size_t)(c - gt - 1);
        return 1;
    }
    return 0;
}

static int put_utf8(unsigned long v, char *out, size_t *o, size_t outlen)
{
    unsigned char b[4];
    size_t k;
    if (v == 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return -1;
    if (v < 0x80) {
        b[0] = (unsigned char)v;
        k = 1;
    } else if (v < 0x800) {
        b[0] = (unsigned char)(0xc0 | v >> 6);
        b[1] = (unsigned char)(0x80 | (v & 0x3f));
        k = 2;
    } else if (v < 0x10000) {
        b[0] = (unsigned char)(0xe0 | v >> 12);
        b[1] = (unsigned char)(0x80 | ((v >> 6) & 0x3f));
        b[2] = (unsigned char)(0x80 | (v & 0x3f));
        k = 3;
    } else {
        b[0] = (unsigned char)(0xf0 | v >> 18);
        b[1] = (unsigned char)(0x80 | ((v >> 12) & 0x3f));
        b[2] = (unsigned char)(0x80 | ((v >> 6) & 0x3f));
        b[3] = (unsigned char)(0x80 | (v & 0x3f));
        k = 4;
    }
    if (*o + k >= outlen) return -1;
    memcpy(out + *o, b, k);
    *o += k;
    return 0;
}

/* One entity starting at s[0] == '&'; returns its length or -1. */
static int entity(const char *s, size_t avail, char *out, size_t *o, size_t outlen)
{
    static const struct { const char *name; char c; } named[] = {
        {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''},
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        size_t k = strlen(named[i].name);
        if (avail >= k && memcmp(s, named[i].name, k) == 0) {
            if (*o + 1 >= outlen) return -1;
            out[(*o)++] = named[i].c;
            return (int)k;
        }
    }
    const char *semi = memchr(s, ';', avail < 12 ? avail : 12);
    if (avail < 4 || s[1] != '#' || !semi) return -1;
    char num[12];
    int hex = s[2] == 'x' || s[2] == 'X';
    size_t digits = (size_t)(semi - s) - 2 - (size_t)hex;
    if (digits == 0 || digits >= sizeof num) return -1;
    memcpy(num, s + 2 + hex, digits);
    num[digits] = '\0';
    char *endp;
    unsigned long v = strtoul(num, &endp, hex ? 16 : 10);
    if (*endp || put_utf8(v, out, o, outlen) < 0) return -1;
    return (int)(semi - s) + 1;
}

int tc_s3_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t outlen)
{
    const char *in;
    size_t n, o = 0;
    if (outlen == 0) return -1;
    out[0] = '\0';
    if (!tc_s3_xml_find(xml, len, tag, &in, &n)) return 0;
    for (size_t i = 0; i < n;) {
        if (in[i] == '&') {
            int k = entity(in + i, n - i, out, &o, outlen);
            if (k < 0) return -1;
            i += (size_t)k;
            continue;
        }
        if (in[i] == '<' || o + 1 >= outlen) return -1;
        out[o++] = in[i++];
    }
    out[o] = '\0';
    return 1;
}

int tc_s3_parse_time(const char *iso, int64_t *ms)
{
    struct tm tm;
    int frac = 0, used = 0;
    memset(&tm, 0, sizeof tm);
    if (sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &used) != 6)
        return -1;
    const char *p = iso + used;
    if (*p == '.') {
        int scale = 100;
        for (p++; *p >= '0' && *p <= '9'; p++) {
            frac += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0) return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1) return -1;
    *ms = (int64_t)t * 1000 + frac;
    return 0;
}

static int parse_contents(const char *b, size_t n, tc_s3_list_fn fn, void *ud)
{
    char key[1200], size[32], when[64];
    if (tc_s3_xml_text(b, n, "Key", key, sizeof key) != 1) return -1;
    if (tc_s3_xml_text(b, n, "Size", size, sizeof size) != 1) return -1;
    if (tc_s3_xml_text(b, n, "LastModified", when, sizeof when) != 1) return -1;
    char *endp;
    errno = 0;
    unsigned long long sz = strtoull(size, &endp, 10);
    int64_t ms;
    if (!size[0] || *endp || size[0] == '-' || errno || tc_s3_parse_time(when, &ms) < 0) return -1;
    return fn(ud, key, sz, ms);
}

int tc_s3_parse_list(const char *xml, size_t len, tc_s3_list_fn fn, void *ud, int *truncated,
                     char *token, size_t tokenlen)
{
    const char *root;
    size_t rlen;
    if (!tc_s3_xml_find(xml, len, "ListBucketResult", &root, &rlen)) return -1;
    char flag[16];
    if (tc_s3_xml_text(root, rlen, "IsTruncated", flag, sizeof flag) != 1) return -1;
    if (strcmp(flag, "true") != 0 && strcmp(flag, "false") != 0) return -1;
    *truncated = flag[0] == 't';
    token[0] = '\0';
    if (*truncated && tc_s3_xml_text(root, rlen, "NextContinuationToken", token, tokenlen) != 1)
        return -1;
    const char *p = root, *end = root + rlen, *inner;
    size_t n;
    while (p < end && tc_s3_xml_find(p, (size_t)(end - p), "Contents", &inner, &n)) {
        int rc = parse_contents(inner, n, fn, ud);
        if (rc) return rc;
        p = inner + n + strlen("</Contents>");
    }
    return 0;
}

/* ------------------------------------------------------------- client */

int tc_s3_client_init(tc_s3_client *c, char *err, size_t errlen)
{
    /* Reference counted, and thread-safe in libcurl builds with the
     * "threadsafe" feature (Debian 12's has it). */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        tc__bk_errf(err, errlen, "s3://%s: libcurl failed to initialize", c->bucket);
        return TC_BACKUP_ENOMEM;
    }
    c->curl = curl_easy_init();
    if (!c->curl) {
        curl_global_cleanup();
        tc__bk_errf(err, errlen, "s3://%s: libcurl failed to initialize", c->bucket);
        return TC_BACKUP_ENOMEM;
    }
    c->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c;
    if (!c->rng) c->rng = 1;
    return 0;
}

void tc_s3_client_free(tc_s3_client *c)
{
    if (!c || !c->curl) return;
    curl_easy_cleanup(c->curl);
    c->curl = NULL;
    curl_global_cleanup();
}

void tc_s3_resp_free(tc_s3_resp *resp)
{
    if (!resp) return;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

/* ------------------------------------------------------------- one attempt */

typedef struct attempt {
    CURL *curl;
    const tc_s3_req *req;
    tc_s3_resp *resp;
    size_t body_cap;
    int sink_errno;                /* the sink failed (a local problem: no retry) */
    size_t up_pos;                 /* bytes of req->body sent */
} attempt;

static int is_2xx(long status)
{
    return status >= 200 && status < 300;
}

static size_t keep_body(attempt *a, const char *data, size_t n, size_t max)
{
    tc_s3_resp *r = a->resp;
    if (r->body_len + n > max) {
        r->too_large = 1;
        n = max - r->body_len;
    }
    if (r->body_len + n + 1 > a->body_cap) {
        size_t cap = a->body_cap ? a->body_cap : 4096;
        while (cap < r->body_len + n + 1) cap *= 2;
        char *g = realloc(r->body, cap);
        if (!g) return 0;
        r->body = g;
        a->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    attempt *a = ud;
    size_t n = size * nmemb;
    long status = 0;
    curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
    if (is_2xx(status) && a->req->sink) {
        int rc = a->req->sink(a->req->sink_ud, data, n);
        if (rc) {
            a->sink_errno = rc < 0 ? -rc : EIO;
            return 0;
        }
        return n;
    }
    if (!is_2xx(status)) { /* an error body: keep its start, drop the rest */
        if (a->resp->body_len < 65536) keep_body(a, data, n, 65536);
        return n;
    }
    size_t max = a->req->body_max ? a->req->body_max : TC_S3_BODY_MAX;
    size_t kept = keep_body(a, data, n, max);
    return a->resp->too_large ? 0 : kept;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
    attempt *a = ud;
    size_t n = size * nmemb;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        a->resp->etag[0] = '\0'; /* a new answer (after 100 Continue) */
    } else if (n > 5 && strncasecmp(data, "etag:", 5) == 0) {
        const char *v = data + 5;
        size_t len = n - 5;
        while (len && (*v == ' ' || *v == '\t')) v++, len--;
        while (len && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ')) len--;
        if (len < sizeof a->resp->etag) {
            memcpy(a->resp->etag, v, len);
            a->resp->etag[len] = '\0';
        }
    }
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
    attempt *a = ud;
    size_t left = a->req->body_len - a->up_pos, n = size * nitems;
    if (n > left) n = left;
    memcpy(buf, (const char *)a->req->body + a->up_pos, n);
    a->up_pos += n;
    return n;
}

/* libcurl rewinds the body when it must send it again on one request. */
static int on_seek(void *ud, curl_off_t offset, int origin)
{
    attempt *a = ud;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > a->req->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    a->up_pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static void set_method(CURL *h, const tc_s3_req *req, attempt *a)
{
    const char *m = req->method;
    if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(m, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, a);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, a);
    } else if (strcmp(m, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body_len ? req->body : "");
    } else if (strcmp(m, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
    }
}

static CURLcode perform(tc_s3_client *c, const tc_s3_req *req, const char *url,
                        struct curl_slist *headers, struct curl_slist *connect_to, attempt *a,
                        char *curl_err)
{
    CURL *h = c->curl;
    char provider[100];
    snprintf(provider, sizeof provider, "aws:amz:%s:s3", c->region);
    curl_easy_reset(h); /* keeps the connection cache */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)TC_S3_CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)TC_S3_LOW_SPEED_BYTES);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)TC_S3_LOW_SPEED_S);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, provider);
    /* Separately rather than CURLOPT_USERPWD "key:secret", which would
     * split at a colon inside the key. */
    curl_easy_setopt(h, CURLOPT_USERNAME, c->creds.access_key);
    curl_easy_setopt(h, CURLOPT_PASSWORD, c->creds.secret_key);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
    if (connect_to) curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect_to);
    set_method(h, req, a);
    curl_err[0] = '\0';
    return curl_easy_perform(h);
}

/* ------------------------------------------------------------- the request */

static int retryable_curl(CURLcode cc)
{
    switch (cc) {
    case CURLE_UNSUPPORTED_PROTOCOL: case CURLE_URL_MALFORMAT: case CURLE_NOT_BUILT_IN:
    case CURLE_OUT_OF_MEMORY: case CURLE_BAD_FUNCTION_ARGUMENT: case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM: case CURLE_SSL_CACERT_BADFILE: case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_WRITE_ERROR: case CURLE_READ_ERROR: case CURLE_LOGIN_DENIED:
        return 0;
    default:
        return 1;
    }
}

static int retryable_answer(const tc_s3_resp *r)
{
    long s = r->status;
    if (s == 500 || s == 502 || s == 503 || s == 504 || s == 429) return 1;
    return strcmp(r->code, "SlowDown") == 0 || strcmp(r->code, "InternalError") == 0 ||
           strcmp(r->code, "RequestTimeout") == 0;
}

static void parse_error(tc_s3_resp *r)
{
    r->code[0] = r->message[0] = '\0';
    if (!r->body) return;
    const char *e;
    size_t n;
    if (!tc_s3_xml_find(r->body, r->body_len, "Error", &e, &n)) return;
    if (tc_s3_xml_text(e, n, "Code", r->code, sizeof r->code) != 1) r->code[0] = '\0';
    if (tc_s3_xml_text(e, n, "Message", r->message, sizeof r->message) != 1) r->message[0] = '\0';
}

/* Full jitter on the upper half: uniform in [d/2, d], d = base * 2^attempt
 * capped, so clients that failed together do not retry together. */
static void backoff(tc_s3_client *c, int attempt_no)
{
    unsigned base = c->backoff_ms ? c->backoff_ms : TC_S3_BACKOFF_MS;
    uint64_t d = base;
    for (int i = 0; i < attempt_no && d < TC_S3_BACKOFF_CAP_MS; i++) d *= 2;
    if (d > TC_S3_BACKOFF_CAP_MS) d = TC_S3_BACKOFF_CAP_MS;
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    uint64_t ms = d / 2 + c->rng % (d / 2 + 1);
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static void display_name(const tc_s3_client *c, const char *key, char *out, size_t len)
{
    snprintf(out, len, "s3://%s%s%.700s", c->bucket, key && *key ? "/" : "", key ? key : "");
}

static int answer_error(const tc_s3_client *c, const tc_s3_req *req, const tc_s3_resp *r,
                        const char *obj, char *err, size_t errlen)
{
    char said[400];
    snprintf(said, sizeof said, "HTTP %ld%s%s%s%.200s", r->status, r->code[0] ? " " : "", r->code,
             r->message[0] ? ": " : "", r->message);
    if (r->status == 401 || r->status == 403) {
        if (strcmp(r->code, "RequestTimeTooSkewed") == 0) {
            tc__bk_errf(err, errlen, "%s: %s refused (%s): this machine's clock is wrong; fix it (NTP)",
                        obj, req->method, said);
        } else {
            tc__bk_errf(err, errlen,
                        "%s: %s refused (%s): check the credentials (from %s) and that they may "
                        "use this bucket",
                        obj, req->method, said, c->creds.source);
        }
        return TC_BACKUP_EAUTH;
    }
    if (r->status == 404) {
        if (strcmp(r->code, "NoSuchBucket") == 0) {
            tc__bk_errf(err, errlen, "%s: bucket %s does not exist (%s): create it or fix the URL",
                        obj, c->bucket, said);
        } else {
            tc__bk_errf(err, errlen, "%s: not found (%s)", obj, said);
        }
        return TC_BACKUP_ENOTFOUND;
    }
    if (strcmp(r->code, "PermanentRedirect") == 0 || strcmp(r->code, "AuthorizationHeaderMalformed") == 0 ||
        r->status == 301 || r->status == 307) {
        tc__bk_errf(err, errlen,
                    "%s: %s failed (%s): the bucket is probably in another region than %s; set "
                    "s3_region (or s3_endpoint)",
                    obj, req->method, said, c->region);
        return TC_BACKUP_EINVAL;
    }
    if (retryable_answer(r)) {
        tc__bk_errf(err, errlen, "%s: %s still failing after %d attempts (%s); try again later",
                    obj, req->method, r->attempts, said);
        return TC_BACKUP_ENET;
    }
    tc__bk_errf(err, errlen, "%s: %s failed (%s)", obj, req->method, said);
    return TC_BACKUP_EREMOTE;
}

static struct curl_slist *build_headers(const tc_s3_client *c, const tc_s3_req *req)
{
    struct curl_slist *list = NULL, *next;
    char line[TC_S3_MAX_TOKEN + 64];
    unsigned char digest[32];
    char hex[65];
    int has_type = 0;
    /* The payload hash S3 insists on; libcurl signs it as given. */
    EVP_Digest(req->body_len ? req->body : "", req->body_len, digest, NULL, EVP_sha256(), NULL);
    tc__bk_hex(digest, hex);
    snprintf(line, sizeof line, "x-amz-content-sha256: %s", hex);
    if (!(list = curl_slist_append(list, line))) return NULL;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strncasecmp(req->headers[i], "content-type:", 13) == 0) has_type = 1;
        if (!(next = curl_slist_append(list, req->headers[i]))) goto fail;
        list = next;
    }
    /* Without one, libcurl adds an unsigned form-urlencoded type to POSTs. */
    if (strcmp(req->method, "POST") == 0 && !has_type) {
        if (!(next = curl_slist_append(list, "Content-Type: application/octet-stream"))) goto fail;
        list = next;
    }
    if (c->creds.token[0]) {
        snprintf(line, sizeof line, "x-amz-security-token: %s", c->creds.token);
        if (!(next = curl_slist_append(list, line))) goto fail;
        list = next;
    }
    if (c->clock) {
        time_t now = (time_t)c->clock();
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(line, sizeof line, "x-amz-date: %Y%m%dT%H%M%SZ", &tm);
        if (!(next = curl_slist_append(list, line))) goto fail;
        list = next;
    }
    return list;
fail:
    curl_slist_free_all(list);
    return NULL;
}

/* Runs the attempts; returns the final curl code (the answer is in resp). */
static CURLcode attempts(tc_s3_client *c, const tc_s3_req *req, const char *url,
                         struct curl_slist *headers, struct curl_slist *connect_to,
                         tc_s3_resp *resp, attempt *a, char *curl_err)
{
    CURLcode cc = CURLE_OK;
    for (int i = 0;; i++) {
        tc_s3_resp_free(resp);
        resp->too_large = 0;
        resp->status = 0;
        resp->etag[0] = resp->code[0] = resp->message[0] = '\0';
        memset(a, 0, sizeof *a);
        a->curl = c->curl;
        a->req = req;
        a->resp = resp;
        resp->attempts = i + 1;
        if (req->sink_reset && req->sink_reset(req->sink_ud) < 0) {
            a->sink_errno = EIO;
            return CURLE_WRITE_ERROR;
        }
        cc = perform(c, req, url, headers, connect_to, a, curl_err);
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
        if (cc == CURLE_OK && (!is_2xx(resp->status) || req->error_in_200)) parse_error(resp);
        int again = cc != CURLE_OK ? retryable_curl(cc) && !a->sink_errno && !resp->too_large
                                   : retryable_answer(resp);
        if (!again || i >= c->retries) return cc;
        backoff(c, i);
    }
}

int tc_s3_request(tc_s3_client *c, const tc_s3_req *req, tc_s3_resp *resp, char *err, size_t errlen)
{
    char url[8192], obj[800], curl_err[CURL_ERROR_SIZE];
    memset(resp, 0, sizeof *resp);
    display_name(c, req->key, obj, sizeof obj);
    if (tc_s3_url(c, req->key, req->query, req->nquery, url, sizeof url) < 0) {
        tc__bk_errf(err, errlen, "%s: the request URL is too long", obj);
        return TC_BACKUP_EINVAL;
    }
    struct curl_slist *headers = build_headers(c, req), *connect_to = NULL;
    if (c->connect_to) connect_to = curl_slist_append(NULL, c->connect_to);
    if (!headers || (c->connect_to && !connect_to)) {
        curl_slist_free_all(headers);
        curl_slist_free_all(connect_to);
        tc__bk_errf(err, errlen, "%s: out of memory", obj);
        return TC_BACKUP_ENOMEM;
    }
    attempt a;
    CURLcode cc = attempts(c, req, url, headers, connect_to, resp, &a, curl_err);
    curl_slist_free_all(headers);
    curl_slist_free_all(connect_to);
    if (a.sink_errno) {
        tc__bk_errf(err, errlen, "%s: saving the download failed: %s", obj, strerror(a.sink_errno));
        return TC_BACKUP_EIO;
    }
    if (resp->too_large) {
        tc__bk_errf(err, errlen, "%s: %s: the answer is larger than the %zu bytes expected", obj,
                    req->method, req->body_max ? req->body_max : (size_t)TC_S3_BODY_MAX);
        return TC_BACKUP_EREMOTE;
    }
    if (cc != CURLE_OK) {
        tc__bk_errf(err, errlen,
                    "%s: %s failed after %d attempt%s: %s; check s3_endpoint (%s) and the network",
                    obj, req->method, resp->attempts, resp->attempts > 1 ? "s" : "",
                    curl_err[0] ? curl_err : curl_easy_strerror(cc), c->endpoint);
        return TC_BACKUP_ENET;
    }
    if (is_2xx(resp->status) && !(req->error_in_200 && resp->code[0])) return 0;
    return answer_error(c, req, resp, obj, err, errlen); /* also an <Error> inside a 200 */
}
