/* guess_net: the programs' plumbing (see guess_net.h). */
#include "guess_net.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "clock.h"
#include "guess.h"

/* ==== the flags ==== */

void guess_parse_flags(int argc, char **argv, const char *about, long default_port,
                       long default_seed, long min_seed, const char *seed_help,
                       struct guess_options *o)
{
    *o = (struct guess_options){.port = default_port, .seed = default_seed, .host = "127.0.0.1"};
    const struct cli_flag flags[] = {
        {"--port", CLI_INT, &o->port, 0, 65535, "P", "the server's port (0: a free one)"},
        {"--seed", CLI_INT, &o->seed, (double)min_seed, 4294967295.0, "N", seed_help},
        {"--serve", CLI_SWITCH, &o->serve, 0, 0, NULL, "only the server, until SIGINT or SIGTERM"},
        {"--connect", CLI_STRING, &o->connect, 0, 0, "HOST:PORT",
         "only the client, against any server"},
        {"--quiet", CLI_SWITCH, &o->quiet, 0, 0, NULL,
         "the server prints no Server: and log lines"},
        {0},
    };
    const struct cli cli = {about, flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);
    if (o->serve && o->connect)
        cli_usage_error(&cli, "--serve and --connect: choose one");
    if (o->connect && !parse_host_port(o->connect, o->host, sizeof o->host, &o->client_port))
        cli_usage_error(&cli, "--connect: expected HOST:PORT, got '%s'", o->connect);
}

void print_listening(int port)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("Listening on 127.0.0.1:%d\n", port);
    fflush(stdout);
}

/* ==== sockets and signals ==== */

bool parse_host_port(const char *text, char *host, size_t size, int *port)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text || (size_t)(colon - text) >= size)
        return false;
    const char *p = colon + 1;
    size_t digits = strspn(p, "0123456789");
    if (digits == 0 || digits > 5 || p[digits] != '\0' || atoi(p) < 1 || atoi(p) > 65535)
        return false;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    *port = atoi(p);
    return true;
}

int stop_signals_fd(void)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    CHECK_PT(pthread_sigmask(SIG_BLOCK, &stop, NULL));
    return (int)CHECK_SYS(signalfd(-1, &stop, SFD_CLOEXEC));
}

static struct error *tcp_address(const char *host, int port, struct sockaddr_in *a)
{
    *a = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
        return error_new("OSError", "%s: not a numeric IPv4 address", host);
    return NULL;
}

/* An OSError naming the call and the address, then the socket closed. */
static struct error *tcp_fail(const char *call, const char *host, int port, int fd)
{
    struct error *e = error_new(errno == ECONNREFUSED ? "ConnectionRefusedError" : "OSError",
                                "%s %s:%d: %s", call, host, port, strerror(errno));
    if (fd >= 0)
        close(fd);
    return e;
}

struct error *tcp_listen(const char *host, int port, int *fd, int *bound)
{
    struct sockaddr_in a;
    struct error *err = tcp_address(host, port, &a);
    if (err)
        return err;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (s < 0)
        return tcp_fail("socket", host, port, -1);
    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        return tcp_fail("setsockopt SO_REUSEADDR", host, port, s);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0)
        return tcp_fail("bind", host, port, s);
    if (listen(s, SOMAXCONN) < 0)
        return tcp_fail("listen", host, port, s);
    socklen_t len = sizeof a;
    if (getsockname(s, (struct sockaddr *)&a, &len) < 0)
        return tcp_fail("getsockname", host, port, s);
    *fd = s, *bound = ntohs(a.sin_port);
    return NULL;
}

/* Nagle's algorithm would hold "NUMBER" back until the server ACKs the
 * "REPORT" before it, and the server, with nothing to answer a REPORT,
 * delays that ACK by up to 40 ms: every round trip would take 40 ms.
 * asyncio sets TCP_NODELAY on its sockets; so do these. */
static int nodelay(int fd)
{
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int tcp_accept(int listener, bool quiet)
{
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0 && nodelay(fd) == 0)
            return fd;
        if (fd >= 0) { /* the client reset before the socket option was set */
            close(fd);
            continue;
        }
        if (errno == EINVAL)
            return -1; /* shut down */
        if (errno != EINTR && errno != ECONNABORTED && !quiet)
            warn("accept: %s", strerror(errno));
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            clock_sleep(0.1); /* out of descriptors: let connections end before retrying */
    }
}

struct error *tcp_connect(const char *host, int port, int *fd)
{
    struct sockaddr_in a;
    struct error *err = tcp_address(host, port, &a);
    if (err)
        return err;
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return tcp_fail("socket", host, port, -1);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0)
        return tcp_fail("connect", host, port, s);
    if (nodelay(s) < 0)
        return tcp_fail("setsockopt TCP_NODELAY", host, port, s);
    *fd = s;
    return NULL;
}

struct error *socket_readline(struct socket_file *f, char **line, size_t *len)
{
    for (;;) {
        char *nl = memchr(f->buf + f->start, '\n', f->end - f->start);
        size_t n = nl ? (size_t)(nl + 1 - f->buf) - f->start : f->end - f->start;
        if (n > GUESS_LINE_MAX + 1 || (!nl && n == GUESS_LINE_MAX + 1)) {
            f->start = f->end = 0; /* asyncio drops what it read */
            return error_new("LimitOverrunError", "no newline within %d bytes", GUESS_LINE_MAX + 1);
        }
        ssize_t got = 0;
        if (!nl) {
            memmove(f->buf, f->buf + f->start, n);
            f->start = 0, f->end = n;
            got = recv(f->fd, f->buf + f->end, sizeof f->buf - f->end, 0);
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0)
                return error_new(errno == ECONNRESET ? "ConnectionResetError" : "OSError",
                                 "recv: %s", strerror(errno));
            f->end += (size_t)got;
        }
        if (nl || got == 0) { /* a whole line, or at EOF what is left */
            *line = xmalloc(n + 1);
            memcpy(*line, f->buf + f->start, n);
            (*line)[n] = '\0';
            *len = n, f->start += n;
            return NULL;
        }
    }
}

struct error *socket_sendall(int fd, const char *data, size_t len)
{
    for (size_t sent = 0; sent < len;) {
        ssize_t n = send(fd, data + sent, len - sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EINTR)
            return error_new(errno == ECONNRESET || errno == EPIPE ? "ConnectionResetError"
                                                                   : "OSError",
                             "send: %s", strerror(errno));
        sent += n > 0 ? (size_t)n : 0;
    }
    return NULL;
}

void stop_signals_close(int fd)
{
    struct signalfd_siginfo info;
    CHECK_SYS(fcntl(fd, F_SETFL, O_NONBLOCK));
    while (read(fd, &info, sizeof info) > 0)
        ;
    CHECK_SYS(close(fd));
}

void stop_signals_wait(int fd)
{
    struct signalfd_siginfo info;
    while (read(fd, &info, sizeof info) < 0 && errno == EINTR)
        ;
}

/* ==== the threaded server's live connections ==== */

void live_add(struct live_list *l, struct live_member *m, int fd)
{
    CHECK_PT(pthread_mutex_lock(&l->lock));
    m->fd = fd;
    if ((m->next = l->head))
        l->head->prev = &m->next;
    m->prev = &l->head, l->head = m, l->count++;
    CHECK_PT(pthread_mutex_unlock(&l->lock));
}

void live_remove(struct live_list *l, struct live_member *m)
{
    CHECK_PT(pthread_mutex_lock(&l->lock));
    if ((*m->prev = m->next))
        m->next->prev = m->prev;
    CHECK_SYS(close(m->fd));
    l->count--;
    CHECK_PT(pthread_cond_broadcast(&l->changed));
    CHECK_PT(pthread_mutex_unlock(&l->lock));
}

void live_stop(struct live_list *l, bool close_clients)
{
    CHECK_PT(pthread_mutex_lock(&l->lock));
    atomic_store(&l->stopping, close_clients);
    for (struct live_member *m = l->head; close_clients && m; m = m->next)
        shutdown(m->fd, SHUT_RDWR); /* may fail if the peer has gone: it ends either way */
    while (l->count > 0)
        CHECK_PT(pthread_cond_wait(&l->changed, &l->lock));
    CHECK_PT(pthread_mutex_unlock(&l->lock));
}

bool live_stopping(struct live_list *l)
{
    return atomic_load(&l->stopping);
}
