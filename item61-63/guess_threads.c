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
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "error.h"
#include "guess.h"
#include "guess_net.h"

static struct guess_server server; /* the sessions' random, and --quiet */

/* ==== the book's ConnectionBase ==== */

struct tcp_connection {
    struct connection base;
    int fd;
    struct socket_file file; /* connection.makefile('rb') */
    struct live_member live; /* on the server's list of live connections */
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

static struct live_list live = LIVE_LIST_INIT; /* so that SIGTERM can end every connection */

static void *handle_connection(void *arg)
{
    struct tcp_connection *c = arg;
    struct session session;
    session_init(&session, &c->base, &server);
    struct error *err = session_loop(&session);
    if (live_stopping(&live)) /* the server shut the socket down: no client's doing */
        error_free(err), err = NULL;
    session_finish(&session, err);
    live_remove(&live, &c->live); /* closes the socket */
    free(c);
    return NULL;
}

/* The book's run_server after listen(): accept until stop_server shuts the
 * listener down, a detached thread per connection. */
static void *run_server(void *listener)
{
    pthread_attr_t detached;
    CHECK_PT(pthread_attr_init(&detached));
    CHECK_PT(pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED));
    int fd;
    while ((fd = tcp_accept(*(int *)listener, server.quiet)) >= 0) {
        struct tcp_connection *c = connection_new(fd);
        snprintf(c->base.name, sizeof c->base.name, "connection %ld", ++server.connections);
        live_add(&live, &c->live, fd);
        pthread_t thread;
        int err = pthread_create(&thread, &detached, handle_connection, c);
        if (err) { /* EAGAIN: too many threads; this client is turned away */
            if (!server.quiet)
                warn("%s: dropped: pthread_create: %s", c->base.name, strerror(err));
            live_remove(&live, &c->live);
            free(c);
        }
    }
    CHECK_PT(pthread_attr_destroy(&detached));
    return NULL;
}

/* Stop accepting; with close_clients, end every connection now (--serve on
 * SIGTERM); either way wait until every connection thread has ended. */
static void stop_server(int listener, pthread_t thread, bool close_clients)
{
    CHECK_SYS(shutdown(listener, SHUT_RDWR)); /* its accept fails with EINVAL */
    CHECK_PT(pthread_join(thread, NULL));
    CHECK_SYS(close(listener));
    live_stop(&live, close_clients);
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
    struct guess_options o;
    guess_parse_flags(argc, argv,
                      "Item 61's guessing game on blocking sockets, a thread per "
                      "connection.",
                      1234, GUESS_BOOK_SEED, 0, "random.seed(N) for the server's guesses", &o);
    o.stop = o.serve ? stop_signals_fd() : -1; /* before any thread starts */
    guess_server_init(&server, (uint32_t)o.seed, o.quiet);
    int listener;
    pthread_t server_thread;
    if (!o.connect) { /* the book listens in the server thread, and its client races it */
        struct error *err = tcp_listen("127.0.0.1", (int)o.port, &listener, &o.client_port);
        if (err)
            error_die(err);
        CHECK_PT(pthread_create(&server_thread, NULL, run_server, &listener));
    }
    if (o.serve) {
        print_listening(o.client_port);
        stop_signals_wait(o.stop);
        stop_server(listener, server_thread, true);
        stop_signals_close(o.stop);
        guess_server_fini(&server);
        return 0;
    }
    struct result results[GUESS_MAX_RESULTS];
    size_t count;
    struct error *err = run_client(o.host, o.client_port, results, &count);
    if (err)
        error_die(err);
    if (!o.connect) /* wait for the server to end the connection: its lines come first */
        stop_server(listener, server_thread, false);
    for (size_t i = 0; i < count; i++)
        printf("Client: %" PRId64 " is %s\n", results[i].number, results[i].outcome);
    guess_server_fini(&server);
    return 0;
}
