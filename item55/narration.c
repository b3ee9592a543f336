/* narration: see narration.h. */
#include "narration.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

enum { MAX_DEMO_LINES = 6 };

bool narration_free;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t line_printed;
    const char *printed[MAX_DEMO_LINES]; /* guarded by lock: the current demo's lines so far */
    int count;                           /* guarded by lock */
} narration = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0};

static bool printed_already(const char *line)
{
    for (int i = 0; i < narration.count; i++)
        if (strcmp(narration.printed[i], line) == 0)
            return true;
    return false;
}

void narrate_demo(const char *title)
{
    CHECK_PT(pthread_mutex_lock(&narration.lock));
    fflush(stdout); /* the title lands between the demos' lines, however both are buffered */
    fprintf(stderr, "== %s ==\n", title);
    narration.count = 0;
    CHECK_PT(pthread_mutex_unlock(&narration.lock));
}

void say(const char *line)
{
    CHECK_PT(pthread_mutex_lock(&narration.lock));
    if (narration.count == MAX_DEMO_LINES)
        die("more than %d lines in one demo", MAX_DEMO_LINES);
    printf("%s\n", line);
    narration.printed[narration.count++] = line;
    CHECK_PT(pthread_cond_broadcast(&narration.line_printed));
    CHECK_PT(pthread_mutex_unlock(&narration.lock));
}

void say_after(const char *cue, const char *line)
{
    if (!narration_free) {
        CHECK_PT(pthread_mutex_lock(&narration.lock));
        while (!printed_already(cue))
            CHECK_PT(pthread_cond_wait(&narration.line_printed, &narration.lock));
        CHECK_PT(pthread_mutex_unlock(&narration.lock));
    }
    say(line);
}
