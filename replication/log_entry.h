/* The Raft log entry that carries client writes.
 *
 * One entry holds a batch of write commands (from one or many clients) and
 * the primary's clock at the time it built the batch. Every node applies the
 * commands in order with that instant as "now", so relative TTLs, lazy expiry
 * checks and NX/XX decisions come out the same everywhere.
 *
 * Layout (all integers unsigned LEB128 varints unless noted):
 *   u8 version (=1) | u8 kind | i64 time_ms (8 bytes, little-endian) |
 *   ncommands | ncommands x ( argc | argc x ( len | len bytes ) )
 * kind: 0 = client commands, 1 = expiry deletes decided by the primary.
 * Up to 7 zero bytes may follow (the Raft log stores 8-byte units). */
#ifndef TC_LOG_ENTRY_H
#define TC_LOG_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "commands.h"

#define TC_ENTRY_VERSION 1
#define TC_ENTRY_HEADER 10
/* Refuse absurd counts before trusting them for anything. */
#define TC_ENTRY_MAX_COMMANDS (1u << 20)
#define TC_ENTRY_MAX_ARGS (1u << 24)
#define TC_ENTRY_MAX_ARG_LEN (4ull << 30)

enum tc_entry_kind { TC_ENTRY_COMMANDS = 0, TC_ENTRY_EXPIRE = 1 };

/* Building: begin, add commands, then the bytes are in b. */
void tc_entry_begin(tc_buf *b, int kind, int64_t time_ms);
void tc_entry_add(tc_buf *b, size_t argc, const tc_slice *argv);
/* Patches the command count into the header area; returns 0 or -1 if the
 * buffer ran out of memory while building. */
int tc_entry_end(tc_buf *b, uint32_t ncommands);

/* Reading. tc_entry_open checks the whole entry first (every length inside
 * the buffer, counts within limits, nothing left over), so that applying can
 * never stop half-way through a batch. */
typedef struct tc_entry_reader {
    const unsigned char *p, *end;
    int kind;
    int64_t time_ms;
    uint32_t ncommands, next;
} tc_entry_reader;

/* 0, or -1 with a message in err. */
int tc_entry_open(tc_entry_reader *r, const void *data, size_t len, char *err, size_t errlen);
/* The next command's arguments into *argv (grown as needed, caller frees).
 * Returns argc, 0 at the end, -1 out of memory. */
long tc_entry_next(tc_entry_reader *r, tc_slice **argv, size_t *cap);

#endif
