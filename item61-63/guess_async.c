/* guess_async: the book's guessing game ported to common/aio, a task per
 * connection on one event loop (Item 61, the code after the port). Session
 * and Client are guess.c's, unchanged: the port changes the connection, the
 * server's start-up and main, the lines marked Changed or New.
 *
 *   ./item61-63/guess_async                   the book's 20-line async transcript
 *   ./item61-63/guess_async --seed 1234       the same game seeded afresh
 *   ./item61-63/guess_async --serve --port 4321   only the server; play with nc
 *   ./item61-63/guess_async --connect 127.0.0.1:1234   only the client
 *
 * Look for: the same lines every run, with no sleep: the client connects
 * once aio_start_server has returned, which it does listening. With no
 * --seed, the generator first replays the threaded game, as the book's file
 * ran both games after one random.seed(1234). Compare: diff guess_threads.c
 * guess_async.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "aio.h" /* New */
#include "check.h"
#include "error.h"
#include "futures.h" /* New */
#include "guess.h"
#include "guess_net.h"

static struct guess_server server; /* the sessions' random, and --quiet */

/* ==== the book's ConnectionBase ==== */

struct tcp_connection {
    struct connection base;
    struct aio_stream *stream; /* Changed */
};

static struct error *send_line(struct connection *conn, const char *command)
{
    struct tcp_connection *c = (struct tcp_connection *)conn;
    char line[GUESS_LINE_MAX + 2];
    int len = snprintf(line, sizeof line, "%s\n", command);
    struct error *err = aio_write(c->stream, line, (size_t)len); /* Changed */
    return err ? err : aio_drain(c->stream);                     /* Changed */
}

static struct error *receive_line(struct connection *conn, char *line)
{
    struct tcp_connection *c = (struct tcp_connection *)conn;
    char *data;
    size_t len;
    struct error *err = aio_readline(c->stream, &data, &len); /* Changed */
    return err ? err : take_line(data, len, line);
}

static struct tcp_connection *connection_new(struct aio_stream *stream) /* Changed */
{
    struct tcp_connection *c = xcalloc(1, sizeof *c);
    c->base = (struct connection){.send = send_line, .receive = receive_line};
    c->stream = stream; /* Changed */
    return c;
}

/* ==== the server: a task per connection ==== */

/* Changed: no lock, no list: every task runs on the loop's one thread and
 * switches only where it waits; aio_server_close cancels the connections. */
static struct {
    long count;          /* connection tasks alive */
    struct future *idle; /* when set, resolved as the last connection ends */
} live;

static struct error *handle_connection(struct aio_stream *stream, void *arg) /* Changed */
{
    (void)arg;
    struct tcp_connection *c = connection_new(stream); /* Changed */
    snprintf(c->base.name, sizeof c->base.name, "connection %ld", ++server.connections);
    live.count++; /* Changed */
    struct session session;
    session_init(&session, &c->base, &server);
    session_finish(&session, session_loop(&session)); /* a cancel at SIGTERM is not logged */
    free(c); /* Changed: aio closes the stream when this returns */
    if (--live.count == 0 && live.idle)
        future_set_result(live.idle, NULL);
    return NULL;
}

/* The book's serve_forever, as a task. */
static struct error *run_server(void *listener, void **result) /* Changed */
{
    (void)result;
    return aio_server_serve_forever(listener); /* Changed */
}

/* Stop accepting; with close_clients, cancel every connection now (--serve
 * on SIGTERM); otherwise first wait until every connection has ended. */
static struct error *stop_server(struct aio_server *listener, struct aio_task *task,
                                 bool close_clients) /* Changed */
{
    struct error *err = NULL;
    if (!close_clients && live.count > 0) {          /* Changed */
        live.idle = future_create();                 /* Changed */
        err = aio_await_future(live.idle, NULL);     /* Changed */
        future_destroy(live.idle), live.idle = NULL; /* Changed */
    }
    aio_server_close(listener);                      /* Changed */
    struct error *serve_err = aio_await(task, NULL); /* Changed */
    return err ? (error_free(serve_err), err) : serve_err;
}

/* ==== the client ==== */

static struct error *run_client(const char *host, int port, struct result *results, size_t *count)
{
    struct aio_stream *stream;                                       /* Changed */
    struct error *err = aio_open_connection(host, port, 0, &stream); /* Changed */
    if (err)
        return err;
    struct tcp_connection *conn = connection_new(stream); /* Changed */
    struct client client;
    client_init(&client, &conn->base, false);
    err = play_book_games(&client, results, count);
    aio_close(stream); /* Changed */
    free(conn);
    return err;
}

static struct error *main_async(void *arg, void **result) /* New */
{
    (void)result;
    struct guess_options *o = arg;
    struct aio_server *listener;
    struct aio_task *server_task;
    struct error *err;
    if (!o->connect) { /* Changed: listening when aio_start_server returns */
        if ((err = aio_start_server(handle_connection, NULL, "127.0.0.1", (int)o->port,
                                    GUESS_LINE_MAX, &listener)))
            return err;
        if ((err = aio_create_task(&server_task, run_server, listener)))
            return aio_server_close(listener), err;
        o->client_port = aio_server_port(listener);
    }
    if (o->serve) {
        print_listening(o->client_port);
        struct signalfd_siginfo info;
        if (!(err = aio_wait_readable(o->stop)))          /* Changed */
            CHECK_SYS(read(o->stop, &info, sizeof info)); /* Changed */
        struct error *stop_err = stop_server(listener, server_task, true);
        aio_forget_fd(aio_get_running_loop(), o->stop); /* Changed */
        stop_signals_close(o->stop);
        return err ? (error_free(stop_err), err) : stop_err;
    }
    struct result results[GUESS_MAX_RESULTS];
    size_t count;
    err = run_client(o->host, o->client_port, results, &count);
    if (!o->connect) { /* wait for the server to end the connection: its lines come first */
        struct error *stop_err = stop_server(listener, server_task, false);
        err = err ? (error_free(stop_err), err) : stop_err;
    }
    if (err)
        return err;
    for (size_t i = 0; i < count; i++)
        printf("Client: %" PRId64 " is %s\n", results[i].number, results[i].outcome);
    return NULL;
}

int main(int argc, char **argv)
{
    struct guess_options o;
    guess_parse_flags(argc, argv,
                      "Item 61's guessing game ported to common/aio, a task per "
                      "connection.",
                      4321, -1, -1,
                      "random.seed(N) afresh; -1: as the book's threaded game left seed 1234", &o);
    o.stop = o.serve ? stop_signals_fd() : -1; /* before any thread starts */
    guess_server_init(&server, o.seed < 0 ? GUESS_BOOK_SEED : (uint32_t)o.seed, o.quiet);
    if (o.seed < 0) /* New: the book's async game drew after its threaded one */
        guess_server_replay_threaded_game(&server);
    struct error *err = aio_run(main_async, &o, NULL); /* New */
    if (err)
        error_die(err);
    guess_server_fini(&server);
    return 0;
}
