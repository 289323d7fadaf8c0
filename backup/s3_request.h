/* One S3 request, signed with AWS Signature Version 4 by libcurl
 * (CURLOPT_AWS_SIGV4), retried on the failures that retrying can cure.
 * Used by backup_s3.c; the building blocks (encoding, canonical query,
 * XML) are exposed for tests. Not part of the snapshot module's face.
 *
 * What libcurl 7.88 does and does not do for us, and so what this code
 * must (each checked against AWS's documented signatures by
 * tests/unit/test_s3_sigv4.c):
 *   - it signs the method, the path exactly as given, the query exactly as
 *     given, Host, X-Amz-Date and every header we add; it neither sorts
 *     nor encodes the query, so we build it sorted and encoded;
 *   - it signs the payload hash we put in x-amz-content-sha256 (S3 needs
 *     that header anyway), so we hash every body we send;
 *   - it adds Expect: 100-continue to PUTs after signing, unsigned, which
 *     S3 accepts; removing it with an empty "Expect:" header would put an
 *     "expect" entry in SignedHeaders instead, so we leave it;
 *   - given an x-amz-date header it uses that date but sends the header
 *     twice, so only tests (with an injected clock) give one. */
#ifndef TC_S3_REQUEST_H
#define TC_S3_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#define TC_S3_BACKOFF_MS 100          /* first retry delay; doubles each time */
#define TC_S3_BACKOFF_CAP_MS 5000
#define TC_S3_CONNECT_TIMEOUT_S 10
#define TC_S3_LOW_SPEED_BYTES 1024    /* abort a transfer slower than this ... */
#define TC_S3_LOW_SPEED_S 30          /* ... for this long */
#define TC_S3_BODY_MAX (4u << 20)     /* largest answer kept in memory by default */
#define TC_S3_MAX_TOKEN 4096

/* ------------------------------------------------------------- credentials */

typedef struct tc_s3_creds {
    char access_key[128];
    char secret_key[128];
    char token[TC_S3_MAX_TOKEN];   /* "" = none */
    char source[600];              /* where they came from, for messages */
} tc_s3_creds;

/* AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, else the
 * shared credentials file: file if non-empty, else
 * $AWS_SHARED_CREDENTIALS_FILE, else $HOME/.aws/credentials, section
 * $AWS_PROFILE or "default". TC_BACKUP_EAUTH when there are none. */
int tc_s3_credentials_load(const char *file, tc_s3_creds *creds, char *err, size_t errlen);

/* ------------------------------------------------------------- client */

typedef struct tc_s3_param {
    const char *name;
    const char *value;             /* "" for a bare flag such as "uploads" */
} tc_s3_param;

typedef struct tc_s3_client {
    char endpoint[256];            /* scheme://host[:port], no trailing slash */
    char region[64];
    char bucket[64];
    int path_style;                /* endpoint/bucket/key rather than bucket.endpoint/key */
    tc_s3_creds creds;
    int retries;                   /* attempts after the first */
    unsigned backoff_ms;           /* 0 = TC_S3_BACKOFF_MS */
    /* Tests: a fixed clock (unix seconds) makes us send x-amz-date, which
     * libcurl then signs instead of its own clock; connect_to is a
     * CURLOPT_CONNECT_TO entry ("host:port:127.0.0.1:port"). */
    int64_t (*clock)(void);
    const char *connect_to;
    void *curl;                    /* CURL *, reused so connections are kept */
    uint64_t rng;                  /* for backoff jitter */
} tc_s3_client;

/* After the fields above are set: creates the curl handle. */
int tc_s3_client_init(tc_s3_client *c, char *err, size_t errlen);
void tc_s3_client_free(tc_s3_client *c);

/* Receives a 2xx answer's body; 0 or a negative errno value. */
typedef int (*tc_s3_sink_fn)(void *ud, const void *buf, size_t len);

typedef struct tc_s3_req {
    const char *method;            /* GET HEAD PUT POST DELETE */
    const char *key;               /* object key, not encoded; NULL = the bucket */
    const tc_s3_param *query;
    size_t nquery;
    const char *const *headers;    /* "Name: value", signed with the rest */
    size_t nheaders;
    const void *body;              /* from memory, so any attempt can resend it */
    size_t body_len;
    tc_s3_sink_fn sink;            /* NULL: the body goes to resp->body */
    int (*sink_reset)(void *ud);   /* before every attempt (a retry starts over) */
    void *sink_ud;
    size_t body_max;               /* 0 = TC_S3_BODY_MAX */
    int error_in_200;              /* CompleteMultipartUpload may answer 200 with an <Error> */
} tc_s3_req;

typedef struct tc_s3_resp {
    long status;                   /* of the last attempt; 0 if none got an answer */
    char *body;                    /* malloc'd, NUL-terminated (also error bodies) */
    size_t body_len;
    int too_large;                 /* the body went over body_max */
    char etag[128];
    char code[64];                 /* S3's error Code, if any */
    char message[256];             /* and its Message */
    int attempts;
} tc_s3_resp;

/* 0 on a 2xx answer; else a TC_BACKUP_E* code with a message naming the
 * object (s3://bucket/key) and what to do: EAUTH for 401/403, ENOTFOUND
 * for 404, ENET when the endpoint could not be reached or stayed busy
 * (5xx, 429, SlowDown) through every retry, EINVAL for a wrong region,
 * EIO when the sink failed, EREMOTE otherwise. Free resp either way. */
int tc_s3_request(tc_s3_client *c, const tc_s3_req *req, tc_s3_resp *resp, char *err, size_t errlen);
void tc_s3_resp_free(tc_s3_resp *resp);

/* ------------------------------------------------------------- building blocks */

/* SigV4 URI encoding: every byte but A-Z a-z 0-9 - . _ ~ (and '/' when
 * keep_slash) as %XX with upper-case hex. Returns the length, or (size_t)-1
 * if out is too small. */
size_t tc_s3_encode(const char *in, int keep_slash, char *out, size_t outlen);
/* name=value pairs encoded and sorted by name, then value; a bare flag
 * becomes "name=". 0, or -1 if out is too small. */
int tc_s3_canonical_query(const tc_s3_param *q, size_t n, char *out, size_t outlen);
/* The request URL for key (NULL = the bucket) with that query. */
int tc_s3_url(const tc_s3_client *c, const char *key, const tc_s3_param *q, size_t nq, char *out,
              size_t outlen);

/* XML, just enough for S3's answers (no namespaces, CDATA or nesting of
 * an element in itself). find: the first <tag>...</tag> at or after xml;
 * 1 with its content, 0 if none. text: its content with entities decoded
 * into out; 1, 0 if absent, -1 if malformed or too long. */
int tc_s3_xml_find(const char *xml, size_t len, const char *tag, const char **inner,
                   size_t *inner_len);
int tc_s3_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t outlen);
/* "2013-05-24T00:00:00.000Z" -> unix ms; 0 or -1. */
int tc_s3_parse_time(const char *iso, int64_t *ms);

/* A ListObjectsV2 answer: fn for every <Contents> (returning non-zero
 * stops with that value), *truncated from IsTruncated, and the
 * NextContinuationToken (required when truncated). 0, or -1 if the answer
 * is malformed. */
typedef int (*tc_s3_list_fn)(void *ud, const char *key, uint64_t size, int64_t mtime_ms);
int tc_s3_parse_list(const char *xml, size_t len, tc_s3_list_fn fn, void *ud, int *truncated,
                     char *token, size_t tokenlen);

#endif
