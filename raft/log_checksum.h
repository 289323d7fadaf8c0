/* raft/log_checksum.h: the CRC-32 libraft puts on every log batch and
 * snapshot, folded with carry-less multiplication where the CPU has it and
 * eight bytes at a time where not (see log_checksum.c for why and how it
 * replaces libraft's own). */
#ifndef TC_LOG_CHECKSUM_H
#define TC_LOG_CHECKSUM_H

#include <stddef.h>

/* libraft's internal checksum (src/byte.h in libraft 0.22): CRC-32 with the
 * polynomial 0x04C11DB7, most significant bit first, no reflection and no
 * final XOR, continuing from init. Same results as libraft's, byte for byte:
 * files written by either are read by the other. */
unsigned byteCrc32(const void *buf, size_t size, unsigned init);

/* The same checksum eight bytes per step, whatever the CPU: byteCrc32's path
 * where carry-less multiplication is missing (the unit test compares both). */
unsigned tc_log_checksum_tables(const void *buf, size_t size, unsigned init);

/* Bytes checksummed by byteCrc32 since start (INFO: shows that libraft's
 * calls reach this one). Safe from any thread. */
unsigned long long tc_log_checksum_bytes(void);

#endif
