/* merge: Items 62 and 63's log merger, the parts every merge program shares.
 *
 *   Python (Items 62, 63)                     C
 *   ---------------------------------------   -----------------------------------------
 *   class NoNewData(Exception)                an error of type "NoNewData": is_no_new_data(e)
 *   handle = open(path, 'rb')                 struct input_handle (made by merge_start)
 *   readline(handle)                          readline(handle, &line): a whole line, or NULL
 *                                               once the input has ended and was drained
 *   tail_file(handle, interval, write_func)   tail_file(handle, interval, write_func, ctx)
 *   async def tail_async(handle, interval,    tail_async(&args, NULL): a task_fn, args a
 *       write_func)                             struct tail_args
 *   write_func(line) / await write_func(line) write_func(ctx, line): returns NULL or the error
 *   output.write(data)                        output_write(fd, line)
 *   confirm_merge(input_paths, output_path)   confirm_merge(paths, n, output_path)
 *   input_paths, handles, output_path = ...   merge_start(&run, argc, argv, summary, extra)
 *     (the harness the book leaves out)       then merge_finish(&run) after the merge
 *
 * What differs from the book, on purpose (item61-63/README.md says why):
 * - readline never hands on part of a line. Bytes after the last newline are
 *   held until the rest of the line arrives; a last line without a newline is
 *   handed on (with a newline added, so it cannot run into the next line of
 *   the output) once its input has ended.
 * - The end of input. The book stops a tailer when its handle is closed, and
 *   closes every handle on a fixed 1 s timer, losing lines whenever a writer
 *   runs late. Here a tailer stops when its input has ended AND everything
 *   written to it was read: readline returns no line (NULL, no error) only
 *   then. An input ends when its writer thread has finished (the built-in
 *   demo), or when process --until-pid has exited (external mode).
 * - External mode, like tail -f: an input cut shorter while tailed is read
 *   again from its start; a tailer that fails (a write to a full disk) ends
 *   every other tailer, so the program exits 1 at once instead of tailing on.
 * - confirm_merge matches a line to its input by the exact name (the book
 *   matches by prefix, so input `1` would claim the lines of input `10`), and
 *   says which input differs and how, instead of a bare assert.
 *
 * Threads: each handle is read by one tailer at a time (a thread, or a task
 * whose readline calls run in an executor, one at a time); the end flag is
 * atomic, set by the writer or seen on the watched process's pidfd.
 */
#ifndef ITEM61_63_MERGE_H
#define ITEM61_63_MERGE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "aio.h"
#include "cli.h"
#include "error.h"

/* One line: len bytes, the last one always '\n'. malloc'd by readline; the
 * tailer frees it after write_func returns. */
struct line {
    size_t len;
    char data[];
};

/* When an input has ended: its writer set `ended`, or the process behind
 * pidfd exited (external mode). `closed` is the book's handle.close(): the
 * tailer stops at once, read or not (--close-after, to show the book's loss). */
struct input_end {
    atomic_bool ended;
    atomic_bool closed;
    int pidfd; /* -1: no process to watch */
};

/* The book's file handle, plus what readline holds between calls. */
struct input_handle {
    const char *name; /* the path, as the lines name it */
    int fd;
    struct input_end *end;
    char *held; /* bytes read but not handed on yet: [pos, len) */
    size_t pos, len, cap;
    bool book_readline; /* --book-readline: the book's, which hands on half lines */
};

struct error *readline(struct input_handle *handle, struct line **line);
bool is_no_new_data(const struct error *e);

typedef struct error *write_fn(void *ctx, const struct line *line);

/* Poll handle, sleeping interval on NoNewData, until its input has ended and
 * was drained; each line goes to write_func(ctx, line). Returns NULL, or the
 * first error of readline or write_func. */
struct error *tail_file(struct input_handle *handle, double interval, write_fn *write_func,
                        void *ctx);

/* tail_async's argument (a task gets one pointer). */
struct tail_args {
    struct input_handle *handle;
    double interval;
    write_fn *write_func;
    void *ctx;
    struct error *error; /* for thread bodies: what tail_file returned */
};

/* The coroutine: readline in the loop's default executor, aio_sleep on
 * NoNewData, write_func for each line. A task_fn: tail_async(args, result). */
struct error *tail_async(void *args, void **result);

/* A task per handle running tail_async(handle, interval, write_func, ctx),
 * then await gather: merge_async's run_tasks loop, for run_fully_async. */
struct error *gather_tail_async(struct input_handle *handles, size_t n, double interval,
                                write_fn *write_func, void *ctx);

/* ---- plumbing for merge_write_thread ---- */

/* await asyncio.wrap_future(future) on a future of aio_run_coroutine_threadsafe,
 * then destroy it; if the awaiting task is cancelled, still wait for the
 * other loop to finish with what it was given. */
struct error *await_threadsafe(struct future *future);
/* pthread_create and pthread_join, run in the default executor (they are
 * system calls, kept off the loop). */
struct error *thread_start_in_executor(pthread_t *thread, void *(*body)(void *), void *arg);
struct error *thread_join_in_executor(pthread_t thread);
/* Is thread tid (gettid) of this process still alive? A thread just
 * joined can stay listed in /proc for a moment while the kernel finishes
 * its exit, so this waits up to a second for it to go before saying yes. */
bool thread_is_running(pid_t tid);
/* a if there is one (b freed), else b. */
struct error *first_error(struct error *a, struct error *b);

/* The output file, opened as the book's open(output_path, 'wb'); exits 1
 * naming the path if it cannot be created. */
int output_open(const char *path);
/* output.write(line): every byte, or an OSError naming the output. */
struct error *output_write(int fd, const struct line *line);
void output_close(int fd);

/* NULL when every input line is in the output exactly once, whole, in its
 * file's order, and nothing else is; else an error naming the input (or the
 * output line) and what differs. */
struct error *confirm_merge(char *const *paths, size_t n, const char *output_path);

/* ---- the harness ---- */

struct merge_run {
    /* what the programs use: the book's handles, interval and output_path */
    struct input_handle *handles;
    size_t n;
    double interval;
    const char *output_path;
    /* the flags */
    long inputs, lines, seed, until_pid;
    double pause, close_after, blocking_write;
    bool split, stats, book_readline;
    /* the harness's own state (merge.c) */
    struct merge_state *state;
};

/* Parse the flags (the shared ones plus `extra`, which may be NULL), then
 * either make the demo (a temporary directory, one writer thread per input,
 * already writing) or, with --output OUT --until-pid PID INPUT..., open the
 * real inputs (missing or unreadable: exit 2). */
void merge_start(struct merge_run *run, int argc, char **argv, const char *summary,
                 const struct cli_flag *extra);

/* After the merge: join the writers, confirm_merge, print
 * "merged 50 lines from 5 inputs: OK" (or the difference, exit status 1),
 * remove the temporary directory. External mode: close and return 0. */
int merge_finish(struct merge_run *run);

#endif
