/* guess_threads: the book's guessing game on blocking sockets, a thread per
 * connection (Item 61, the code before the port). The server guesses a
 * number, the client says warmer or colder; Session and Client are in
 * guess.c, shared with guess_async.
 *
 *   ./item61-63/guess_threads                   the book's 16-line transcript
 *   ./item61-63/guess_threads --serve --port 0  only the server; play with nc
 *   ./item61-63/guess_threads --connect 127.0.0.1:4321   only the client
 *
 * Look for: the client connects only once the server listens (the book's
 * races it); the lines come in the book's order every run, because each one
 * is printed after a message that proves the other side's lines came before.
 * Compare: diff guess_threads.c guess_async.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "clock.h"
#include "error.h"
#include "guess.h"

static struct guess_server server; /* the sessions' random, and --quiet */

/* ==== the book's ConnectionBase ==== */

struct tcp_connection {
    struct connection base;
    int fd;
    struct socket_file file;             /* connection.makefile('rb') */
    struct tcp_connection *next, **prev; /* the server's list of live connections */
};

static struct error *send_line(struct connection *conn, const char *command)
{
    struct tcp_connection *c = (struct tcp_connection *)conn;
    char line[GUESS_LINE_MAX + 2];
    int len = snprintf(line, sizeof line, "%s\n", command);
    return socket_sendall(c->fd, line, (size_t)len);
}

static struct error *receive_line(struct connection *conn, char *line)
{
    struct tcp_connection *c = (struct tcp_connection *)conn;
    char *data;
    size_t len;
    struct error *err = socket_readline(&c->file, &data, &len);
    return err ? err : take_line(data, len, line);
}

static struct tcp_connection *connection_new(int fd)
{
    struct tcp_connection *c = xcalloc(1, sizeof *c);
    c->base = (struct connection){.send = send_line, .receive = receive_line};
    c->fd = c->file.fd = fd;
    return c;
}

/* ==== the server: a thread per connection ==== */

/* Implementation notes: lock guards live (and every connection's list
 * links); changed is signalled when the server listens or fails to, and
 * when a connection thread ends. A connection's socket is closed only under
 * the lock, after it left the list, so stop_server's shutdown never hits a
 * descriptor that was closed and reused. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool listening;
    struct error *failed; /* why it could not listen */
    int listener, port;
    long count; /* connection threads alive */
    struct tcp_connection *live;
} srv = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};

static void *handle_connection(void *arg)
{
    struct tcp_connection *c = arg;
    struct session session;
    session_init(&session, &c->base, &server);
    session_finish(&session, session_loop(&session));
    CHECK_PT(pthread_mutex_lock(&srv.lock));
    if ((*c->prev = c->next))
        c->next->prev = c->prev;
    CHECK_SYS(close(c->fd));
    srv.count--;
    CHECK_PT(pthread_cond_broadcast(&srv.changed));
    CHECK_PT(pthread_mutex_unlock(&srv.lock));
    free(c);
    return NULL;
}

/* Accept until stop_server shuts the listener down (accept then fails with EINVAL). */
static void accept_connections(void)
{
    pthread_attr_t detached;
    CHECK_PT(pthread_attr_init(&detached));
    CHECK_PT(pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED));
    for (;;) {
        int fd = tcp_accept(srv.listener);
        if (fd < 0 && errno == EINVAL)
            break;
        if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM))
            clock_sleep(0.1); /* out of descriptors: let connections end before retrying */
        if (fd < 0) {
            if (errno != EINTR && errno != ECONNABORTED && !server.quiet)
                warn("accept: %s", strerror(errno));
            continue;
        }
        struct tcp_connection *c = connection_new(fd);
        snprintf(c->base.name, sizeof c->base.name, "connection %ld", ++server.connections);
        CHECK_PT(pthread_mutex_lock(&srv.lock));
        if ((c->next = srv.live))
            srv.live->prev = &c->next;
        c->prev = &srv.live, srv.live = c, srv.count++;
        pthread_t thread;
        int err = pthread_create(&thread, &detached, handle_connection, c);
        if (err) { /* EAGAIN: too many threads; this client is turned away */
            if ((*c->prev = c->next))
                c->next->prev = c->prev;
            srv.count--;
            if (!server.quiet)
                warn("%s: dropped: pthread_create: %s", c->base.name, strerror(err));
            CHECK_SYS(close(fd));
            free(c);
        }
        CHECK_PT(pthread_mutex_unlock(&srv.lock));
    }
    CHECK_PT(pthread_attr_destroy(&detached));
}

static void *run_server(void *address)
{
    struct error *err = tcp_listen("127.0.0.1", *(int *)address, &srv.listener, &srv.port);
    CHECK_PT(pthread_mutex_lock(&srv.lock));
    srv.listening = !err, srv.failed = err;
    CHECK_PT(pthread_cond_broadcast(&srv.changed)); /* the book's client does not wait for this */
    CHECK_PT(pthread_mutex_unlock(&srv.lock));
    if (!err)
        accept_connections();
    return NULL;
}

/* Stop accepting; with close_clients, end every connection now (--serve on
 * SIGTERM); either way wait until every connection thread has ended. */
static void stop_server(pthread_t thread, bool close_clients)
{
    CHECK_SYS(shutdown(srv.listener, SHUT_RDWR));
    CHECK_PT(pthread_join(thread, NULL));
    CHECK_SYS(close(srv.listener));
    CHECK_PT(pthread_mutex_lock(&srv.lock));
    for (struct tcp_connection *c = srv.live; close_clients && c; c = c->next)
        shutdown(c->fd, SHUT_RDWR); /* its recv returns 0 and the session ends */
    while (srv.count > 0)
        CHECK_PT(pthread_cond_wait(&srv.changed, &srv.lock));
    CHECK_PT(pthread_mutex_unlock(&srv.lock));
}

/* ==== the client ==== */

static struct error *run_client(const char *host, int port, struct result *results, size_t *count)
{
    int fd;
    struct error *err = tcp_connect(host, port, &fd);
    if (err)
        return err;
    struct tcp_connection *conn = connection_new(fd);
    struct client client;
    client_init(&client, &conn->base, false);
    err = play_book_games(&client, results, count);
    CHECK_SYS(close(fd));
    free(conn);
    return err;
}

int main(int argc, char **argv)
{
    long port = 1234, seed = GUESS_BOOK_SEED;
    bool serve = false, quiet = false;
    const char *connect = NULL;
    const struct cli_flag flags[] = {
        {"--port", CLI_INT, &port, 0, 65535, "P", "the server's port (0: a free one)"},
        {"--seed", CLI_INT, &seed, 0, 4294967295.0, "N", "random.seed(N) for the server's guesses"},
        {"--serve", CLI_SWITCH, &serve, 0, 0, NULL, "only the server, until SIGINT or SIGTERM"},
        {"--connect", CLI_STRING, &connect, 0, 0, "HOST:PORT",
         "only the client, against any server"},
        {"--quiet", CLI_SWITCH, &quiet, 0, 0, NULL, "the server prints no Server: and log lines"},
        {0},
    };
    const struct cli cli = {"Item 61's guessing game on blocking sockets, a thread per connection.",
                            flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);
    int client_port = (int)port;
    char host[64] = "127.0.0.1";
    if (serve && connect)
        cli_usage_error(&cli, "--serve and --connect: choose one");
    if (connect && !parse_host_port(connect, host, sizeof host, &client_port))
        cli_usage_error(&cli, "--connect: expected HOST:PORT, got '%s'", connect);

    int stop = serve ? stop_signals_fd() : -1; /* before any thread starts */
    guess_server_init(&server, (uint32_t)seed, quiet);
    pthread_t server_thread;
    if (!connect) {
        CHECK_PT(pthread_create(&server_thread, NULL, run_server, &client_port));
        CHECK_PT(pthread_mutex_lock(&srv.lock)); /* the book connects without waiting */
        while (!srv.listening && !srv.failed)
            CHECK_PT(pthread_cond_wait(&srv.changed, &srv.lock));
        CHECK_PT(pthread_mutex_unlock(&srv.lock));
        if (srv.failed)
            error_die(srv.failed);
        client_port = srv.port;
    }
    if (serve) {
        setvbuf(stdout, NULL, _IOLBF, 0); /* each Server: line as it happens */
        printf("Listening on 127.0.0.1:%d\n", srv.port);
        fflush(stdout);
        struct signalfd_siginfo info;
        while (read(stop, &info, sizeof info) < 0 && errno == EINTR)
            ;
        stop_server(server_thread, true);
        stop_signals_close(stop);
        guess_server_fini(&server);
        return 0;
    }
    struct result results[GUESS_MAX_RESULTS];
    size_t count;
    struct error *err = run_client(host, client_port, results, &count);
    if (!connect) /* wait for the server to end the connection: its lines come first */
        stop_server(server_thread, false);
    if (err)
        error_die(err);
    for (size_t i = 0; i < count; i++)
        printf("Client: %" PRId64 " is %s\n", results[i].number, results[i].outcome);
    guess_server_fini(&server);
    return 0;
}
