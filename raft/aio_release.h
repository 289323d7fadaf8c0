/* raft/aio_release.h: libraft's Linux AIO contexts are destroyed on a
 * thread of their own, not on the Raft thread (see aio_release.c). */
#ifndef TC_AIO_RELEASE_H
#define TC_AIO_RELEASE_H

#include <linux/aio_abi.h>

/* libraft's wrapper (src/uv_os.h in libraft 0.22), replaced: hands ctx to
 * the release thread and returns 0 at once; destroys it right here only if
 * that thread cannot be had. */
int UvOsIoDestroy(aio_context_t ctx);

/* Contexts destroyed, destroys the kernel refused (counted, not returned:
 * libraft has moved on), and contexts still waiting; for INFO and tests.
 * Safe from any thread. */
unsigned long long tc_aio_released(void);
unsigned long long tc_aio_release_failures(void);
unsigned long long tc_aio_release_pending(void);

#endif
