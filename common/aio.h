/* aio: asyncio, in C: an event loop, stackful coroutines as tasks, streams,
 * and bridges to threads.
 *
 *   Python (asyncio)                         C (aio)
 *   --------------------------------------   ---------------------------------------------
 *   asyncio.run(main(arg))                   aio_run(main, arg, &result)
 *   asyncio.run(main(), debug=True)          aio_run_debug(main, arg, &result)
 *   async def f(arg): ...                    struct error *f(void *arg, void **result)
 *   asyncio.create_task(f(arg))              aio_create_task(&task, f, arg)
 *   await task                               aio_await(task, &result)
 *   await asyncio.gather(*tasks)             aio_gather(tasks, n, results)
 *   await asyncio.sleep(s)                   aio_sleep(s)       (s = 0: yield once)
 *   task.cancel()                            aio_cancel(task)
 *   asyncio.current_task()                   aio_current_task()
 *   asyncio.get_running_loop()               aio_get_running_loop()
 *   asyncio.new_event_loop()                 aio_loop_create(&loop)
 *   loop.run_until_complete(f(arg))          aio_loop_run_until_complete(loop, f, arg, &result)
 *   loop.run_forever() / loop.stop()         aio_loop_run_forever(loop) / aio_loop_stop(loop)
 *   loop.close()                             aio_loop_close(loop)
 *   loop.call_soon(cb, arg)                  aio_call_soon(loop, &handle, cb, arg)
 *   loop.call_later(delay, cb, arg)          aio_call_later(loop, &handle, delay, cb, arg)
 *   loop.call_at(when, cb, arg)              aio_call_at(loop, &handle, when, cb, arg)
 *   handle.cancel()                          aio_handle_cancel(&handle)
 *   loop.call_soon_threadsafe(cb, arg)       aio_call_soon_threadsafe(loop, cb, arg)
 *   loop.add_reader(fd, cb, arg)             aio_add_reader(loop, fd, cb, arg)
 *   loop.add_writer / remove_reader / ...    aio_add_writer, aio_remove_reader, aio_remove_writer
 *   await loop.sock_recv(...) readiness      aio_wait_readable(fd), aio_wait_writable(fd)
 *   await loop.run_in_executor(ex, f, arg)   aio_run_in_executor(ex, f, arg, &result)
 *   asyncio.run_coroutine_threadsafe(        aio_run_coroutine_threadsafe(loop, f, arg)
 *       f(arg), loop)                          (a common/futures struct future)
 *   await asyncio.wrap_future(future)        aio_await_future(future, &result)
 *   await asyncio.open_connection(h, p)      aio_open_connection(host, port, limit, &stream)
 *   await asyncio.start_server(cb, h, p)     aio_start_server(cb, arg, host, port, limit, &server)
 *   server.sockets[0].getsockname()[1]       aio_server_port(server)
 *   await server.serve_forever()             aio_server_serve_forever(server)
 *   server.close(); server.close_clients()   aio_server_close(server)
 *   await reader.readline()                  aio_readline(stream, &line, &len)
 *   await reader.readuntil(sep)              aio_readuntil(stream, sep, seplen, &data, &len)
 *   await reader.readexactly(n)              aio_readexactly(stream, n, &data, &len)
 *   writer.write(data)                       aio_write(stream, data, len)
 *   await writer.drain()                     aio_drain(stream)
 *   writer.close(); await wait_closed()      aio_close(stream)
 *
 * Two layers, as in asyncio. The loop layer (aio_loop_*, aio_call_*,
 * aio_add_reader/writer) runs callbacks: it is all that Item 60's stackless
 * program uses. Tasks are built on it: each task runs an ordinary C function,
 * a task_fn (the same shape as common/futures' tasks), on a stack of its own.
 * A call that must wait suspends the task and lets the loop run others; the
 * loop resumes the task when what it waited for has happened.
 *
 * The await. Every call that can suspend returns struct error *: NULL, or
 * the error to pass up (CancelledError when the task was cancelled while it
 * waited). The check right after such a call is where the book writes await:
 *     if ((err = aio_sleep(latency)))
 *         return err;
 * Because tasks are stackful, a plain C function that calls aio_sleep may
 * itself be called from a task without being "async": there is no colouring.
 *
 * Errors (the common/ policy): what a caller can meet or provoke is returned
 * as struct error * with Python's type names: RuntimeError ("no running event
 * loop" for a suspending call made outside a task), CancelledError,
 * OSError (mmap of a stack, epoll, EMFILE on accept or socket, with the
 * call and strerror in the message), ConnectionResetError, LimitOverrunError,
 * IncompleteReadError. A broken invariant or a failed pthread call dies on
 * the spot (check's die*); so does running out of malloc'd memory.
 *
 * Threads. One loop per thread, at most one running at a time in a thread.
 * Everything here is for the loop's own thread, except
 * aio_call_soon_threadsafe and aio_run_coroutine_threadsafe, which any
 * thread may call while the loop exists.
 *
 * Debug mode: aio_run_debug, aio_loop_set_debug(loop, true), or AIO_DEBUG=1
 * in the environment (asyncio's debug=True / PYTHONASYNCIODEBUG=1). A task
 * step or callback that holds the loop longer than 100 ms (asyncio's
 * slow_callback_duration) prints on stderr, as asyncio logs it:
 *     Executing <Task finished name='Task-1' coro=<slow_coroutine() done,
 *     defined at item61-63/slow_coroutine.c:20> result=None created at
 *     item61-63/slow_coroutine.c:31> took 0.501 seconds
 * (one line). "created at" is where aio_create_task or aio_run was called;
 * "defined at" needs AIO_COROUTINE(fn) on the line above the function's
 * definition (C cannot find a function's line by itself); without it the
 * report says "defined at ?".
 *
 * Where aio differs from asyncio on purpose (tests/unit/test_aio.c carries
 * CPython's test_asyncio cases that apply, by name):
 * - a task is collected by one aio_await or aio_gather, which frees it;
 *   asyncio lets any number of coroutines await one task;
 * - aio_gather returns when every task has finished, with the first error;
 *   asyncio's returns at the first error while the others run on; there is
 *   no return_exceptions, and no wait_for/timeout (cancel the task instead);
 * - the slow-callback threshold is fixed at 100 ms, and a plain callback is
 *   reported by address (C has no function names at run time);
 * - the future from aio_run_coroutine_threadsafe cannot cancel its task
 *   (common/futures has no cancel()); closing the loop cancels it, and the
 *   future then holds CancelledError;
 * - a task's stack is fixed (see below): deep recursion in a task overflows.
 *
 * Stacks: a task runs on a 128 KiB stack of its own (512 KiB under ASan or
 * TSan), of which a suspended task keeps about 4.1 KiB resident. Overflow
 * hits a guard page: the task dies naming itself, then of SIGSEGV. Since
 * Linux 6.13 every stack has one (a guard marker, which costs no mapping);
 * before, only while vm.max_map_count allows one per stack (about 30,700
 * stacks in a process), and past that a canary checked at every switch
 * catches it: the task dies naming itself. More on limits and costs in the
 * implementation notes at the top of aio_task.c (stacks) and aio_loop.c.
 */
#ifndef COMMON_AIO_H
#define COMMON_AIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "futures.h"

/* ==== the loop layer ==== */

struct aio_loop;
typedef void aio_callback(void *arg);

/* A scheduled callback (asyncio's Handle and TimerHandle), in storage the
 * caller owns (a stackless coroutine embeds it: no allocation per wait). It
 * must stay valid until its callback has run or it was cancelled; once the
 * callback runs, the handle is free for reuse (even from inside that
 * callback). The fields are the loop's; it need not be initialised before it
 * is first scheduled, but zero it ({0}) if it may be cancelled before then. */
struct aio_handle {
    aio_callback *callback;
    void *arg;
    double when;           /* deadline on clock_now()'s scale; 0 for call_soon */
    uint64_t seq;          /* equal deadlines run in scheduling order */
    size_t heap_index;     /* its position: in the timer heap, the lane or the ready ring */
    struct aio_loop *loop; /* where it is scheduled (for aio_handle_cancel) */
    int state;
};

/* A new loop; OSError if epoll or eventfd cannot be had (EMFILE). */
struct error *aio_loop_create(struct aio_loop **loop);
/* Free the loop: it must not be running. Handles never run are dropped;
 * tasks still alive on it are cancelled and run to their end first; the
 * default executor, if one was made, is shut down (waiting). */
void aio_loop_close(struct aio_loop *loop);
void aio_loop_set_debug(struct aio_loop *loop, bool debug);

/* The loop running in this thread, or NULL. */
struct aio_loop *aio_get_running_loop(void);

void aio_call_soon(struct aio_loop *loop, struct aio_handle *h, aio_callback *cb, void *arg);
void aio_call_later(struct aio_loop *loop, struct aio_handle *h, double delay, aio_callback *cb,
                    void *arg);
void aio_call_at(struct aio_loop *loop, struct aio_handle *h, double when, aio_callback *cb,
                 void *arg);
void aio_handle_cancel(struct aio_handle *h); /* not run yet: now it never will */

/* Any thread: run cb(arg) on the loop's thread soon (wakes the loop). */
void aio_call_soon_threadsafe(struct aio_loop *loop, aio_callback *cb, void *arg);

/* cb(arg) each time fd is readable (writable) until removed; one reader and
 * one writer per descriptor, a second add replaces the first. OSError if
 * epoll refuses the descriptor (a regular file: EPERM). */
struct error *aio_add_reader(struct aio_loop *loop, int fd, aio_callback *cb, void *arg);
struct error *aio_add_writer(struct aio_loop *loop, int fd, aio_callback *cb, void *arg);
void aio_remove_reader(struct aio_loop *loop, int fd);
void aio_remove_writer(struct aio_loop *loop, int fd);
/* Before close(fd): drop fd's reader and writer and its epoll registration,
 * which aio_wait_readable/writable leave in place between waits. Without it
 * a closed descriptor's number, reused, could wait for ever (the loop would
 * think it registered), and a duplicate (dup, fork) would keep reporting
 * events for it. NULL loop or an unknown fd: nothing to do. */
void aio_forget_fd(struct aio_loop *loop, int fd);

/* Run until aio_loop_stop; run one more round of what is ready, then return. */
void aio_loop_run_forever(struct aio_loop *loop);
void aio_loop_stop(struct aio_loop *loop);

/* ==== tasks ==== */

struct aio_task;

/* asyncio.create_task: schedule fn(arg) as a task on the running loop; it
 * does not run until the caller awaits or otherwise yields. RuntimeError
 * outside a running loop; OSError if no stack can be mapped. The task
 * belongs to whoever awaits it: aio_await or aio_gather collects it exactly
 * once and frees it (like pthread_join). One never awaited is cancelled and
 * freed when its loop closes. */
#define aio_create_task(task, fn, arg)                                                             \
    aio_create_task_at((task), (fn), #fn, (arg), __FILE__, __LINE__)

/* Wait for the task to finish; store its result, free it, return its error. */
struct error *aio_await(struct aio_task *task, void **result);

/* Wait for all n tasks (every one: nothing they use is freed under them),
 * store result i in results[i] (results may be NULL), free them, and return
 * the first error raised (by time), or NULL; the other errors are freed. If
 * the caller is cancelled meanwhile, every task is cancelled, still waited
 * for, and CancelledError is returned. */
struct error *aio_gather(struct aio_task **tasks, size_t n, void **results);

/* Suspend for seconds (0: let every ready task run once, then resume). */
struct error *aio_sleep(double seconds);

/* Suspend until fd is readable (writable). One task at a time per
 * descriptor and direction: a second gets RuntimeError. The descriptor
 * stays registered with the loop's epoll after the wait (the next wait then
 * costs no system call): call aio_forget_fd before closing it. */
struct error *aio_wait_readable(int fd);
struct error *aio_wait_writable(int fd);

/* Ask the task to stop: the call it is waiting in (or its first, if it has
 * not started) returns CancelledError. A task that finished is unaffected.
 * Idempotent. */
void aio_cancel(struct aio_task *task);

struct aio_task *aio_current_task(void); /* NULL outside a task */

/* asyncio.run: a fresh loop in this thread, main as its first task, run to
 * completion; then cancel what is left, shut down the default executor,
 * close the loop. Returns main's error (or an OSError setting the loop up). */
#define aio_run(fn, arg, result) aio_run_at((fn), #fn, (arg), (result), false, __FILE__, __LINE__)
#define aio_run_debug(fn, arg, result)                                                             \
    aio_run_at((fn), #fn, (arg), (result), true, __FILE__, __LINE__)

/* loop.run_until_complete(fn(arg)) on a loop the caller made. */
#define aio_loop_run_until_complete(loop, fn, arg, result)                                         \
    aio_loop_run_until_complete_at((loop), (fn), #fn, (arg), (result), __FILE__, __LINE__)

/* AIO_COROUTINE(fn) on the line above fn's definition records, for debug
 * mode, where fn is defined. */
#define AIO_COROUTINE(fn)                                                                          \
    static task_fn fn;                                                                             \
    __attribute__((constructor)) static void aio_coroutine_##fn(void)                              \
    {                                                                                              \
        aio_register_coroutine(fn, #fn, __FILE__, __LINE__ + 1);                                   \
    }

/* ==== bridges to threads ==== */

/* loop.run_in_executor: run fn(arg) on the executor's threads (ex NULL: the
 * loop's default ThreadPoolExecutor, min(32, cpus + 4) threads, made on first
 * use), suspend until it is done, return its result and error. Cancelled
 * while waiting: returns CancelledError at once; the function still runs to
 * its end on its thread and its result is then discarded. */
struct error *aio_run_in_executor(struct executor *ex, task_fn *fn, void *arg, void **result);

/* asyncio.run_coroutine_threadsafe, from a thread that is not loop's: fn(arg)
 * becomes a task on loop; the returned future (the caller's, future_destroy
 * it) resolves with the task's result or error. */
#define aio_run_coroutine_threadsafe(loop, fn, arg)                                                \
    aio_run_coroutine_threadsafe_at((loop), (fn), #fn, (arg), __FILE__, __LINE__)

/* await asyncio.wrap_future(f): suspend until f is done, then
 * future_result(f, result). The future stays the caller's. */
struct error *aio_await_future(struct future *f, void **result);

/* ==== streams over TCP ==== */

#define AIO_STREAM_LIMIT (64 * 1024) /* asyncio's _DEFAULT_LIMIT */

struct aio_stream; /* a StreamReader and its StreamWriter, over one socket */
struct aio_server;

/* A connection's task: runs with the new stream; the stream is closed and
 * freed after it returns (asyncio leaves that to the callback; calling
 * aio_close in it is fine: the socket closes, the memory goes later). An
 * error it returns is printed on stderr as asyncio logs an unhandled one,
 * except CancelledError. It must return once a call gives CancelledError:
 * aio_server_close waits for it. */
typedef struct error *aio_client_connected_fn(struct aio_stream *stream, void *arg);

/* limit: the longest line aio_readline returns, '\n' not counted, and the
 * most aio_readuntil reads before its separator (0: the default,
 * AIO_STREAM_LIMIT). host is numeric or "localhost". Where asyncio
 * differs: limit 0 is ValueError there; one task drains a stream at a time
 * here (a second gets RuntimeError; 3.12 lets several wait); a server binds
 * the first address of host, asyncio every one. */
struct error *aio_open_connection(const char *host, int port, size_t limit,
                                  struct aio_stream **stream);
/* Listening (SO_REUSEADDR) when it returns; port 0 takes a free one. */
struct error *aio_start_server(aio_client_connected_fn *cb, void *arg, const char *host, int port,
                               size_t limit, struct aio_server **server);
int aio_server_port(const struct aio_server *server);
/* Accept connections, a task each, until closed (then it returns NULL) or
 * cancelled (CancelledError; the server stays open until closed). An accept
 * failure such as EMFILE is logged on stderr and retried, not fatal. */
struct error *aio_server_serve_forever(struct aio_server *server);
/* Stop listening, cancel every connection's task and wait for them; free.
 * Call it from a task on the server's loop that is not one of its
 * connections (it would wait for itself). */
void aio_server_close(struct aio_server *server);

/* The next line, '\n' included, as a malloc'd NUL-terminated string (the
 * caller frees it) and its length; at EOF the bytes left (no '\n'), then
 * "" with *len 0. A line over limit bytes: ValueError with asyncio's
 * LimitOverrunError message (its cause, type LimitOverrunError), as
 * asyncio's readline turns one into the other; the line is discarded
 * through its '\n', or the whole buffer if it has none. A peer that
 * resets: ConnectionResetError. One task reads a stream at a time. */
struct error *aio_readline(struct aio_stream *stream, char **line, size_t *len);
/* The bytes through the first sep (seplen bytes; 0 is ValueError), as a
 * malloc'd NUL-terminated string and its length. EOF first:
 * IncompleteReadError, with all that was left in *data and *len (asyncio's
 * e.partial). Separator not found in more than limit bytes, or found past
 * them: LimitOverrunError with asyncio's message; *data is NULL, *len is
 * asyncio's e.consumed, and the bytes stay in the stream (readexactly(*len)
 * takes them). Otherwise as aio_readline. asyncio 3.13's tuple of
 * separators is not here. */
struct error *aio_readuntil(struct aio_stream *stream, const char *sep, size_t seplen, char **data,
                            size_t *len);
/* Exactly n bytes, however many recvs it takes (no limit), as a malloc'd
 * NUL-terminated string; *len is n. EOF first: IncompleteReadError ("3
 * bytes read on a total of 10 expected bytes"), with the bytes that came in
 * *data and *len (e.partial). Otherwise as aio_readline. */
struct error *aio_readexactly(struct aio_stream *stream, size_t n, char **data, size_t *len);
/* Queue bytes to send; never suspends. An error if the connection has
 * already failed. */
struct error *aio_write(struct aio_stream *stream, const void *data, size_t len);
/* Suspend until what was written is down to the high-water mark (64 KiB):
 * above it, until it is down to the low-water mark (16 KiB), as asyncio's
 * flow control. A failed connection: its error, e.g. ConnectionResetError or
 * BrokenPipeError (EPIPE; never a SIGPIPE). */
struct error *aio_drain(struct aio_stream *stream);
/* Bytes queued and not yet taken by the kernel (transport.get_write_buffer_size()). */
size_t aio_write_buffer_size(const struct aio_stream *stream);
/* Flush what is queued (best effort: in a task it suspends while the peer
 * reads, as wait_closed does; cancelled, it drops the rest), close, free. */
void aio_close(struct aio_stream *stream);

/* ==== behind the macros ==== */

struct error *aio_create_task_at(struct aio_task **task, task_fn *fn, const char *name, void *arg,
                                 const char *file, int line);
struct error *aio_run_at(task_fn *fn, const char *name, void *arg, void **result, bool debug,
                         const char *file, int line);
struct error *aio_loop_run_until_complete_at(struct aio_loop *loop, task_fn *fn, const char *name,
                                             void *arg, void **result, const char *file, int line);
struct future *aio_run_coroutine_threadsafe_at(struct aio_loop *loop, task_fn *fn, const char *name,
                                               void *arg, const char *file, int line);
void aio_register_coroutine(task_fn *fn, const char *name, const char *file, int line);

#endif
