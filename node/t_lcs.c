/* LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest
 * common subsequence of two strings, by Redis 7.0's dynamic programming
 * table and walk back (so that the ranges IDX reports are Redis's). */
#include <stdint.h>
#include <stdlib.h>

#include "commands.h"
#include "server.h"

typedef struct lcs_range {
    uint32_t a0, a1, b0, b1;
} lcs_range;

void tc_cmd_lcs(tc_ctx *c)
{
    tc_key *ka = tc_ks_find(c->ks, c->argv[1].p, c->argv[1].len, c->now_ms);
    tc_key *kb = tc_ks_find(c->ks, c->argv[2].p, c->argv[2].len, c->now_ms);
    if ((ka && ka->type != TC_TYPE_STRING) || (kb && kb->type != TC_TYPE_STRING)) {
        tc_reply_error(c->r, "ERR The specified keys must contain string values");
        return;
    }
    const char *a = ka ? tc_key_str(ka) : "", *b = kb ? tc_key_str(kb) : "";
    size_t alen0 = ka ? ka->vlen : 0, blen0 = kb ? kb->vlen : 0;

    int getlen = 0, getidx = 0, withmatchlen = 0;
    long long minmatchlen = 0;
    for (size_t j = 3; j < c->argc; j++) {
        const tc_slice *o = &c->argv[j];
        if (tc_arg_is(o, "idx")) getidx = 1;
        else if (tc_arg_is(o, "len")) getlen = 1;
        else if (tc_arg_is(o, "withmatchlen")) withmatchlen = 1;
        else if (tc_arg_is(o, "minmatchlen") && j + 1 < c->argc) {
            if (tc_parse_ll(c->argv[j + 1].p, c->argv[j + 1].len, &minmatchlen) != 0) {
                tc_reply_error(c->r, TC_ERR_NOT_INT);
                return;
            }
            if (minmatchlen < 0) minmatchlen = 0;
            j++;
        } else {
            tc_reply_error(c->r, TC_ERR_SYNTAX);
            return;
        }
    }
    if (getidx && getlen) {
        tc_reply_error(c->r, "ERR If you want both the length and indexes, please just use IDX.");
        return;
    }
    if (alen0 >= UINT32_MAX - 1 || blen0 >= UINT32_MAX - 1) {
        tc_reply_error(c->r, "ERR String too long for LCS");
        return;
    }
    uint32_t alen = (uint32_t)alen0, blen = (uint32_t)blen0;
    /* The table is transient memory: bounded as Redis bounds it. */
    unsigned long long cells = (unsigned long long)(alen + 1) * (blen + 1);
    unsigned long long bytes = cells * sizeof(uint32_t);
    uint32_t *dp = NULL;
    if (bytes / sizeof(uint32_t) == cells && bytes <= tc_max_bulk_len(c->srv)) dp = malloc(bytes);
    if (!dp) {
        tc_reply_error(c->r, "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return;
    }
#define LCS(i, j) dp[(size_t)(j) + (size_t)(i) * (blen + 1)]
    for (uint32_t i = 0; i <= alen; i++) {
        for (uint32_t j = 0; j <= blen; j++) {
            if (i == 0 || j == 0) LCS(i, j) = 0;
            else if (a[i - 1] == b[j - 1]) LCS(i, j) = LCS(i - 1, j - 1) + 1;
            else LCS(i, j) = LCS(i - 1, j) > LCS(i, j - 1) ? LCS(i - 1, j) : LCS(i, j - 1);
        }
    }
    uint32_t total = LCS(alen, blen), idx = total;
    int computelcs = getidx || !getlen;
    char *result = computelcs ? malloc(total ? total : 1) : NULL;
    lcs_range *ranges = getidx ? malloc(sizeof *ranges * (total ? total : 1)) : NULL;
    if ((computelcs && !result) || (getidx && !ranges)) {
        free(dp);
        free(result);
        free(ranges);
        tc_reply_error(c->r, "ERR out of memory");
        return;
    }
    size_t nranges = 0;
    uint32_t as = alen, ae = 0, bs = 0, be = 0; /* as == alen: no range open */
    uint32_t i = alen, j = blen;
    while (computelcs && i > 0 && j > 0) {
        int emit = 0;
        if (a[i - 1] == b[j - 1]) {
            result[idx - 1] = a[i - 1];
            if (as == alen) {
                as = ae = i - 1;
                bs = be = j - 1;
            } else if (as == i && bs == j) {
                as--;
                bs--;
            } else {
                emit = 1;
            }
            if (as == 0 || bs == 0) emit = 1;
            idx--;
            i--;
            j--;
        } else {
            if (LCS(i - 1, j) > LCS(i, j - 1)) i--;
            else j--;
            if (as != alen) emit = 1;
        }
        if (emit) {
            uint32_t mlen = ae - as + 1;
            if (ranges && (minmatchlen == 0 || mlen >= minmatchlen))
                ranges[nranges++] = (lcs_range){as, ae, bs, be};
            as = alen;
        }
    }
    if (getidx) {
        tc_reply_map(c->r, 2);
        tc_reply_bulks(c->r, "matches");
        tc_reply_array(c->r, nranges);
        for (size_t k = 0; k < nranges; k++) {
            tc_reply_array(c->r, 2 + (size_t)withmatchlen);
            tc_reply_array(c->r, 2);
            tc_reply_int(c->r, ranges[k].a0);
            tc_reply_int(c->r, ranges[k].a1);
            tc_reply_array(c->r, 2);
            tc_reply_int(c->r, ranges[k].b0);
            tc_reply_int(c->r, ranges[k].b1);
            if (withmatchlen) tc_reply_int(c->r, (long long)ranges[k].a1 - ranges[k].a0 + 1);
        }
        tc_reply_bulks(c->r, "len");
        tc_reply_int(c->r, total);
    } else if (getlen) {
        tc_reply_int(c->r, total);
    } else {
        tc_reply_bulk(c->r, result, total);
    }
#undef LCS
    free(dp);
    free(result);
    free(ranges);
}
