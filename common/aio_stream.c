/* aio_stream: asyncio's streams (StreamReader/StreamWriter, open_connection,
 * start_server) over TCP, built on aio's tasks. See aio.h for the interface.
 *
 * Implementation notes
 *
 * Threads. None of its own: a stream or server belongs to the loop (and the
 * thread) it was made on, and every call here runs there. Nothing is locked.
 *
 * Sockets. Every descriptor is made SOCK_NONBLOCK|SOCK_CLOEXEC (a program
 * that spawns children does not leak connections into them), TCP_NODELAY is
 * set as asyncio sets it (a short reply is sent at once, not held back by
 * Nagle's algorithm waiting for an ACK the peer delays), and every send uses
 * MSG_NOSIGNAL, so a peer that has gone away gives EPIPE, never a SIGPIPE
 * that would kill the program.
 *
 * Reading. A stream has one read buffer, [rstart, rstart + rlen) of rbuf,
 * that grows by doubling and keeps at least READ_CHUNK bytes free for the
 * next recv. aio_readline and aio_readuntil look for the separator in what
 * they have (until(), asyncio's readuntil); only when it is not there do
 * they recv, and only when recv says EAGAIN do they suspend
 * (aio_wait_readable). The limit is asyncio's: a line of up to `limit` bytes
 * before its separator is returned; past that, the call fails with asyncio's
 * message ("Separator is found, but chunk is longer than limit";
 * "Separator is not found, and chunk exceed the limit"), so the buffer never
 * holds more than limit + READ_CHUNK bytes before a recv: a client cannot
 * make the server buffer an endless line. readline then drops the line
 * through its '\n', or the whole buffer if it has none; readuntil leaves
 * the bytes for the caller, as asyncio does. aio_readexactly(n) has no
 * limit: the buffer grows to n. One task reads a stream at a time.
 *
 * Writing. aio_write never suspends: with nothing queued it tries send()
 * directly (the usual case: the whole reply goes out in that one call, no
 * copy); what the kernel does not take is appended to the write buffer, and a
 * loop-layer writer callback (aio_add_writer) sends it in the background as
 * the socket drains, as asyncio's transport does. aio_drain is asyncio's flow
 * control: if more than WRITE_HIGH (64 KiB) is queued it suspends until the
 * queue is down to WRITE_LOW (16 KiB), so a fast writer to a slow reader
 * holds at most about 64 KiB plus one write. While a task drains, it waits
 * with aio_wait_writable and the background callback is removed (a
 * descriptor has one writer slot in the loop); it is put back if bytes are
 * left when the drain ends, however it ends.
 *
 * Errors. The first failure of a connection (ECONNRESET, EPIPE, ...) is kept
 * in the stream and every later readline, write and drain returns a copy, as
 * asyncio's reader keeps its exception: Python's exception types and
 * messages ("ConnectionResetError: [Errno 104] Connection reset by peer";
 * EPIPE is BrokenPipeError, as in Python). A send that fails inside
 * aio_write is reported by the next call, as asyncio's write never raises
 * for it and its drain does.
 *
 * Closing. aio_close sends what is queued first, suspending (in a task)
 * while the peer reads, as `writer.close(); await writer.wait_closed()`
 * does; a cancelled close drops the rest. A server's connection is closed
 * the same way when its callback returns, unless the callback returned
 * CancelledError (a loop that closes cancels it, and must not then wait for
 * its client to read): then its queue is dropped, as it is for every
 * connection of a server that is closing. A callback that swallows its
 * CancelledError and returns normally still flushes, uninterruptibly: it
 * should pass the error up. Linux answers a
 * close with unread input still queued (the rest of an overlong line) with
 * RST rather than FIN, so such a client sees ConnectionResetError.
 *
 * Cancellation. A read cancelled while it waits returns CancelledError
 * and loses nothing: the bytes it had read stay in the buffer for the next
 * read. A cancelled drain keeps its queue (the background writer goes on
 * sending it). A cancelled open_connection closes its socket.
 *
 * Ownership. aio_open_connection's stream is the caller's (aio_close frees
 * it). A server owns its connections: each runs client_connected (below) in
 * a task of its own, which calls the user's callback and then closes the
 * stream. Tasks must be awaited to be freed, so the task that runs
 * aio_server_serve_forever awaits each connection's task once it has
 * finished; aio_server_close cancels the live ones and gathers them all.
 * The serving task waits on one descriptor for two kinds of event, a new
 * connection and a connection that finished, so it waits on a small epoll
 * descriptor of its own (epfd) that watches the listening socket and an
 * eventfd (wakefd) a finishing connection writes to. Three descriptors per
 * server, one per connection.
 *
 * A callback may aio_close its own stream: that closes the socket, and the
 * memory is freed when the callback returns (asyncio's handlers call
 * writer.close() themselves, and a port of one should not double-free).
 *
 * The server struct is freed by the last of aio_server_close and a running
 * aio_server_serve_forever to let go of it (refs): close may return while the
 * serving task has still to wake up and see that it is closed. The listening
 * socket is closed by aio_server_close itself; epfd and wakefd go when the
 * serving task returns, so /proc/self/fd is back to its count once that task
 * has been awaited.
 *
 * Limits. host is numeric or "localhost" (getaddrinfo would block the loop
 * on a DNS lookup; asyncio runs it in a thread); a server listens on the
 * first address that binds (asyncio binds every address of "localhost").
 * accept(2) out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) is
 * logged and retried after ACCEPT_PAUSE seconds, so the loop does not spin
 * on a listening socket that stays readable; the connection waits in the
 * backlog (SOMAXCONN) meanwhile. The serving task accepts at most
 * ACCEPT_BATCH connections before it lets the connections' tasks run. Per
 * connection: a task (its stack, 128 KiB mapped, a page or two touched), the
 * stream (about 150 bytes) and its buffers (4 KiB for reading once it has
 * read; a write buffer only when the kernel would not take a write whole).
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "aio.h"
#include "check.h"
#include "error.h"

enum {
    READ_CHUNK = 4096,      /* free space kept for each recv */
    WRITE_HIGH = 64 * 1024, /* asyncio's default high-water mark */
    WRITE_LOW = 16 * 1024,  /* and its low-water mark, high / 4 */
    ACCEPT_BATCH = 128,     /* accepts before letting the other tasks run */
};
static const double ACCEPT_PAUSE = 0.1; /* seconds; asyncio waits 1 s */

struct aio_stream {
    int fd;
    size_t limit;
    struct aio_loop *loop;
    char *rbuf;
    size_t rstart, rlen, rcap;
    bool eof;     /* recv returned 0 */
    bool reading; /* a task is suspended in readline */
    char *wbuf;
    size_t wstart, wlen, wcap;
    bool writer_added;   /* the background writer is registered */
    bool draining;       /* a task is suspended in drain */
    struct error *error; /* the connection's first failure, kept */
    bool served;         /* a server's connection: its task frees it */
    bool closed;         /* aio_close'd by a server's callback; fd is -1 */
};

/* ==== errors as Python names them ==== */

static const char *errno_type(int err)
{
    switch (err) {
    case ECONNREFUSED:
        return "ConnectionRefusedError";
    case ECONNRESET:
        return "ConnectionResetError";
    case ECONNABORTED:
        return "ConnectionAbortedError";
    case EPIPE:
    case ESHUTDOWN:
        return "BrokenPipeError";
    case ETIMEDOUT:
        return "TimeoutError";
    default:
        return "OSError";
    }
}

/* Python's str(OSError(errno, strerror)): "[Errno 104] Connection reset by peer". */
static struct error *errno_error(int err)
{
    return error_new(errno_type(err), "[Errno %d] %s", err, strerror(err));
}

static struct error *call_error(const char *call, int err)
{
    return error_new(errno_type(err), "[Errno %d] %s: %s", err, call, strerror(err));
}

/* asyncio's bind message lowers strerror: "address already in use". */
static const char *lower(const char *text, char *out, size_t size)
{
    size_t i = 0;
    for (; text[i] && i + 1 < size; i++)
        out[i] = (char)tolower((unsigned char)text[i]);
    out[i] = '\0';
    return out;
}

static bool is_cancelled(const struct error *e)
{
    return e && strcmp(e->type, "CancelledError") == 0;
}

/* ==== the stream ==== */

static struct aio_stream *stream_new(int fd, size_t limit)
{
    struct aio_stream *s = xcalloc(1, sizeof *s);
    s->fd = fd;
    s->limit = limit ? limit : AIO_STREAM_LIMIT;
    s->loop = aio_get_running_loop();
    int one = 1;
    /* Not fatal if refused (a socket family without it): only latency suffers. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return s;
}

static void fail(struct aio_stream *s, int err)
{
    if (!s->error)
        s->error = errno_error(err);
}

/* ---- reading ---- */

/* Take n bytes from the front of the read buffer as a NUL-terminated string. */
static char *take(struct aio_stream *s, size_t n)
{
    char *line = xmalloc(n + 1);
    if (n > 0) /* rbuf is NULL until the first recv */
        memcpy(line, s->rbuf + s->rstart, n);
    line[n] = '\0';
    s->rstart += n;
    s->rlen -= n;
    if (s->rlen == 0)
        s->rstart = 0;
    return line;
}

static void drop(struct aio_stream *s, size_t n)
{
    s->rstart += n;
    s->rlen -= n;
    if (s->rlen == 0)
        s->rstart = 0;
}

/* asyncio's readline turns readuntil's LimitOverrunError into a ValueError
 * with the same message; the cause keeps the original. */
static struct error *limit_error(const char *message)
{
    return error_from(error_new("LimitOverrunError", "%s", message), "ValueError", "%s", message);
}

/* Make room for READ_CHUNK more bytes at the end of the buffer. */
static void make_room(struct aio_stream *s)
{
    if (s->rstart > 0 && s->rcap - s->rstart - s->rlen < READ_CHUNK) {
        memmove(s->rbuf, s->rbuf + s->rstart, s->rlen);
        s->rstart = 0;
    }
    if (s->rcap - s->rlen < READ_CHUNK) {
        size_t cap = s->rcap ? s->rcap : READ_CHUNK;
        while (cap - s->rlen < READ_CHUNK)
            cap *= 2;
        s->rbuf = xrealloc(s->rbuf, cap);
        s->rcap = cap;
    }
}

/* A read may start: NULL, or the connection's kept failure, or RuntimeError
 * while another task waits in a read (asyncio's _wait_for_data). */
static struct error *may_read(struct aio_stream *s, const char *call)
{
    if (s->error)
        return error_copy(s->error);
    if (s->reading)
        return error_new("RuntimeError",
                         "%s() called while another task is already waiting for incoming data",
                         call);
    return NULL;
}

/* recv more into the read buffer, suspending while there is nothing: NULL
 * once some bytes or EOF came, else the error (CancelledError, and what was
 * read stays buffered for the next call; the connection's failure). */
static struct error *fill(struct aio_stream *s)
{
    for (;;) {
        make_room(s);
        ssize_t n = recv(s->fd, s->rbuf + s->rstart + s->rlen, s->rcap - s->rstart - s->rlen, 0);
        if (n > 0) {
            s->rlen += (size_t)n;
            return NULL;
        }
        if (n == 0) {
            s->eof = true;
            return NULL;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            s->reading = true;
            struct error *err = aio_wait_readable(s->fd);
            s->reading = false;
            if (err)
                return err;
        } else if (errno != EINTR) {
            fail(s, errno);
            return error_copy(s->error);
        }
    }
}

enum until {
    SEP_FOUND,    /* *at: where the separator starts */
    SEP_TOO_FAR,  /* found, but more than limit bytes before it (*at, asyncio's consumed) */
    SEP_NOT_SEEN, /* not found in more than limit bytes (*at: the bytes searched) */
    SEP_EOF,      /* EOF first: the buffer holds all there is */
};

/* asyncio's readuntil up to its outcome, which leaves the buffer as it is:
 * each of readline and readuntil does what asyncio's does with it. Only new
 * bytes are searched, from seplen - 1 back, so a separator split between two
 * recvs is found. */
static struct error *until(struct aio_stream *s, const char *sep, size_t seplen,
                           enum until *outcome, size_t *at)
{
    size_t offset = 0; /* the separator does not start before it */
    for (;;) {
        if (s->rlen >= offset + seplen) {
            const char *start = s->rbuf + s->rstart;
            const char *found = memmem(start + offset, s->rlen - offset, sep, seplen);
            if (found) {
                *at = (size_t)(found - start);
                *outcome = *at > s->limit ? SEP_TOO_FAR : SEP_FOUND;
                return NULL;
            }
            offset = s->rlen + 1 - seplen;
            if (offset > s->limit) {
                *at = offset;
                *outcome = SEP_NOT_SEEN;
                return NULL;
            }
        }
        if (s->eof) {
            *at = s->rlen;
            *outcome = SEP_EOF;
            return NULL;
        }
        struct error *err = fill(s);
        if (err)
            return err;
    }
}

static const char SEP_FOUND_LONG[] = "Separator is found, but chunk is longer than limit";
static const char SEP_NOT_FOUND[] = "Separator is not found, and chunk exceed the limit";

struct error *aio_readline(struct aio_stream *s, char **line, size_t *len)
{
    *line = NULL;
    if (len)
        *len = 0;
    enum until outcome;
    size_t at, n;
    struct error *err = may_read(s, "readline");
    if (err || (err = until(s, "\n", 1, &outcome, &at)))
        return err;
    switch (outcome) {
    case SEP_TOO_FAR: /* asyncio: drop the line through its '\n' */
        drop(s, at + 1);
        return limit_error(SEP_FOUND_LONG);
    case SEP_NOT_SEEN: /* and here the whole buffer */
        drop(s, s->rlen);
        return limit_error(SEP_NOT_FOUND);
    case SEP_FOUND:
        n = at + 1;
        break;
    default: /* SEP_EOF: the partial line, then "" */
        n = s->rlen;
        break;
    }
    *line = take(s, n);
    if (len)
        *len = n;
    return NULL;
}

struct error *aio_readuntil(struct aio_stream *s, const char *sep, size_t seplen, char **data,
                            size_t *len)
{
    *data = NULL;
    *len = 0;
    if (seplen == 0)
        return error_new("ValueError", "Separator should be at least one-byte string");
    enum until outcome;
    size_t at;
    struct error *err = may_read(s, "readuntil");
    if (err || (err = until(s, sep, seplen, &outcome, &at)))
        return err;
    switch (outcome) {
    case SEP_FOUND:
        *len = at + seplen;
        *data = take(s, *len);
        return NULL;
    case SEP_TOO_FAR: /* the bytes stay: readexactly(*len) takes them */
        *len = at;
        return error_new("LimitOverrunError", "%s", SEP_FOUND_LONG);
    case SEP_NOT_SEEN:
        *len = at;
        return error_new("LimitOverrunError", "%s", SEP_NOT_FOUND);
    default: /* SEP_EOF */
        *len = s->rlen;
        *data = take(s, *len);
        return error_new("IncompleteReadError",
                         "%zu bytes read on a total of undefined expected bytes", *len);
    }
}

struct error *aio_readexactly(struct aio_stream *s, size_t n, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    struct error *err = may_read(s, "readexactly");
    while (!err && s->rlen < n) {
        if (s->eof) {
            *len = s->rlen;
            *data = take(s, *len);
            return error_new("IncompleteReadError",
                             "%zu bytes read on a total of %zu expected bytes", *len, n);
        }
        err = fill(s);
    }
    if (err)
        return err;
    *len = n;
    *data = take(s, n);
    return NULL;
}

/* ---- writing ---- */

/* Send what is queued until the kernel takes no more. */
static void flush(struct aio_stream *s)
{
    while (s->wlen > 0 && !s->error) {
        ssize_t n = send(s->fd, s->wbuf + s->wstart, s->wlen, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            s->wstart += (size_t)n;
            s->wlen -= (size_t)n;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else if (errno != EINTR) {
            fail(s, errno);
        }
    }
    if (s->wlen == 0 || s->error) {
        s->wstart = s->wlen = 0;
    }
}

static void on_writable(void *arg);

/* Keep the background writer registered exactly while bytes are queued. */
static void update_writer(struct aio_stream *s)
{
    bool want = s->wlen > 0 && !s->error && !s->draining && s->loop;
    if (want == s->writer_added)
        return;
    if (want) {
        struct error *err = aio_add_writer(s->loop, s->fd, on_writable, s);
        if (err) { /* the connection cannot be served: say so at the next call */
            if (!s->error)
                s->error = err;
            else
                error_free(err);
            s->wstart = s->wlen = 0;
            return;
        }
    } else {
        aio_remove_writer(s->loop, s->fd);
    }
    s->writer_added = want;
}

static void on_writable(void *arg)
{
    struct aio_stream *s = arg;
    flush(s);
    update_writer(s);
}

static struct error *lost(void)
{
    return error_new("ConnectionResetError", "Connection lost");
}

struct error *aio_write(struct aio_stream *s, const void *data, size_t len)
{
    if (s->error)
        return error_copy(s->error);
    if (s->closed)
        return lost();
    const char *p = data;
    while (s->wlen == 0 && len > 0) { /* nothing queued: send directly, no copy */
        ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0) {
            p += n;
            len -= (size_t)n;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else if (errno != EINTR) {
            fail(s, errno); /* reported by the next write, drain or readline */
            return NULL;
        }
    }
    if (len == 0)
        return NULL;
    if (s->wstart > 0 && s->wcap - s->wstart - s->wlen < len) {
        memmove(s->wbuf, s->wbuf + s->wstart, s->wlen);
        s->wstart = 0;
    }
    if (s->wcap - s->wlen < len) {
        size_t cap = s->wcap ? s->wcap : READ_CHUNK;
        while (cap - s->wlen < len)
            cap *= 2;
        s->wbuf = xrealloc(s->wbuf, cap);
        s->wcap = cap;
    }
    memcpy(s->wbuf + s->wstart + s->wlen, p, len);
    s->wlen += len;
    update_writer(s);
    return NULL;
}

size_t aio_write_buffer_size(const struct aio_stream *s)
{
    return s->wlen;
}

/* Send until at most `target` bytes are queued, suspending as needed. */
static struct error *flush_to(struct aio_stream *s, size_t target)
{
    struct error *err = NULL;
    s->draining = true;
    update_writer(s); /* the background writer gives the descriptor's writer slot up */
    for (;;) {
        flush(s);
        if (s->error) {
            err = error_copy(s->error);
            break;
        }
        if (s->wlen <= target)
            break;
        if ((err = aio_wait_writable(s->fd)))
            break;
    }
    s->draining = false;
    update_writer(s);
    return err;
}

struct error *aio_drain(struct aio_stream *s)
{
    if (s->error)
        return error_copy(s->error);
    if (s->closed)
        return lost();
    if (s->wlen <= WRITE_HIGH)
        return NULL;
    if (s->draining)
        return error_new("RuntimeError", "drain() called while another task is already draining");
    return flush_to(s, WRITE_LOW);
}

/* ---- closing ---- */

/* Flush (if asked and possible), close the socket. */
static void stream_shut(struct aio_stream *s, bool flush_first)
{
    if (s->draining || s->reading)
        die("aio_close: the stream is in use by a suspended readline or drain");
    if (flush_first && s->wlen > 0 && !s->error && aio_current_task()) {
        struct error *err = flush_to(s, 0); /* writer.close(); await wait_closed() */
        error_free(err);                    /* best effort: a cancelled close drops the rest */
    }
    /* Its reader and writer and epoll's registration, which waits leave in
     * place, go before the descriptor does. */
    if (aio_get_running_loop() == s->loop)
        aio_forget_fd(s->loop, s->fd);
    s->writer_added = false;
    close(s->fd);
    s->fd = -1;
    s->closed = true;
    s->eof = true; /* what is buffered can still be read, then "" */
    s->wstart = s->wlen = 0;
}

static void stream_free(struct aio_stream *s, bool flush_first)
{
    if (!s->closed)
        stream_shut(s, flush_first);
    free(s->rbuf);
    free(s->wbuf);
    error_free(s->error);
    free(s);
}

void aio_close(struct aio_stream *s)
{
    if (!s)
        return;
    if (s->served) { /* its connection's task frees it when the callback returns */
        if (!s->closed)
            stream_shut(s, true);
        return;
    }
    stream_free(s, true);
}

/* ==== connecting ==== */

static struct error *resolve(const char *host, int port, bool passive, struct addrinfo **res)
{
    if (port < 0 || port > 65535)
        return error_new("OverflowError", "port must be 0-65535.");
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    if (host && strcmp(host, "localhost") != 0)
        hints.ai_flags |= AI_NUMERICHOST; /* never a DNS lookup that blocks the loop */
    int rc = getaddrinfo(host, service, &hints, res);
    if (rc != 0)
        return error_new("gaierror", "[Errno %d] %s", rc, gai_strerror(rc));
    return NULL;
}

/* Python's repr of the address, for "Connect call failed ('127.0.0.1', 80)". */
static void format_address(const struct addrinfo *ai, char *out, size_t size)
{
    char host[64] = "?";
    int port = 0;
    if (ai->ai_family == AF_INET) {
        const struct sockaddr_in *sin = (const void *)ai->ai_addr;
        getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, NULL, 0, NI_NUMERICHOST);
        port = ntohs(sin->sin_port);
        snprintf(out, size, "('%s', %d)", host, port);
    } else {
        const struct sockaddr_in6 *sin6 = (const void *)ai->ai_addr;
        getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, NULL, 0, NI_NUMERICHOST);
        port = ntohs(sin6->sin6_port);
        snprintf(out, size, "('%s', %d, 0, 0)", host, port);
    }
}

/* One address: a connected nonblocking socket in *fd, or the error. */
static struct error *connect_one(const struct addrinfo *ai, int *fd)
{
    int s = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0)
        return call_error("socket", errno);
    int rc = connect(s, ai->ai_addr, ai->ai_addrlen);
    int err = rc == 0 ? 0 : errno;
    if (err == EINPROGRESS || err == EINTR) {
        struct error *e = aio_wait_writable(s);
        if (e) {
            aio_forget_fd(aio_get_running_loop(), s);
            close(s);
            return e;
        }
        socklen_t size = sizeof err;
        if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &size) < 0)
            err = errno;
    }
    if (err) {
        aio_forget_fd(aio_get_running_loop(), s);
        close(s);
        char address[96];
        format_address(ai, address, sizeof address);
        return error_new(errno_type(err), "[Errno %d] Connect call failed %s", err, address);
    }
    *fd = s;
    return NULL;
}

struct error *aio_open_connection(const char *host, int port, size_t limit,
                                  struct aio_stream **stream)
{
    *stream = NULL;
    if (!aio_current_task())
        return error_new("RuntimeError", "no running event loop");
    struct addrinfo *res;
    struct error *err = resolve(host, port, false, &res);
    if (err)
        return err;
    int fd = -1;
    /* asyncio tries each address in turn; if all fail it raises the one
     * error, or "Multiple exceptions: a, b" when they differ. */
    struct error *first = NULL;
    char joined[512] = "";
    bool differ = false;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        err = connect_one(ai, &fd);
        if (!err)
            break;
        if (is_cancelled(err)) {
            error_free(first);
            first = err;
            differ = false;
            break;
        }
        size_t used = strlen(joined);
        snprintf(joined + used, sizeof joined - used, "%s%s", used ? ", " : "", err->message);
        if (!first) {
            first = err;
        } else {
            differ |= strcmp(first->message, err->message) != 0;
            error_free(err);
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        if (differ) {
            error_free(first);
            return error_new("OSError", "Multiple exceptions: %.180s", joined);
        }
        return first ? first : error_new("OSError", "no address to connect to");
    }
    error_free(first);
    *stream = stream_new(fd, limit);
    return NULL;
}

/* ==== the server ==== */

struct conn {
    struct aio_server *server;
    struct aio_stream *stream; /* NULL once client_connected has closed it */
    struct aio_task *task;
    struct conn *prev, *next; /* in server->live or server->finished */
};

struct aio_server {
    int fd;     /* listening socket; -1 once closed */
    int epfd;   /* watches fd and wakefd, for the serving task */
    int wakefd; /* eventfd: a connection finished, or the server closed */
    int port;
    aio_client_connected_fn *cb;
    void *arg;
    size_t limit;
    struct aio_task *serving; /* the task in serve_forever, or NULL */
    bool closing;
    int refs; /* the owner's (until aio_server_close) + serve_forever's */
    struct conn *live, *finished;
};

static void list_push(struct conn **head, struct conn *c)
{
    c->prev = NULL;
    c->next = *head;
    if (*head)
        (*head)->prev = c;
    *head = c;
}

static void list_remove(struct conn **head, struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

static void server_release(struct aio_server *sv)
{
    if (--sv->refs > 0)
        return;
    if (sv->fd >= 0)
        close(sv->fd);
    aio_forget_fd(aio_get_running_loop(), sv->epfd); /* serve_forever waited on it */
    close(sv->epfd);
    close(sv->wakefd);
    free(sv);
}

static void wake(struct aio_server *sv)
{
    uint64_t one = 1;
    /* Can fail only with EAGAIN at a count of 2^64 - 2: then it is awake anyway. */
    ssize_t n = write(sv->wakefd, &one, sizeof one);
    (void)n;
}

/* A connection's task: the user's callback, then close the stream. */
static struct error *client_connected(void *arg, void **result)
{
    (void)result;
    struct conn *c = arg;
    struct aio_server *sv = c->server;
    struct error *err = sv->cb(c->stream, sv->arg);
    if (err && !is_cancelled(err)) {
        warn("Unhandled exception in client_connected_cb: %s: %s", err->type, err->message);
    }
    /* What the callback queued is sent before the socket closes, as
     * asyncio's transport.close() does after the callback's task ends (an
     * error included), but not by a cancelled one: its queue is dropped. Its
     * cancellation has been delivered, so the flush would not be interrupted
     * again, and a loop that is closing (aio_run's end cancels every task)
     * would wait for ever on a client who does not read. Nor by a server that
     * closes: it does not wait for its clients to read. */
    bool flush = !is_cancelled(err) && !sv->closing;
    error_free(err);
    stream_free(c->stream, flush);
    c->stream = NULL;
    list_remove(&sv->live, c);
    list_push(&sv->finished, c);
    wake(sv);
    return NULL;
}

struct error *aio_start_server(aio_client_connected_fn *cb, void *arg, const char *host, int port,
                               size_t limit, struct aio_server **server)
{
    *server = NULL;
    struct addrinfo *res;
    struct error *err = resolve(host, port, true, &res);
    if (err)
        return err;
    int fd = -1, epfd = -1, wakefd = -1;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        error_free(err);
        err = NULL;
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = call_error("socket", errno);
            continue;
        }
        int one = 1;
        /* Restarting a server must not wait out TIME_WAIT on its port. */
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
            bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
            int e = errno;
            char address[96], lowered[64];
            format_address(ai, address, sizeof address);
            err = error_new(errno_type(e),
                            "[Errno %d] error while attempting to bind on address "
                            "%s: %s",
                            e, address, lower(strerror(e), lowered, sizeof lowered));
            close(fd);
            fd = -1;
            continue;
        }
        break;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return err ? err : error_new("OSError", "no address to bind");

    /* SOMAXCONN (4096 on current Linux): 1,000 clients connecting at once
     * wait in the backlog instead of being refused. */
    if (listen(fd, SOMAXCONN) < 0) {
        err = call_error("listen", errno);
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t size = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &size) < 0) {
        err = call_error("getsockname", errno);
        goto fail;
    }
    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        err = call_error("epoll_create1", errno);
        goto fail;
    }
    if ((wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        err = call_error("eventfd", errno);
        goto fail;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        err = call_error("epoll_ctl", errno);
        goto fail;
    }
    ev.data.fd = wakefd;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) < 0) {
        err = call_error("epoll_ctl", errno);
        goto fail;
    }
    struct aio_server *sv = xcalloc(1, sizeof *sv);
    sv->fd = fd;
    sv->epfd = epfd;
    sv->wakefd = wakefd;
    sv->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                        : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    sv->cb = cb;
    sv->arg = arg;
    sv->limit = limit;
    sv->refs = 1;
    *server = sv;
    return NULL;
fail:
    close(fd);
    if (epfd >= 0)
        close(epfd);
    if (wakefd >= 0)
        close(wakefd);
    return err;
}

int aio_server_port(const struct aio_server *sv)
{
    return sv->port;
}

/* Await every connection task that has finished (the serving task owns them). */
static void reap(struct aio_server *sv)
{
    while (sv->finished && !sv->closing) {
        struct conn *c = sv->finished;
        list_remove(&sv->finished, c);
        /* It has returned (it wrote wakefd last): this does not suspend in
         * practice, and if it does, c is out of every list meanwhile, so
         * aio_server_close does not await it a second time. */
        struct error *err = aio_await(c->task, NULL);
        error_free(err);
        free(c);
    }
}

/* Accept what is pending: a task per connection. Returns false when out of
 * a resource, after logging it. */
static bool accept_some(struct aio_server *sv, struct error **fatal)
{
    for (int i = 0; i < ACCEPT_BATCH && !sv->closing; i++) {
        int fd = accept4(sv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            if (e == EAGAIN || e == EWOULDBLOCK)
                return true;
            if (e == EINTR || e == ECONNABORTED || e == EPROTO)
                continue; /* the client gave up before we accepted: nothing to serve */
            if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
                warn("socket.accept() out of system resource: [Errno %d] %s; retrying in %g "
                     "seconds",
                     e, strerror(e), ACCEPT_PAUSE);
                return false;
            }
            *fatal = call_error("accept4", e);
            return true;
        }
        struct conn *c = xcalloc(1, sizeof *c);
        c->server = sv;
        c->stream = stream_new(fd, sv->limit);
        c->stream->served = true;
        struct error *err = aio_create_task(&c->task, client_connected, c);
        if (err) { /* no stack for it (mmap failed, or the mapping count ran out) */
            warn("cannot serve a connection: %s: %s; retrying in %g seconds", err->type,
                 err->message, ACCEPT_PAUSE);
            error_free(err);
            stream_free(c->stream, false);
            free(c);
            return false;
        }
        list_push(&sv->live, c);
    }
    return true;
}

struct error *aio_server_serve_forever(struct aio_server *sv)
{
    if (!aio_current_task())
        return error_new("RuntimeError", "no running event loop");
    if (sv->closing)
        return error_new("RuntimeError", "server is closed");
    if (sv->serving)
        return error_new("RuntimeError", "server is already being awaited on serve_forever()");
    sv->serving = aio_current_task();
    sv->refs++;
    struct error *err = NULL;
    while (!sv->closing && !err) {
        reap(sv);
        if (sv->closing)
            break;
        uint64_t count;
        ssize_t n = read(sv->wakefd, &count, sizeof count); /* reset the wake-up */
        (void)n;
        if (!accept_some(sv, &err)) {
            err = aio_sleep(ACCEPT_PAUSE);
            continue;
        }
        if (!err && !sv->closing)
            err = aio_wait_readable(sv->epfd);
    }
    /* Closed by aio_server_close: a clean end, not the caller's cancellation. */
    if (sv->closing) {
        error_free(err);
        err = NULL;
    }
    sv->serving = NULL;
    server_release(sv);
    return err;
}

void aio_server_close(struct aio_server *sv)
{
    if (!sv)
        return;
    sv->closing = true;
    /* Stop listening now: clients connecting from here on are refused. */
    epoll_ctl(sv->epfd, EPOLL_CTL_DEL, sv->fd, NULL);
    close(sv->fd);
    sv->fd = -1;
    wake(sv); /* the serving task sees closing and returns */

    size_t n = 0;
    for (struct conn *c = sv->live; c; c = c->next)
        n++;
    for (struct conn *c = sv->finished; c; c = c->next)
        n++;
    if (n > 0 && aio_current_task()) {
        struct aio_task **tasks = xmalloc(n * sizeof *tasks);
        size_t i = 0;
        for (struct conn *c = sv->live; c; c = c->next) {
            aio_cancel(c->task);
            tasks[i++] = c->task;
        }
        for (struct conn *c = sv->finished; c; c = c->next)
            tasks[i++] = c->task;
        /* Waits for every one, even if this task is cancelled meanwhile. */
        error_free(aio_gather(tasks, n, NULL));
        free(tasks);
    }
    /* Outside a loop, the tasks went with it (aio_loop_close ran them to
     * their end); only their records are left to free. */
    struct conn *lists[2] = {sv->live, sv->finished};
    for (int l = 0; l < 2; l++) {
        for (struct conn *c = lists[l], *next; c; c = next) {
            next = c->next;
            if (c->stream)
                stream_free(c->stream, false);
            free(c);
        }
    }
    sv->live = sv->finished = NULL;
    server_release(sv);
}
