/* Logging to stderr: "<pid>:<role> <date> <level-char> message", Redis-like. */
#ifndef TC_LOG_H
#define TC_LOG_H

#include "config.h"

/* The level is process-wide: one node per process, and log lines may be
 * written from places that have no server at hand. */
void tc_log_set_level(int level);
void tc_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define tc_debug(...) tc_log(TC_LOG_DEBUG, __VA_ARGS__)
#define tc_info(...) tc_log(TC_LOG_INFO, __VA_ARGS__)
#define tc_notice(...) tc_log(TC_LOG_NOTICE, __VA_ARGS__)
#define tc_warn(...) tc_log(TC_LOG_WARNING, __VA_ARGS__)

#endif
