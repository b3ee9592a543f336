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
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "aio.h" /* New */
#include "check.h"
#include "cli.h"
#include "error.h"
#include "futures.h" /* New */
#include "guess.h"

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

/* No locks: every task runs on the loop's one thread, and switches only where
 * it waits. idle, when set, is resolved when the last connection ends. */
static struct {
    long count; /* connection tasks alive */
    struct future *idle;
} srv;

static struct error *handle_connection(struct aio_stream *stream, void *arg) /* Changed */
{
    (void)arg;
    struct tcp_connection *c = connection_new(stream); /* Changed */
    snprintf(c->base.name, sizeof c->base.name, "connection %ld", ++server.connections);
    srv.count++;
    struct session session;
    session_init(&session, &c->base, &server);
    session_finish(&session, session_loop(&session));
    free(c); /* aio closes the stream when this returns */
    if (--srv.count == 0 && srv.idle)
        future_set_result(srv.idle, NULL);
    return NULL;
}

static struct error *serve_forever(void *listener, void **result) /* Changed */
{
    (void)result;
    return aio_server_serve_forever(listener);
}

/* Stop accepting; with close_clients, cancel every connection now (--serve
 * on SIGTERM); otherwise first wait until every connection has ended. */
static struct error *stop_server(struct aio_server *listener, struct aio_task *task,
                                 bool close_clients)
{
    struct error *err = NULL;
    if (!close_clients && srv.count > 0) {         /* New */
        srv.idle = future_create();                /* New */
        err = aio_await_future(srv.idle, NULL);    /* New */
        future_destroy(srv.idle), srv.idle = NULL; /* New */
    }
    aio_server_close(listener);                      /* Changed */
    struct error *serve_err = aio_await(task, NULL); /* Changed */
    if (!err)
        err = serve_err;
    else
        error_free(serve_err);
    return err;
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

struct options { /* New */
    long port;
    bool serve;
    const char *connect;
    char host[64];
    int client_port;
    int stop; /* the signalfd --serve waits on */
};

static struct error *main_async(void *arg, void **result) /* New */
{
    (void)result;
    struct options *o = arg;
    struct error *err;
    struct aio_server *listener = NULL;
    struct aio_task *server_task = NULL;
    if (!o->connect) { /* listening when aio_start_server returns: the book sleeps 0.1 s instead */
        if ((err = aio_start_server(handle_connection, NULL, "127.0.0.1", (int)o->port,
                                    GUESS_LINE_MAX, &listener)))
            return err;
        if ((err = aio_create_task(&server_task, serve_forever, listener))) {
            aio_server_close(listener);
            return err;
        }
        o->client_port = aio_server_port(listener);
    }
    if (o->serve) {
        setvbuf(stdout, NULL, _IOLBF, 0); /* each Server: line as it happens */
        printf("Listening on 127.0.0.1:%d\n", o->client_port);
        fflush(stdout);
        struct signalfd_siginfo info;
        if (!(err = aio_wait_readable(o->stop)))          /* Changed */
            CHECK_SYS(read(o->stop, &info, sizeof info)); /* Changed */
        struct error *stop_err = stop_server(listener, server_task, true);
        stop_signals_close(o->stop);
        error_free(err);
        return stop_err;
    }
    struct result results[GUESS_MAX_RESULTS];
    size_t count;
    err = run_client(o->host, o->client_port, results, &count);
    if (!o->connect) { /* wait for the server to end the connection: its lines come first */
        struct error *stop_err = stop_server(listener, server_task, false);
        if (!err)
            err = stop_err;
        else
            error_free(stop_err);
    }
    if (err)
        return err;
    for (size_t i = 0; i < count; i++)
        printf("Client: %" PRId64 " is %s\n", results[i].number, results[i].outcome);
    return NULL;
}

int main(int argc, char **argv)
{
    long port = 4321, seed = -1;
    bool serve = false, quiet = false;
    const char *connect = NULL;
    const struct cli_flag flags[] = {
        {"--port", CLI_INT, &port, 0, 65535, "P", "the server's port (0: a free one)"},
        {"--seed", CLI_INT, &seed, -1, 4294967295.0, "N",
         "random.seed(N) afresh; -1: as the book's threaded game left seed 1234"},
        {"--serve", CLI_SWITCH, &serve, 0, 0, NULL, "only the server, until SIGINT or SIGTERM"},
        {"--connect", CLI_STRING, &connect, 0, 0, "HOST:PORT",
         "only the client, against any server"},
        {"--quiet", CLI_SWITCH, &quiet, 0, 0, NULL, "the server prints no Server: and log lines"},
        {0},
    };
    const struct cli cli = {"Item 61's guessing game ported to common/aio, a task per connection.",
                            flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);
    struct options o = {.port = port, .serve = serve, .connect = connect, .host = "127.0.0.1"};
    if (serve && connect)
        cli_usage_error(&cli, "--serve and --connect: choose one");
    if (connect && !parse_host_port(connect, o.host, sizeof o.host, &o.client_port))
        cli_usage_error(&cli, "--connect: expected HOST:PORT, got '%s'", connect);

    o.stop = serve ? stop_signals_fd() : -1; /* before any thread starts */
    guess_server_init(&server, seed < 0 ? GUESS_BOOK_SEED : (uint32_t)seed, quiet);
    if (seed < 0) /* New: the book's async game drew after its threaded one */
        guess_server_replay_threaded_game(&server);
    struct error *err = aio_run(main_async, &o, NULL); /* New */
    if (err)
        error_die(err);
    guess_server_fini(&server);
    return 0;
}
