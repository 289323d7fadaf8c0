/* Bit commands on string values (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
 * BITFIELD, BITFIELD_RO) and LCS. Semantics, argument order of checks and
 * error texts follow Redis 7.0's bitops.c and t_string.c. Bit 0 is the most
 * significant bit of byte 0, as in Redis. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "notify.h"
#include "server.h"

#define ERR_BIT_OFFSET "ERR bit offset is not an integer or out of range"

static int arg_ll(tc_ctx *c, size_t i, long long *v)
{
    if (tc_parse_ll(c->argv[i].p, c->argv[i].len, v) == 0) return 0;
    tc_reply_error(c->r, TC_ERR_NOT_INT);
    return -1;
}

/* Live key or NULL; WRONGTYPE replied (and *wrong set) for a non-string. */
static tc_key *find_string(tc_ctx *c, const tc_slice *key, int *wrong)
{
    tc_key *e = tc_ks_find(c->ks, key->p, key->len, c->now_ms);
    *wrong = 0;
    if (e && e->type != TC_TYPE_STRING) {
        tc_reply_error(c->r, TC_ERR_WRONGTYPE);
        *wrong = 1;
        return NULL;
    }
    return e;
}

/* Redis's getBitOffsetFromArgument: "#n" (when hash and bits > 0) means n
 * fields of width bits; the byte it reaches must stay under
 * proto-max-bulk-len. */
static int bit_offset(tc_ctx *c, const tc_slice *a, int hash, int bits, uint64_t *out)
{
    int usehash = a->len > 0 && a->p[0] == '#' && hash && bits > 0;
    long long v;
    if (tc_parse_ll(a->p + usehash, a->len - (size_t)usehash, &v) != 0) goto bad;
    if (usehash) {
        if (v > LLONG_MAX / bits || v < LLONG_MIN / bits) goto bad;
        v *= bits;
    }
    if (v < 0 || (uint64_t)(v >> 3) >= tc_max_bulk_len(c->srv) || (uint64_t)(v >> 3) >= TC_MAX_STRING_LEN)
        goto bad;
    *out = (uint64_t)v;
    return 0;
bad:
    tc_reply_error(c->r, ERR_BIT_OFFSET);
    return -1;
}

/* Redis's lookupStringForBitCommand: the string at key, created or grown
 * with zero bytes so that bit maxbit exists. NULL after a reply (wrong type,
 * out of memory). */
static tc_key *string_for_bits(tc_ctx *c, uint64_t maxbit, int *dirty)
{
    const tc_slice *key = &c->argv[1];
    size_t need = (size_t)(maxbit >> 3) + 1;
    int wrong;
    tc_key *e = find_string(c, key, &wrong);
    if (wrong) return NULL;
    *dirty = 0;
    if (!e) {
        e = tc_ks_set(c->ks, key->p, key->len, "", 0, 0);
        if (!e) goto oom;
        *dirty = 1;
    }
    if (e->vlen < need) {
        size_t old = e->vlen;
        tc_key *n = tc_ks_resize(c->ks, e, need);
        if (!n) {
            if (*dirty) tc_ks_delete(c->ks, key->p, key->len);
            goto oom;
        }
        e = n;
        memset(tc_key_str(e) + old, 0, need - old);
        *dirty = 1;
    }
    e->encoding = TC_ENC_INLINE_RAW; /* Redis unshares it into a raw sds */
    return e;
oom:
    tc_reply_error(c->r, "ERR out of memory");
    return NULL;
}

/* ---- SETBIT / GETBIT ---------------------------------------------------- */

void tc_cmd_setbit(tc_ctx *c)
{
    uint64_t off;
    if (bit_offset(c, &c->argv[2], 0, 0, &off) != 0) return;
    long long on;
    if (tc_parse_ll(c->argv[3].p, c->argv[3].len, &on) != 0 || (on & ~1LL)) {
        tc_reply_error(c->r, "ERR bit is not an integer or out of range");
        return;
    }
    int dirty;
    tc_key *e = string_for_bits(c, off, &dirty);
    if (!e) return;
    unsigned char *p = (unsigned char *)tc_key_str(e) + (off >> 3);
    int shift = 7 - (int)(off & 7);
    int old = (*p >> shift) & 1;
    *p = (unsigned char)((*p & ~(1u << shift)) | ((unsigned)on << shift));
    tc_notify(c, TC_NOTIFY_STRING, "setbit", &c->argv[1]);
    tc_reply_int(c->r, old);
}

void tc_cmd_getbit(tc_ctx *c)
{
    uint64_t off;
    if (bit_offset(c, &c->argv[2], 0, 0, &off) != 0) return;
    int wrong;
    tc_key *e = find_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    int bit = 0;
    if (e && (off >> 3) < e->vlen) bit = ((unsigned char)tc_key_str(e)[off >> 3] >> (7 - (off & 7))) & 1;
    tc_reply_int(c->r, bit);
}

/* ---- BITCOUNT / BITPOS ---------------------------------------------------- */

static int popcount8(unsigned char b) { return __builtin_popcount(b); }

/* Bits set among bits [from, to] (inclusive, from <= to) of p. */
static long long count_bits(const unsigned char *p, uint64_t from, uint64_t to)
{
    uint64_t fb = from >> 3, tb = to >> 3;
    unsigned char first_mask = (unsigned char)(0xFFu >> (from & 7));
    unsigned char last_mask = (unsigned char)(0xFFu << (7 - (to & 7)));
    if (fb == tb) return popcount8(p[fb] & first_mask & last_mask);
    long long n = popcount8(p[fb] & first_mask) + popcount8(p[tb] & last_mask);
    uint64_t i = fb + 1;
    for (; i + 8 <= tb; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        n += __builtin_popcountll(w);
    }
    for (; i < tb; i++) n += popcount8(p[i]);
    return n;
}

/* The first bit equal to bit among [from, to] of p, or -1. */
static long long find_bit(const unsigned char *p, uint64_t from, uint64_t to, int bit)
{
    unsigned char skip = bit ? 0x00 : 0xFF;
    uint64_t i = from;
    while (i <= to) {
        if ((i & 7) == 0 && i + 7 <= to && p[i >> 3] == skip) {
            i += 8;
            continue;
        }
        if ((int)((p[i >> 3] >> (7 - (i & 7))) & 1) == bit) return (long long)i;
        i++;
    }
    return -1;
}

/* Turns a [start, end] range in bytes or bits (Redis's index rules) into bit
 * bounds; 0 when the range is empty. */
static int range_to_bits(long long start, long long end, long long strlen_bytes, int isbit, uint64_t *from,
                         uint64_t *to)
{
    long long totlen = isbit ? strlen_bytes * 8 : strlen_bytes;
    if (start < 0) start += totlen;
    if (end < 0) end += totlen;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= totlen) end = totlen - 1;
    if (start > end) return 0;
    *from = isbit ? (uint64_t)start : (uint64_t)start * 8;
    *to = isbit ? (uint64_t)end : (uint64_t)end * 8 + 7;
    return 1;
}

static int unit_arg(tc_ctx *c, size_t i, int *isbit)
{
    if (tc_arg_is(&c->argv[i], "bit")) *isbit = 1;
    else if (tc_arg_is(&c->argv[i], "byte")) *isbit = 0;
    else {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return -1;
    }
    return 0;
}

/* BITCOUNT key [start end [BYTE|BIT]] */
void tc_cmd_bitcount(tc_ctx *c)
{
    long long start = 0, end = -1;
    int isbit = 0;
    if (c->argc == 4 || c->argc == 5) {
        if (arg_ll(c, 2, &start) != 0 || arg_ll(c, 3, &end) != 0) return;
        if (c->argc == 5 && unit_arg(c, 4, &isbit) != 0) return;
    } else if (c->argc != 2) {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return;
    }
    int wrong;
    tc_key *e = find_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    if (!e || (start < 0 && end < 0 && start > end)) {
        tc_reply_int(c->r, 0);
        return;
    }
    uint64_t from, to;
    if (!range_to_bits(start, end, (long long)e->vlen, isbit, &from, &to)) {
        tc_reply_int(c->r, 0);
        return;
    }
    tc_reply_int(c->r, count_bits((const unsigned char *)tc_key_str(e), from, to));
}

/* BITPOS key bit [start [end [BYTE|BIT]]] */
void tc_cmd_bitpos(tc_ctx *c)
{
    long long bit;
    if (arg_ll(c, 2, &bit) != 0) return;
    if (bit != 0 && bit != 1) {
        tc_reply_error(c->r, "ERR The bit argument must be 1 or 0.");
        return;
    }
    int wrong;
    tc_key *e = find_string(c, &c->argv[1], &wrong);
    if (wrong) return;
    /* A missing key is an endless run of zeros (checked before the range). */
    if (!e) {
        tc_reply_int(c->r, bit ? -1 : 0);
        return;
    }
    long long len = (long long)e->vlen, start = 0, end = len - 1;
    int isbit = 0, end_given = 0;
    if (c->argc >= 4 && c->argc <= 6) {
        if (arg_ll(c, 3, &start) != 0) return;
        if (c->argc == 6 && unit_arg(c, 5, &isbit) != 0) return;
        if (c->argc >= 5) {
            if (arg_ll(c, 4, &end) != 0) return;
            end_given = 1;
        } else {
            end = isbit ? len * 8 + 7 : len - 1;
        }
    } else if (c->argc != 3) {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return;
    }
    uint64_t from, to;
    if (!range_to_bits(start, end, len, isbit, &from, &to)) {
        tc_reply_int(c->r, -1);
        return;
    }
    long long pos = find_bit((const unsigned char *)tc_key_str(e), from, to, (int)bit);
    /* No clear bit: without an explicit end the string continues with
     * zeros, so the answer is the first bit after the range. */
    if (pos < 0 && bit == 0 && !end_given) pos = (long long)to + 1;
    tc_reply_int(c->r, pos);
}

/* ---- BITOP -------------------------------------------------------------- */

enum { OP_AND, OP_OR, OP_XOR, OP_NOT };

/* BITOP AND|OR|XOR|NOT destkey key [key ...] */
void tc_cmd_bitop(tc_ctx *c)
{
    int op;
    if (tc_arg_is(&c->argv[1], "and")) op = OP_AND;
    else if (tc_arg_is(&c->argv[1], "or")) op = OP_OR;
    else if (tc_arg_is(&c->argv[1], "xor")) op = OP_XOR;
    else if (tc_arg_is(&c->argv[1], "not")) op = OP_NOT;
    else {
        tc_reply_error(c->r, TC_ERR_SYNTAX);
        return;
    }
    if (op == OP_NOT && c->argc != 4) {
        tc_reply_error(c->r, "ERR BITOP NOT must be called with a single source key.");
        return;
    }
    size_t n = c->argc - 3, maxlen = 0;
    const unsigned char **src = calloc(n, sizeof *src);
    size_t *len = calloc(n, sizeof *len);
    unsigned char *res = NULL;
    if (!src || !len) goto oom;
    for (size_t j = 0; j < n; j++) {
        int wrong;
        tc_key *e = find_string(c, &c->argv[3 + j], &wrong);
        if (wrong) goto out;
        if (!e) { /* an empty string */
            tc_notify_source_miss(c, &c->argv[3 + j]);
            continue;
        }
        src[j] = (const unsigned char *)tc_key_str(e);
        len[j] = e->vlen;
        if (len[j] > maxlen) maxlen = len[j];
    }
    if (maxlen) {
        res = malloc(maxlen);
        if (!res) goto oom;
        for (size_t i = 0; i < maxlen; i++) {
            unsigned char out = len[0] > i ? src[0][i] : 0;
            if (op == OP_NOT) out = (unsigned char)~out;
            for (size_t j = 1; j < n; j++) {
                unsigned char b = len[j] > i ? src[j][i] : 0;
                if (op == OP_AND) out &= b;
                else if (op == OP_OR) out |= b;
                else out ^= b;
            }
            res[i] = out;
        }
        /* The sources are read before the destination is replaced (it may
         * be one of them). */
        tc_key *d = tc_ks_set(c->ks, c->argv[2].p, c->argv[2].len, (const char *)res, maxlen, 0);
        if (!d) goto oom;
        d->encoding = TC_ENC_INLINE_RAW;
        tc_notify(c, TC_NOTIFY_STRING, "set", &c->argv[2]);
    } else if (tc_ks_delete(c->ks, c->argv[2].p, c->argv[2].len)) {
        tc_notify(c, TC_NOTIFY_GENERIC, "del", &c->argv[2]);
    }
    tc_reply_int(c->r, (long long)maxlen);
    goto out;
oom:
    tc_reply_error(c->r, "ERR out of memory");
out:
    free(res);
    free(src);
    free(len);
}

/* ---- BITFIELD ----------------------------------------------------------- */

enum { BF_GET, BF_SET, BF_INCRBY };
enum { OV_WRAP, OV_SAT, OV_FAIL };

typedef struct bf_op {
    uint64_t offset;
    int64_t value;
    int opcode, overflow, bits, sign;
} bf_op;

static uint64_t get_unsigned(const unsigned char *p, uint64_t off, int bits)
{
    uint64_t v = 0;
    for (int j = 0; j < bits; j++, off++) v = (v << 1) | ((p[off >> 3] >> (7 - (off & 7))) & 1);
    return v;
}

static int64_t get_signed(const unsigned char *p, uint64_t off, int bits)
{
    uint64_t u = get_unsigned(p, off, bits);
    if (bits < 64 && (u & (1ull << (bits - 1)))) u |= ~0ull << bits;
    return (int64_t)u;
}

static void set_bits(unsigned char *p, uint64_t off, int bits, uint64_t v)
{
    for (int j = 0; j < bits; j++, off++) {
        unsigned bit = (unsigned)((v >> (bits - 1 - j)) & 1);
        int shift = 7 - (int)(off & 7);
        p[off >> 3] = (unsigned char)((p[off >> 3] & ~(1u << shift)) | (bit << shift));
    }
}

/* Redis's checkUnsignedBitfieldOverflow: 0 when value + incr fits in bits,
 * else nonzero with *limit the wrapped or saturated result. */
static int unsigned_overflow(uint64_t value, int64_t incr, int bits, int ow, uint64_t *limit)
{
    uint64_t max = bits == 64 ? UINT64_MAX : ((1ull << bits) - 1);
    int64_t maxincr = (int64_t)(max - value), minincr = -(int64_t)value;
    int over = 0;
    if (value > max || (incr > 0 && incr > maxincr)) over = 1;
    else if (incr < 0 && incr < minincr) over = -1;
    if (!over) return 0;
    if (ow == OV_WRAP) *limit = (value + (uint64_t)incr) & ~(~0ull << bits);
    else if (ow == OV_SAT) *limit = over > 0 ? max : 0;
    return over;
}

/* Redis's checkSignedBitfieldOverflow. */
static int signed_overflow(int64_t value, int64_t incr, int bits, int ow, int64_t *limit)
{
    int64_t max = bits == 64 ? INT64_MAX : (int64_t)((1ull << (bits - 1)) - 1);
    int64_t min = -max - 1;
    int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value);
    int64_t minincr = (int64_t)((uint64_t)min - (uint64_t)value);
    int over = 0;
    if (value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr)) over = 1;
    else if (value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr)) over = -1;
    if (!over) return 0;
    if (ow == OV_WRAP) {
        uint64_t r = (uint64_t)value + (uint64_t)incr;
        if (bits < 64) {
            uint64_t mask = ~0ull << bits;
            r = (r & (1ull << (bits - 1))) ? (r | mask) : (r & ~mask);
        }
        *limit = (int64_t)r;
    } else if (ow == OV_SAT) {
        *limit = over > 0 ? max : min;
    }
    return over;
}

/* Redis's getBitfieldTypeFromArgument: i1..i64 or u1..u63 (lowercase). */
static int bf_type(tc_ctx *c, const tc_slice *a, int *sign, int *bits)
{
    long long n;
    size_t len = a->len;
    const char *nul = a->len ? memchr(a->p, '\0', a->len) : NULL;
    if (nul) len = (size_t)(nul - a->p); /* Redis reads it as a C string */
    if (len < 2 || (a->p[0] != 'i' && a->p[0] != 'u') || tc_parse_ll(a->p + 1, len - 1, &n) != 0 || n < 1 ||
        (a->p[0] == 'i' && n > 64) || (a->p[0] == 'u' && n > 63)) {
        tc_reply_error(c->r,
                       "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");
        return -1;
    }
    *sign = a->p[0] == 'i';
    *bits = (int)n;
    return 0;
}

static void bitfield_generic(tc_ctx *c, int ro)
{
    bf_op *ops = calloc(c->argc, sizeof *ops);
    if (!ops) {
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    size_t nops = 0;
    int overflow = OV_WRAP, readonly = 1;
    uint64_t highest = 0;
    for (size_t j = 2; j < c->argc; j++) {
        size_t remargs = c->argc - j - 1;
        const tc_slice *sub = &c->argv[j];
        int opcode;
        if (tc_arg_is(sub, "get") && remargs >= 2) opcode = BF_GET;
        else if (tc_arg_is(sub, "set") && remargs >= 3) opcode = BF_SET;
        else if (tc_arg_is(sub, "incrby") && remargs >= 3) opcode = BF_INCRBY;
        else if (tc_arg_is(sub, "overflow") && remargs >= 1) {
            const tc_slice *t = &c->argv[++j];
            if (tc_arg_is(t, "wrap")) overflow = OV_WRAP;
            else if (tc_arg_is(t, "sat")) overflow = OV_SAT;
            else if (tc_arg_is(t, "fail")) overflow = OV_FAIL;
            else {
                tc_reply_error(c->r, "ERR Invalid OVERFLOW type specified");
                goto out;
            }
            continue;
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            goto out;
        }
        bf_op *op = &ops[nops];
        if (bf_type(c, &c->argv[j + 1], &op->sign, &op->bits) != 0) goto out;
        if (bit_offset(c, &c->argv[j + 2], 1, op->bits, &op->offset) != 0) goto out;
        if (opcode != BF_GET) {
            readonly = 0;
            if (highest < op->offset + (uint64_t)op->bits - 1) highest = op->offset + (uint64_t)op->bits - 1;
            long long v;
            if (arg_ll(c, j + 3, &v) != 0) goto out;
            op->value = v;
        }
        op->opcode = opcode;
        op->overflow = overflow;
        nops++;
        j += opcode == BF_GET ? 2 : 3;
    }

    tc_key *e;
    if (readonly) {
        int wrong;
        e = find_string(c, &c->argv[1], &wrong);
        if (wrong) goto out;
        if (!e) tc_notify_source_miss(c, &c->argv[1]); /* BITFIELD with only GETs reads, as Redis */
    } else {
        if (ro) {
            tc_reply_error(c->r, "ERR BITFIELD_RO only supports the GET subcommand");
            goto out;
        }
        int dirty;
        e = string_for_bits(c, highest, &dirty);
        if (!e) goto out;
    }

    tc_reply_array(c->r, nops);
    size_t changes = 0;
    for (size_t j = 0; j < nops; j++) {
        bf_op *op = &ops[j];
        if (op->opcode == BF_GET) {
            /* Up to 9 bytes copied to a zero-padded buffer, so that a field
             * past the end of the string reads as zeros. */
            unsigned char buf[9] = {0};
            uint64_t byte = op->offset >> 3;
            for (uint64_t i = 0; i < 9 && e && byte + i < e->vlen; i++) buf[i] = (unsigned char)tc_key_str(e)[byte + i];
            uint64_t rel = op->offset - byte * 8;
            if (op->sign) tc_reply_int(c->r, get_signed(buf, rel, op->bits));
            else tc_reply_int(c->r, (long long)get_unsigned(buf, rel, op->bits));
            continue;
        }
        unsigned char *p = (unsigned char *)tc_key_str(e);
        int over;
        if (op->sign) {
            int64_t oldval = get_signed(p, op->offset, op->bits), newval, wrapped = 0, ret;
            if (op->opcode == BF_INCRBY) {
                over = signed_overflow(oldval, op->value, op->bits, op->overflow, &wrapped);
                newval = over ? wrapped : (int64_t)((uint64_t)oldval + (uint64_t)op->value);
                ret = newval;
            } else {
                newval = op->value;
                over = signed_overflow(newval, 0, op->bits, op->overflow, &wrapped);
                if (over) newval = wrapped;
                ret = oldval;
            }
            if (over && op->overflow == OV_FAIL) {
                tc_reply_null(c->r);
                continue;
            }
            tc_reply_int(c->r, ret);
            set_bits(p, op->offset, op->bits, (uint64_t)newval);
            changes++;
        } else {
            uint64_t oldval = get_unsigned(p, op->offset, op->bits), newval, wrapped = 0, ret;
            if (op->opcode == BF_INCRBY) {
                newval = oldval + (uint64_t)op->value;
                over = unsigned_overflow(oldval, op->value, op->bits, op->overflow, &wrapped);
                if (over) newval = wrapped;
                ret = newval;
            } else {
                newval = (uint64_t)op->value;
                over = unsigned_overflow(newval, 0, op->bits, op->overflow, &wrapped);
                if (over) newval = wrapped;
                ret = oldval;
            }
            if (over && op->overflow == OV_FAIL) {
                tc_reply_null(c->r);
                continue;
            }
            tc_reply_int(c->r, (long long)ret);
            set_bits(p, op->offset, op->bits, newval);
            changes++;
        }
    }
    if (changes) tc_notify(c, TC_NOTIFY_STRING, "setbit", &c->argv[1]);
out:
    free(ops);
}

void tc_cmd_bitfield(tc_ctx *c) { bitfield_generic(c, 0); }
void tc_cmd_bitfield_ro(tc_ctx *c) { bitfield_generic(c, 1); }
