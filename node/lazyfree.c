/* The background free thread: a mutex-protected FIFO of (fn, value) jobs
 * and a condition variable the thread sleeps on. See lazyfree.h. */
#include "lazyfree.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct job {
    struct job *next;
    void (*fn)(void *);
    void *value;
} job;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_t thread;
static int running, stopping;
static job *head, *tail;
static size_t pending, done;

static void *worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (!head && !stopping) pthread_cond_wait(&cv, &mu);
        if (!head) break; /* stopping, and everything freed */
        job *j = head;
        head = j->next;
        if (!head) tail = NULL;
        pthread_mutex_unlock(&mu);
        j->fn(j->value);
        free(j);
        pthread_mutex_lock(&mu);
        pending--;
        done++;
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

int tc_lazyfree_start(void)
{
    pthread_mutex_lock(&mu);
    int rc = 0;
    if (!running) {
        stopping = 0;
        if (pthread_create(&thread, NULL, worker, NULL) == 0)
            running = 1;
        else
            rc = -1;
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

void tc_lazyfree_stop(void)
{
    pthread_mutex_lock(&mu);
    if (!running) {
        pthread_mutex_unlock(&mu);
        return;
    }
    stopping = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL);
    pthread_mutex_lock(&mu);
    running = 0;
    pthread_mutex_unlock(&mu);
}

void tc_lazyfree(void (*fn)(void *), void *value, size_t elements)
{
    if (elements > TC_LAZYFREE_THRESHOLD) {
        job *j = malloc(sizeof *j);
        if (j) {
            j->next = NULL;
            j->fn = fn;
            j->value = value;
            pthread_mutex_lock(&mu);
            if (running && !stopping) {
                if (tail)
                    tail->next = j;
                else
                    head = j;
                tail = j;
                pending++;
                pthread_cond_signal(&cv);
                pthread_mutex_unlock(&mu);
                return;
            }
            pthread_mutex_unlock(&mu);
            free(j);
        }
    }
    fn(value);
}

size_t tc_lazyfree_pending(void)
{
    pthread_mutex_lock(&mu);
    size_t n = pending;
    pthread_mutex_unlock(&mu);
    return n;
}

size_t tc_lazyfree_done(void)
{
    pthread_mutex_lock(&mu);
    size_t n = done;
    pthread_mutex_unlock(&mu);
    return n;
}
