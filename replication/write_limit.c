#include "write_limit.h"

uint64_t tc_write_limit_bytes(size_t argc, const tc_slice *argv)
{
    uint64_t n = 0;
    for (size_t i = 0; i < argc; i++) n += argv[i].len;
    return n;
}

uint64_t tc_write_limit_of(const tc_config *cfg)
{
    /* a single node has no replica to miss heartbeats */
    return cfg->nnodes > 1 ? cfg->replicated_write_max_bytes : 0;
}

int tc_write_limit_refuse(const tc_config *cfg, uint64_t bytes, tc_reply *rep)
{
    uint64_t limit = tc_write_limit_of(cfg);
    if (!limit || bytes <= limit) return 0;
    tc_reply_errorf(rep, "ERR value too large to replicate: %llu bytes, limit %llu", (unsigned long long)bytes,
                    (unsigned long long)limit);
    return 1;
}

int tc_write_limit_cut(const tc_config *cfg, size_t entry_len, uint64_t bytes)
{
    uint64_t limit = tc_write_limit_of(cfg);
    if (!limit) return 0;
    if (limit > TC_WRITE_BATCH_MAX_BYTES) limit = TC_WRITE_BATCH_MAX_BYTES;
    /* entry_len counts lengths and the header too: cutting on it keeps the
     * entry itself within the limit, not only its arguments */
    return entry_len + bytes > limit;
}
