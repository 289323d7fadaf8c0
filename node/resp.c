/* RESP request parser. Behaviour follows Redis 7 networking.c
 * (processMultibulkBuffer / processInlineBuffer) and sds.c (sdssplitargs,
 * string2ll); the differences are listed where they occur:
 *
 *  - Line length limits are applied to the first TC_RESP_MAX_INLINE + 1
 *    bytes of a line whatever the reads looked like. Redis only checks the
 *    limit when the terminator is not yet in the buffer, so a long line that
 *    arrives in one read slips through there; here the verdict does not
 *    depend on how TCP split the stream.
 *  - NUL is an ordinary byte in inline commands (Redis's strchr/sdssplitargs
 *    stop at it, which makes such a request hang until the size limit).
 *  - An explicit argument count limit (p->max_args) for both request types.
 *
 * Progress kept across TC_RESP_INCOMPLETE calls (p->pos):
 *  - multibulk_left == 0: the first line (inline command or "*<n>" header)
 *    has been searched for its terminator up to pos.
 *  - multibulk_left > 0, bulk_len < 0: the "$<len>" line of the element that
 *    starts at argv[argc].off has been searched up to pos.
 *  - multibulk_left > 0, bulk_len >= 0: the payload starts at pos
 *    (== argv[argc].off) and we wait for bulk_len + 2 bytes there.
 * So every byte is looked at a bounded number of times however the data is
 * chopped into reads. */
#include "resp.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Internal verdict of the header step: header done, go on with the bulks. */
#define RESP_CONTINUE 2

/* Upper bound of the argv reservation made from an untrusted "*<n>"
 * (Redis does the same); beyond it argv grows only as arguments arrive. */
#define ARGV_PREALLOC_MAX 1024
#define ARGV_MIN_CAP 8

/* string2ll rejects strings of 21 bytes or more (LONG_STR_SIZE). */
#define LL_MAX_CHARS 20

static void reset_progress(tc_resp_parser *p) {
    p->pos = 0;
    p->multibulk_left = 0;
    p->bulk_len = -1;
}

void tc_resp_init(tc_resp_parser *p, uint64_t max_bulk_len, uint64_t max_args) {
    memset(p, 0, sizeof(*p));
    p->max_bulk_len = max_bulk_len;
    p->max_args = max_args;
    reset_progress(p);
}

void tc_resp_free(tc_resp_parser *p) {
    free(p->argv);
    p->argv = NULL;
    p->argc = 0;
    p->argv_cap = 0;
    reset_progress(p);
}

/* Every error ends the connection, so the partial command is dropped; the
 * reset only keeps a misbehaving caller from resuming garbage. */
static int fail(tc_resp_parser *p, const char *msg) {
    snprintf(p->err, sizeof(p->err), "%s", msg);
    reset_progress(p);
    p->argc = 0;
    return TC_RESP_ERR;
}

static int fail_too_many_args(tc_resp_parser *p) {
    char msg[sizeof(p->err)];
    snprintf(msg, sizeof(msg), "Protocol error: too many arguments (limit %" PRIu64 ")",
             p->max_args);
    return fail(p, msg);
}

static int fail_oom(tc_resp_parser *p) {
    return fail(p, "Protocol error: out of memory");
}

/* Makes room for `need` argv entries, at least doubling so that a command
 * with many arguments costs O(log n) reallocs. */
static bool argv_reserve(tc_resp_parser *p, size_t need) {
    if (need <= p->argv_cap)
        return true;
    size_t cap = p->argv_cap ? p->argv_cap * 2 : ARGV_MIN_CAP;
    if (cap < need)
        cap = need;
    if (cap > SIZE_MAX / sizeof(tc_resp_arg))
        return false;
    tc_resp_arg *argv = realloc(p->argv, cap * sizeof(tc_resp_arg));
    if (!argv)
        return false;
    p->argv = argv;
    p->argv_cap = cap;
    return true;
}

/* Same acceptance as Redis's string2ll: optional '-', no leading zeros
 * ("0" alone is fine, "-0" is not), digits only, fits int64, < 21 chars. */
static bool parse_int64(const char *s, size_t n, int64_t *out) {
    if (n == 0 || n > LL_MAX_CHARS)
        return false;
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return true;
    }
    size_t i = 0;
    bool negative = false;
    if (s[0] == '-') {
        negative = true;
        i = 1;
        if (n == 1)
            return false;
    }
    if (s[i] < '1' || s[i] > '9')
        return false;
    uint64_t v = 0;
    for (; i < n; i++) {
        unsigned digit = (unsigned)((unsigned char)s[i] - '0');
        if (digit > 9)
            return false;
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    if (negative) {
        if (v > (uint64_t)INT64_MAX + 1)
            return false;
        /* -(INT64_MAX + 1) is not representable as a positive int64 */
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    } else {
        if (v > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)v;
    }
    return true;
}

/* Searches buf[from, min(len, line_start + TC_RESP_MAX_INLINE + 1)) for c.
 * Returns the offset of c, or SIZE_MAX with *scanned set to where the
 * search stopped. */
static size_t find_in_line(const char *buf, size_t len, size_t line_start, size_t from, char c,
                           size_t *scanned) {
    size_t window = len;
    if (len - line_start > TC_RESP_MAX_INLINE + 1)
        window = line_start + TC_RESP_MAX_INLINE + 1;
    if (from < window) {
        const char *hit = memchr(buf + from, c, window - from);
        if (hit)
            return (size_t)(hit - buf);
    }
    *scanned = window > from ? window : from;
    return SIZE_MAX;
}

/* ---------------------------------------------------------------- inline */

/* isspace() in the C locale, without locale lookups or sign issues. */
static bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char unescape_char(char c) {
    switch (c) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'b': return '\b';
    case 'a': return '\a';
    default: return c;
    }
}

/* sdssplitargs over buf[0..end), unescaping each token in place at its own
 * start: every output byte consumes at least one input byte, so the write
 * index never overtakes the read index. */
static int split_inline(tc_resp_parser *p, char *buf, size_t end) {
    static const char *const unbalanced = "Protocol error: unbalanced quotes in request";
    size_t r = 0;
    for (;;) {
        while (r < end && is_blank(buf[r]))
            r++;
        if (r == end)
            return TC_RESP_OK;
        if (p->argc >= p->max_args)
            return fail_too_many_args(p);

        size_t start = r, w = r;
        bool in_dquote = false, in_squote = false;
        for (;;) {
            if (in_dquote) {
                if (r == end)
                    return fail(p, unbalanced);
                char c = buf[r];
                int hi, lo;
                if (c == '\\' && r + 3 < end && buf[r + 1] == 'x' &&
                    (hi = hex_value(buf[r + 2])) >= 0 && (lo = hex_value(buf[r + 3])) >= 0) {
                    buf[w++] = (char)(hi * 16 + lo);
                    r += 4;
                } else if (c == '\\' && r + 1 < end) {
                    buf[w++] = unescape_char(buf[r + 1]);
                    r += 2;
                } else if (c == '"') {
                    /* the closing quote must end the token */
                    if (r + 1 < end && !is_blank(buf[r + 1]))
                        return fail(p, unbalanced);
                    r++;
                    break;
                } else {
                    buf[w++] = c;
                    r++;
                }
            } else if (in_squote) {
                if (r == end)
                    return fail(p, unbalanced);
                char c = buf[r];
                if (c == '\\' && r + 1 < end && buf[r + 1] == '\'') {
                    buf[w++] = '\'';
                    r += 2;
                } else if (c == '\'') {
                    if (r + 1 < end && !is_blank(buf[r + 1]))
                        return fail(p, unbalanced);
                    r++;
                    break;
                } else {
                    buf[w++] = c;
                    r++;
                }
            } else {
                if (r == end)
                    break;
                char c = buf[r];
                /* Unquoted tokens end only at these four (not at \v or \f,
                 * which sdssplitargs skips between tokens but keeps inside
                 * them). */
                if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                    r++;
                    break;
                }
                if (c == '"')
                    in_dquote = true;
                else if (c == '\'')
                    in_squote = true;
                else
                    buf[w++] = c;
                r++;
            }
        }
        if (!argv_reserve(p, p->argc + 1))
            return fail_oom(p);
        p->argv[p->argc].off = start;
        p->argv[p->argc].len = w - start;
        p->argc++;
    }
}

static int parse_inline(tc_resp_parser *p, char *buf, size_t len, size_t *consumed) {
    size_t newline = find_in_line(buf, len, 0, p->pos, '\n', &p->pos);
    if (newline == SIZE_MAX) {
        if (len > TC_RESP_MAX_INLINE)
            return fail(p, "Protocol error: too big inline request");
        return TC_RESP_INCOMPLETE;
    }
    size_t end = newline;
    if (end > 0 && buf[end - 1] == '\r')
        end--;
    int rc = split_inline(p, buf, end);
    if (rc != TC_RESP_OK)
        return rc;
    reset_progress(p);
    *consumed = newline + 1;
    return TC_RESP_OK;
}

/* ------------------------------------------------------------- multibulk */

/* Sets up argv[argc] as the element starting at `start`, whose "$<len>"
 * line is read next. */
static bool begin_element(tc_resp_parser *p, size_t start) {
    if (!argv_reserve(p, p->argc + 1))
        return false;
    p->argv[p->argc].off = start;
    p->argv[p->argc].len = 0;
    p->bulk_len = -1;
    p->pos = start;
    return true;
}

static int parse_multibulk_header(tc_resp_parser *p, char *buf, size_t len, size_t *consumed) {
    /* Like Redis: the line ends at '\r'; the byte after it is skipped
     * unchecked once it has arrived. */
    size_t cr = find_in_line(buf, len, 0, p->pos, '\r', &p->pos);
    if (cr == SIZE_MAX) {
        if (len > TC_RESP_MAX_INLINE)
            return fail(p, "Protocol error: too big mbulk count string");
        return TC_RESP_INCOMPLETE;
    }
    if (cr + 1 >= len) {
        p->pos = cr;
        return TC_RESP_INCOMPLETE;
    }
    int64_t n;
    if (!parse_int64(buf + 1, cr - 1, &n) || n > INT32_MAX)
        return fail(p, "Protocol error: invalid multibulk length");
    size_t header_end = cr + 2;
    if (n <= 0) {
        reset_progress(p);
        *consumed = header_end;
        return TC_RESP_OK;
    }
    if ((uint64_t)n > p->max_args)
        return fail_too_many_args(p);
    size_t reserve = (uint64_t)n < ARGV_PREALLOC_MAX ? (size_t)n : ARGV_PREALLOC_MAX;
    if (!argv_reserve(p, reserve) || !begin_element(p, header_end))
        return fail_oom(p);
    p->multibulk_left = n;
    return RESP_CONTINUE;
}

static int parse_bulks(tc_resp_parser *p, char *buf, size_t len, size_t *consumed) {
    while (p->multibulk_left > 0) {
        tc_resp_arg *arg = &p->argv[p->argc];
        if (p->bulk_len < 0) {
            size_t start = arg->off;
            size_t cr = find_in_line(buf, len, start, p->pos, '\r', &p->pos);
            if (cr == SIZE_MAX) {
                if (len - start > TC_RESP_MAX_INLINE)
                    return fail(p, "Protocol error: too big bulk count string");
                return TC_RESP_INCOMPLETE;
            }
            if (cr + 1 >= len) {
                p->pos = cr;
                return TC_RESP_INCOMPLETE;
            }
            if (buf[start] != '$') {
                /* Redis maps CR/LF in error replies to spaces; a NUL cuts the
                 * text short there too. */
                char got = buf[start] == '\r' || buf[start] == '\n' ? ' ' : buf[start];
                char msg[sizeof(p->err)];
                snprintf(msg, sizeof(msg), "Protocol error: expected '$', got '%c'", got);
                return fail(p, msg);
            }
            int64_t bulk_len;
            if (!parse_int64(buf + start + 1, cr - start - 1, &bulk_len) || bulk_len < 0 ||
                (uint64_t)bulk_len > p->max_bulk_len)
                return fail(p, "Protocol error: invalid bulk length");
            p->bulk_len = bulk_len;
            p->pos = cr + 2;
            arg->off = p->pos;
        }

        /* Payload plus the two bytes after it, which (like Redis) are
         * skipped without checking that they are "\r\n". */
        uint64_t need = (uint64_t)p->bulk_len + 2;
        if ((uint64_t)(len - p->pos) < need)
            return TC_RESP_INCOMPLETE;
        arg->len = (size_t)p->bulk_len;
        p->argc++;
        p->multibulk_left--;
        size_t next = p->pos + (size_t)need;
        if (p->multibulk_left > 0) {
            if (!begin_element(p, next))
                return fail_oom(p);
        } else {
            p->pos = next;
        }
    }
    *consumed = p->pos;
    reset_progress(p);
    return TC_RESP_OK;
}

int tc_resp_parse(tc_resp_parser *p, char *buf, size_t len, size_t *consumed) {
    *consumed = 0;
    /* A shorter buffer than last time breaks the INCOMPLETE contract; start
     * over rather than index past its end. */
    if (p->pos > len) {
        reset_progress(p);
        p->argc = 0;
    }
    if (p->multibulk_left == 0) {
        p->argc = 0;
        if (len == 0)
            return TC_RESP_INCOMPLETE;
        if (buf[0] != '*')
            return parse_inline(p, buf, len, consumed);
        int rc = parse_multibulk_header(p, buf, len, consumed);
        if (rc != RESP_CONTINUE)
            return rc;
    }
    return parse_bulks(p, buf, len, consumed);
}

size_t tc_resp_missing(const tc_resp_parser *p, size_t len) {
    if (p->multibulk_left <= 0 || p->bulk_len < 0 || p->pos > len)
        return 0;
    uint64_t need = (uint64_t)p->bulk_len + 2;
    uint64_t have = len - p->pos;
    if (have >= need)
        return 0;
    uint64_t missing = need - have;
    return missing > SIZE_MAX ? SIZE_MAX : (size_t)missing;
}
