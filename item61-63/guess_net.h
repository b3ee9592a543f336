/* guess_net: the plumbing both guessing-game programs share (Item 61):
 * their flags, the stop signals, blocking TCP, and the threaded server's
 * list of live connections. None of it is in the book, which has no flags,
 * never stops, and leaves its connections to the interpreter's exit.
 */
#ifndef ITEM61_GUESS_NET_H
#define ITEM61_GUESS_NET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* ==== the flags ==== */

struct guess_options {
    long port, seed;
    bool serve, quiet;
    const char *connect; /* --connect HOST:PORT, or NULL */
    char host[64];       /* the host the client connects to */
    int client_port;     /* and its port: --connect's, or the server's */
    int stop;            /* --serve: the signalfd that says stop (stop_signals_fd) */
};

/* --port P (default default_port), --seed N (from min_seed, default
 * default_seed), --serve, --connect HOST:PORT, --quiet; a bad flag or
 * --serve with --connect exits 2. */
void guess_parse_flags(int argc, char **argv, const char *about, long default_port,
                       long default_seed, long min_seed, const char *seed_help,
                       struct guess_options *o);

/* --serve's first line, "Listening on 127.0.0.1:PORT", then stdout line by
 * line, so that each Server: line shows as it happens. */
void print_listening(int port);

/* ==== sockets and signals ==== */

/* "HOST:PORT" (HOST numeric or localhost, PORT 1-65535): false if malformed. */
bool parse_host_port(const char *text, char *host, size_t size, int *port);

/* Block SIGINT and SIGTERM in this thread (and in every thread it starts
 * later) and return a signalfd that becomes readable when one arrives: the
 * server's way to stop. Call before starting any thread. */
int stop_signals_fd(void);
/* Take every stop signal still pending (a second SIGTERM: `timeout` sends
 * its program one and its process group another), then close. A blocked
 * signal left pending at exit makes LeakSanitizer's exit-time check hang. */
void stop_signals_close(int fd);
/* Block until a stop signal arrives (guess_threads; guess_async waits on the
 * loop with aio_wait_readable instead). */
void stop_signals_wait(int fd);

/* Blocking TCP for guess_threads (TCP_NODELAY, as asyncio): a listening socket (SO_REUSEADDR; port
 * 0 takes a free one, *bound says which) and a connected one. OSError naming the call and the
 * address on failure. host: numeric IPv4 or localhost. */
struct error *tcp_listen(const char *host, int port, int *fd, int *bound);
struct error *tcp_connect(const char *host, int port, int *fd);
/* The next connection (accept4 with SOCK_CLOEXEC, TCP_NODELAY set), or -1
 * once the listener was shut down. Other failures are retried (a client
 * that gave up, EINTR), out of descriptors after a 0.1 s pause so that
 * connections can end; logged unless quiet. */
int tcp_accept(int listener, bool quiet);

/* connection.makefile('rb').readline() for a blocking socket, with
 * aio_readline's contract: the next line, '\n' included, malloc'd and
 * NUL-terminated; at EOF what is left (no '\n'), then "" with *len 0;
 * LimitOverrunError if no '\n' comes within GUESS_LINE_MAX + 1 bytes;
 * ConnectionResetError if the peer resets. */
struct socket_file {
    int fd;
    size_t start, end;
    char buf[4096];
};
struct error *socket_readline(struct socket_file *f, char **line, size_t *len);
/* socket.sendall: every byte, or OSError (EPIPE when the peer has gone). */
struct error *socket_sendall(int fd, const char *data, size_t len);

/* ==== the threaded server's live connections ==== */

/* Implementation notes: lock guards count, head and every member's links;
 * changed is broadcast when a member leaves. A member's socket is closed
 * only under the lock, after it left the list, so live_stop's shutdown()
 * never hits a descriptor number that was closed and reused. stopping is
 * set before live_stop shuts the sockets down, so that what a connection
 * then fails with (EOF, a broken pipe) is not logged as the client's doing. */
struct live_member {
    int fd;
    struct live_member *next, **prev;
};
struct live_list {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    long count;
    struct live_member *head;
    atomic_bool stopping;
};
#define LIVE_LIST_INIT                                                                             \
    {                                                                                              \
        .lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER                     \
    }

void live_add(struct live_list *l, struct live_member *m, int fd);
/* Take m off the list and close its socket. */
void live_remove(struct live_list *l, struct live_member *m);
/* With close_clients, shut every member's socket down (its recv returns 0
 * and its session ends); either way wait until every member has left. */
void live_stop(struct live_list *l, bool close_clients);
/* live_stop has begun closing: a connection's failure is the server's doing. */
bool live_stopping(struct live_list *l);

#endif
