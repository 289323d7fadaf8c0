/* The Raft snapshot as this node writes it: a keyspace image made by a
 * forked child at some earlier index, followed by the log entries applied
 * since that fork (the bytes as the log holds them, sealed or not). libraft
 * asks for a snapshot at its last applied index and wants it at once; an
 * image taken in advance plus the entries since is the same state without
 * the event loop waiting for a child to write the whole keyspace.
 *
 * Layout (little-endian), `snapshot/FORMAT.md` for the image itself:
 *   magic "TCIMGTL1" | u32 version (1) | u32 reserved (0) | u64 image_len |
 *   u64 entry count | u64 tail_len | 32-byte SHA-256 of the 40 bytes before
 *   it and of the tail | image (image_len bytes) | tail: per entry a u64
 *   length and the entry's bytes.
 * A snapshot without the magic is a bare image (what earlier versions
 * wrote); it still loads. */
#ifndef TC_IMAGE_TAIL_H
#define TC_IMAGE_TAIL_H

#include <stddef.h>
#include <stdint.h>

#define TC_IMAGE_TAIL_HEADER 72

/* The entries applied since an image's fork, encoded as the tail. */
typedef struct tc_image_tail {
    unsigned char *buf;
    size_t len, cap;
    uint64_t count;
} tc_image_tail;

/* Appends one entry's bytes; 0, or -1 when out of memory (the tail is
 * then unusable: the caller drops the image it belongs to). */
int tc_image_tail_add(tc_image_tail *t, const void *entry, size_t len);
/* Frees the tail's bytes and empties it. */
void tc_image_tail_clear(tc_image_tail *t);

/* Writes the header for an image of image_len bytes followed by t. */
void tc_image_tail_header(unsigned char out[TC_IMAGE_TAIL_HEADER], uint64_t image_len, const tc_image_tail *t);

/* What a snapshot holds. */
typedef struct tc_image_parts {
    const unsigned char *image;
    size_t image_len;
    const unsigned char *tail; /* walked with tc_image_tail_next */
    size_t tail_len;
    uint64_t count;
} tc_image_parts;

/* Splits a snapshot into its image and tail after checking lengths and
 * the checksum. 1 for an image with a tail, 0 for a bare image (all of
 * data is the image, no tail), -1 with err set when damaged. */
int tc_image_tail_parse(const void *data, size_t len, tc_image_parts *out, char *err, size_t errlen);

/* The next entry of a checked tail: 1 with *entry and *len set and *pos
 * advanced, 0 at its end. */
int tc_image_tail_next(const tc_image_parts *p, size_t *pos, const void **entry, size_t *len);

#endif
