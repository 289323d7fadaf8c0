#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* set by CONFIG SET on the command thread, read by the Raft thread too */
static int log_level = TC_LOG_NOTICE;

void tc_log_set_level(int level) { __atomic_store_n(&log_level, level, __ATOMIC_RELAXED); }

void tc_log(int level, const char *fmt, ...)
{
    if (level < __atomic_load_n(&log_level, __ATOMIC_RELAXED)) return;
    static const char marks[] = {'.', '-', '*', '#'};
    char msg[1024], when[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(when, sizeof when, "%d %b %Y %H:%M:%S", &tm);
    snprintf(when + n, sizeof when - n, ".%03d", (int)(tv.tv_usec / 1000));
    fprintf(stderr, "%d:N %s %c %s\n", (int)getpid(), when, marks[level & 3], msg);
}
