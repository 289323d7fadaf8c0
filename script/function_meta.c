/* Redis 7 function libraries without Lua: the first line, names, flags,
 * and the FUNCTION DUMP payload (function_meta.h). */
#include "function_meta.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const flag_names[TC_FN_NFLAGS] = {"no-writes", "allow-oom", "allow-stale", "no-cluster",
                                                     "allow-cross-slot-keys"};

const char *tc_fn_flag_name(int i) { return i >= 0 && i < TC_FN_NFLAGS ? flag_names[i] : NULL; }

unsigned tc_fn_flag_parse(const char *s, size_t len)
{
    for (int i = 0; i < TC_FN_NFLAGS; i++)
        if (strlen(flag_names[i]) == len && strncasecmp(flag_names[i], s, len) == 0) return 1u << i;
    return 0;
}

int tc_fn_name_valid(const char *s, size_t len)
{
    if (len == 0) return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return 0;
    }
    return 1;
}

static int is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f'; }

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* One word of the first line into out (NUL-terminated), as Redis's
 * argument splitter reads it; *p moves past it. 1: a word, 0: none left,
 * -1: unbalanced quotes or a closing quote not followed by a blank. */
static int next_word(const char **p, const char *end, char *out)
{
    const char *s = *p;
    while (s < end && is_blank(*s)) s++;
    if (s == end) {
        *p = s;
        return 0;
    }
    size_t n = 0;
    char quote = 0;
    for (;;) {
        if (s == end) {
            if (quote) return -1;
            break;
        }
        char ch = *s;
        if (quote == '"') {
            if (ch == '\\' && s + 3 < end && s[1] == 'x' && hexval(s[2]) >= 0 && hexval(s[3]) >= 0) {
                out[n++] = (char)(hexval(s[2]) * 16 + hexval(s[3]));
                s += 4;
                continue;
            }
            if (ch == '\\' && s + 1 < end) {
                char e = s[1];
                out[n++] = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e == 'b' ? '\b' : e == 'a' ? '\a' : e;
                s += 2;
                continue;
            }
            if (ch == '"') {
                s++;
                if (s < end && !is_blank(*s)) return -1;
                quote = 0;
                break;
            }
            out[n++] = ch;
            s++;
        } else if (quote == '\'') {
            if (ch == '\\' && s + 1 < end && s[1] == '\'') {
                out[n++] = '\'';
                s += 2;
                continue;
            }
            if (ch == '\'') {
                s++;
                if (s < end && !is_blank(*s)) return -1;
                quote = 0;
                break;
            }
            out[n++] = ch;
            s++;
        } else {
            if (is_blank(ch)) break;
            if (ch == '"' || ch == '\'') quote = ch;
            else out[n++] = ch;
            s++;
        }
    }
    out[n] = '\0';
    *p = s;
    return 1;
}

int tc_fn_parse_meta(const char *code, size_t len, tc_fn_meta *m, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (len < 2 || code[0] != '#' || code[1] != '!') {
        snprintf(err, errlen, "ERR Missing library metadata");
        return -1;
    }
    const char *nl = memchr(code, '\n', len);
    if (!nl) {
        snprintf(err, errlen, "ERR Invalid library metadata");
        return -1;
    }
    size_t line_len = (size_t)(nl - code);
    /* every word fits in the line's length; one NUL per word at most */
    m->buf = malloc(2 * line_len + 2);
    if (!m->buf) {
        snprintf(err, errlen, "ERR out of memory");
        return -1;
    }
    char *out = m->buf;
    const char *p = code, *end = nl;
    int rc = next_word(&p, end, out);
    if (rc <= 0) {
        snprintf(err, errlen, "ERR Invalid library metadata");
        return -1;
    }
    m->engine = out + 2; /* the first word without "#!" */
    out += strlen(out) + 1;
    /* the engine is known before the words after it are checked: Redis
     * splits the whole line first, so a bad quote anywhere fails it all */
    const char *scan = p;
    char *probe = out;
    while ((rc = next_word(&scan, end, probe)) == 1) {
    }
    if (rc < 0) {
        snprintf(err, errlen, "ERR Invalid library metadata");
        return -1;
    }
    while ((rc = next_word(&p, end, out)) == 1) {
        size_t wl = strlen(out);
        if (wl >= 5 && strncasecmp(out, "name=", 5) == 0) {
            if (m->name) {
                snprintf(err, errlen, "ERR Invalid metadata value, name argument was given multiple times");
                return -1;
            }
            m->name = out + 5;
            m->name_len = wl - 5;
            out += wl + 1;
            continue;
        }
        snprintf(err, errlen, "ERR Invalid metadata value given: %.*s", (int)(wl > 200 ? 200 : wl), out);
        return -1;
    }
    if (!m->name) {
        snprintf(err, errlen, "ERR Library name was not given");
        return -1;
    }
    m->body_off = line_len;
    return 0;
}

void tc_fn_meta_free(tc_fn_meta *m)
{
    free(m->buf);
    m->buf = NULL;
}

/* ---- the DUMP payload --------------------------------------------------- */

#define PAYLOAD_MAGIC "TCFN"
#define PAYLOAD_VERSION 1
#define PAYLOAD_HEAD 10 /* magic, version, count */
#define PAYLOAD_SUM 8

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

char *tc_fn_payload_encode(size_t n, const char *const *codes, const size_t *lens, size_t *out_len)
{
    size_t total = PAYLOAD_HEAD + PAYLOAD_SUM;
    for (size_t i = 0; i < n; i++) total += 4 + lens[i];
    unsigned char *buf = malloc(total);
    if (!buf) return NULL;
    memcpy(buf, PAYLOAD_MAGIC, 4);
    buf[4] = PAYLOAD_VERSION & 0xff;
    buf[5] = PAYLOAD_VERSION >> 8;
    put_u32(buf + 6, (uint32_t)n);
    size_t off = PAYLOAD_HEAD;
    for (size_t i = 0; i < n; i++) {
        put_u32(buf + off, (uint32_t)lens[i]);
        memcpy(buf + off + 4, codes[i], lens[i]);
        off += 4 + lens[i];
    }
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(buf, off, md);
    memcpy(buf + off, md, PAYLOAD_SUM);
    *out_len = total;
    return (char *)buf;
}

int tc_fn_payload_decode(const char *p, size_t len, tc_fn_payload_fn fn, void *ud)
{
    const unsigned char *b = (const unsigned char *)p;
    if (len < PAYLOAD_HEAD + PAYLOAD_SUM || memcmp(b, PAYLOAD_MAGIC, 4) != 0 ||
        (b[4] | b[5] << 8) != PAYLOAD_VERSION)
        return -1;
    unsigned char md[SHA256_DIGEST_LENGTH];
    size_t body = len - PAYLOAD_SUM;
    SHA256(b, body, md);
    if (memcmp(md, b + body, PAYLOAD_SUM) != 0) return -1;
    uint32_t n = get_u32(b + 6);
    size_t off = PAYLOAD_HEAD;
    /* every library checked before any is handed out: a payload is taken
     * whole or not at all */
    for (uint32_t i = 0; i < n; i++) {
        if (body - off < 4) return -2;
        uint32_t l = get_u32(b + off);
        if (body - off - 4 < l) return -2;
        off += 4 + (size_t)l;
    }
    if (off != body) return -2;
    off = PAYLOAD_HEAD;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l = get_u32(b + off);
        int rc = fn(ud, p + off + 4, l);
        if (rc) return rc;
        off += 4 + (size_t)l;
    }
    return 0;
}
