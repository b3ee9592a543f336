/* guess_load: a load client for either guessing-game server (Item 61's
 * benchmark). N clients, a thread each on a blocking socket (or, with
 * --tasks, a task each on one common/aio loop), all connected before any
 * plays; each then plays G of the book's games (its two sessions
 * in turn) through guess.c's Client, timing every NUMBER's round trip.
 * Back to back (the default), the clients measure how much the server can
 * do; with --think-ms, how quickly it answers many connected clients that
 * are not all busy at once.
 *
 *   ./item61-63/guess_threads --serve --port 0 --quiet &   (or guess_async)
 *   ./item61-63/guess_load --connect 127.0.0.1:PORT --clients 100 --games 20
 *   100 clients, 2000 games in 0.412 seconds: 4854 games/s; NUMBER round
 *   trip: median 0.612 ms, p99 3.118 ms (6500 round trips)
 *
 * Look for: games/s and the round trip as --clients grows (bench/item61-63.sh
 * runs 1, 10, 100 and 1,000 against both servers, with --tasks: 1,000 client
 * threads would spend the cores the server needs on their own wakeups).
 * Exit 1 if any client failed, with the first failure on stderr.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "aio.h"
#include "check.h"
#include "cli.h"
#include "clock.h"
#include "error.h"
#include "guess.h"
#include "guess_net.h"

/* guess_threads' ConnectionBase, again: a blocking socket. A copy, as is
 * guess_async's below: each program keeps its own in view, so that
 * diff guess_threads.c guess_async.c shows the whole port, and a shared one
 * would only move this copy into guess_net.c. */
struct tcp_connection {
    struct connection base;
    int fd;
    struct socket_file file;
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

/* guess_async's ConnectionBase, again: an aio stream (--tasks). */
struct stream_connection {
    struct connection base;
    struct aio_stream *stream;
};

static struct error *stream_send(struct connection *conn, const char *command)
{
    struct stream_connection *c = (struct stream_connection *)conn;
    char line[GUESS_LINE_MAX + 2];
    int len = snprintf(line, sizeof line, "%s\n", command);
    struct error *err = aio_write(c->stream, line, (size_t)len);
    return err ? err : aio_drain(c->stream);
}

static struct error *stream_receive(struct connection *conn, char *line)
{
    struct stream_connection *c = (struct stream_connection *)conn;
    char *data;
    size_t len;
    struct error *err = aio_readline(c->stream, &data, &len);
    return err ? err : take_line(data, len, line);
}

struct player {
    const char *host;
    int port;
    long games;
    double think;             /* seconds between games, on average */
    unsigned seed;            /* for rand_r */
    pthread_barrier_t *start; /* threads: every player connected (or failed to) */
    struct tcp_connection tcp;
    struct stream_connection stream;
    struct rtt_log rtts;
    struct error *err;
};

/* Both kinds of player: G games on conn, pausing before each with --think-ms. */
static void play(struct player *p, struct connection *conn, bool in_task)
{
    struct client client;
    client_init(&client, conn, true);
    client.rtts = &p->rtts;
    unsigned seed = p->seed;
    for (long g = 0; g < p->games && !p->err; g++) {
        /* 0.5 to 1.5 times --think-ms, so the clients do not march in step */
        double pause = p->think * (0.5 + rand_r(&seed) / (RAND_MAX + 1.0));
        if (p->think > 0 && in_task)
            p->err = aio_sleep(pause);
        else if (p->think > 0)
            clock_sleep(pause);
        if (!p->err)
            p->err = play_load_game(&client, g);
    }
}

static void *player(void *arg)
{
    struct player *p = arg;
    p->tcp =
        (struct tcp_connection){.base = {.send = send_line, .receive = receive_line}, .fd = -1};
    p->err = tcp_connect(p->host, p->port, &p->tcp.fd);
    p->tcp.file.fd = p->tcp.fd;
    int err = pthread_barrier_wait(p->start);
    if (err != 0 && err != PTHREAD_BARRIER_SERIAL_THREAD)
        die_call("pthread_barrier_wait(p->start)", __FILE__, __LINE__, err);
    if (!p->err)
        play(p, &p->tcp.base, false);
    if (p->tcp.fd >= 0)
        CHECK_SYS(close(p->tcp.fd));
    return NULL;
}

/* Run N players as threads; the seconds from all connected to all done. */
static double run_threads(struct player *players, long clients)
{
    pthread_t *threads = xcalloc((size_t)clients, sizeof *threads);
    pthread_barrier_t start;
    CHECK_PT(pthread_barrier_init(&start, NULL, (unsigned)clients + 1));
    pthread_attr_t small; /* a thousand 8 MiB stacks would be 8 GiB of address space */
    CHECK_PT(pthread_attr_init(&small));
    CHECK_PT(pthread_attr_setstacksize(&small, 256 * 1024));
    for (long i = 0; i < clients; i++) {
        players[i].start = &start;
        CHECK_PT(pthread_create(&threads[i], &small, player, &players[i]));
    }
    int err = pthread_barrier_wait(&start);
    if (err != 0 && err != PTHREAD_BARRIER_SERIAL_THREAD)
        die_call("pthread_barrier_wait(&start)", __FILE__, __LINE__, err);
    double began = clock_now();
    for (long i = 0; i < clients; i++)
        CHECK_PT(pthread_join(threads[i], NULL));
    double took = clock_now() - began;
    CHECK_PT(pthread_attr_destroy(&small));
    CHECK_PT(pthread_barrier_destroy(&start));
    free(threads);
    return took;
}

static struct error *task_player(void *arg, void **result)
{
    (void)result;
    struct player *p = arg;
    play(p, &p->stream.base, true);
    return NULL; /* the player's own error is in p->err */
}

struct task_load {
    struct player *players;
    long clients;
    double took;
};

/* --tasks: connect every player, then play them all as tasks on one loop. */
static struct error *run_tasks(void *arg, void **result)
{
    (void)result;
    struct task_load *load = arg;
    struct aio_task **tasks = xcalloc((size_t)load->clients, sizeof *tasks);
    size_t n = 0;
    struct error *err = NULL;
    for (long i = 0; i < load->clients; i++) {
        struct player *p = &load->players[i];
        p->stream.base = (struct connection){.send = stream_send, .receive = stream_receive};
        p->err = aio_open_connection(p->host, p->port, 0, &p->stream.stream);
    }
    double began = clock_now();
    for (long i = 0; i < load->clients && !err; i++)
        if (!load->players[i].err)
            err = aio_create_task(&tasks[n++], task_player, &load->players[i]);
    if (err)
        n--;
    struct error *gather_err = aio_gather(tasks, n, NULL);
    load->took = clock_now() - began;
    for (long i = 0; i < load->clients; i++)
        if (load->players[i].stream.stream)
            aio_close(load->players[i].stream.stream);
    free(tasks);
    error_free(gather_err);
    return err;
}

int main(int argc, char **argv)
{
    long clients = 10, games = 10;
    double think_ms = 0;
    bool use_tasks = false;
    const char *connect = NULL;
    const struct cli_flag flags[] = {
        {"--connect", CLI_STRING, &connect, 0, 0, "HOST:PORT", "the server (required)"},
        {"--clients", CLI_INT, &clients, 1, 100000, "N", "clients playing at once"},
        {"--games", CLI_INT, &games, 1, 1000000, "G", "games each client plays"},
        {"--think-ms", CLI_DOUBLE, &think_ms, 0, 60000, "MS",
         "each client pauses about this long before each game (0: back to back)"},
        {"--tasks", CLI_SWITCH, &use_tasks, 0, 0, NULL,
         "the clients are tasks on one common/aio loop, not a thread each"},
        {0},
    };
    const struct cli cli = {"A load client for guess_threads and guess_async: games/s and the "
                            "round trip of NUMBER.",
                            flags, NULL};
    cli_parse_or_exit(&cli, argc, argv, NULL);
    char host[64];
    int port;
    if (!connect)
        cli_usage_error(&cli, "--connect HOST:PORT is required");
    if (!parse_host_port(connect, host, sizeof host, &port))
        cli_usage_error(&cli, "--connect: expected HOST:PORT, got '%s'", connect);

    struct player *players = xcalloc((size_t)clients, sizeof *players);
    for (long i = 0; i < clients; i++)
        players[i] = (struct player){.host = host,
                                     .port = port,
                                     .games = games,
                                     .think = think_ms / 1e3,
                                     .seed = (unsigned)i + 1};
    double took;
    if (use_tasks) {
        struct task_load load = {players, clients, 0};
        struct error *err = aio_run(run_tasks, &load, NULL);
        if (err)
            error_die(err);
        took = load.took;
    } else {
        took = run_threads(players, clients);
    }

    struct rtt_log all = {0};
    long failed = 0;
    for (long i = 0; i < clients; i++) {
        for (size_t j = 0; j < players[i].rtts.count; j++)
            rtt_log_add(&all, players[i].rtts.seconds[j]);
        free(players[i].rtts.seconds);
        if (players[i].err && failed++ == 0)
            warn("client %ld: %s: %s", i + 1, players[i].err->type, players[i].err->message);
        error_free(players[i].err);
    }
    rtt_log_report(&all, clients, (clients - failed) * games, took);
    if (failed)
        warn("%ld of %ld clients failed", failed, clients);
    free(players);
    return failed ? 1 : 0;
}
