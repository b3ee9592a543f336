/* guess_load: a load client for either guessing-game server (Item 61's
 * benchmark). N clients, a thread each on a blocking socket, all connected
 * before any plays; each then plays G of the book's games (its two sessions
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
 * runs 1, 10, 100 and 1,000 against both servers). Exit 1 if any client
 * failed, with the first failure on stderr.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "clock.h"
#include "error.h"
#include "guess.h"

/* guess_threads' ConnectionBase, again: a blocking socket. */
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

struct player {
    const char *host;
    int port;
    long games;
    double think;             /* seconds between games, on average */
    unsigned seed;            /* for rand_r */
    pthread_barrier_t *start; /* every player connected (or failed to) */
    struct rtt_log rtts;
    struct error *err;
};

static void *player(void *arg)
{
    struct player *p = arg;
    struct tcp_connection conn = {.base = {.send = send_line, .receive = receive_line}, .fd = -1};
    p->err = tcp_connect(p->host, p->port, &conn.fd);
    conn.file.fd = conn.fd;
    int err = pthread_barrier_wait(p->start);
    if (err != 0 && err != PTHREAD_BARRIER_SERIAL_THREAD)
        die_call("pthread_barrier_wait(p->start)", __FILE__, __LINE__, err);
    if (!p->err) {
        struct client client;
        client_init(&client, &conn.base, true);
        client.rtts = &p->rtts;
        unsigned seed = p->seed;
        for (long g = 0; g < p->games && !p->err; g++) {
            if (p->think > 0) /* 0.5 to 1.5 times --think-ms, so the clients do not march in step */
                clock_sleep(p->think * (0.5 + rand_r(&seed) / (RAND_MAX + 1.0)));
            p->err = play_load_game(&client, g);
        }
    }
    if (conn.fd >= 0)
        CHECK_SYS(close(conn.fd));
    return NULL;
}

int main(int argc, char **argv)
{
    long clients = 10, games = 10;
    double think_ms = 0;
    const char *connect = NULL;
    const struct cli_flag flags[] = {
        {"--connect", CLI_STRING, &connect, 0, 0, "HOST:PORT", "the server (required)"},
        {"--clients", CLI_INT, &clients, 1, 100000, "N", "clients playing at once"},
        {"--games", CLI_INT, &games, 1, 1000000, "G", "games each client plays"},
        {"--think-ms", CLI_DOUBLE, &think_ms, 0, 60000, "MS",
         "each client pauses about this long before each game (0: back to back)"},
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
    pthread_t *threads = xcalloc((size_t)clients, sizeof *threads);
    pthread_barrier_t start;
    CHECK_PT(pthread_barrier_init(&start, NULL, (unsigned)clients + 1));
    pthread_attr_t small; /* a thousand 8 MiB stacks would be 8 GiB of address space */
    CHECK_PT(pthread_attr_init(&small));
    CHECK_PT(pthread_attr_setstacksize(&small, 256 * 1024));
    for (long i = 0; i < clients; i++) {
        players[i] = (struct player){.host = host,
                                     .port = port,
                                     .games = games,
                                     .think = think_ms / 1e3,
                                     .seed = (unsigned)i + 1,
                                     .start = &start};
        CHECK_PT(pthread_create(&threads[i], &small, player, &players[i]));
    }
    int err = pthread_barrier_wait(&start);
    if (err != 0 && err != PTHREAD_BARRIER_SERIAL_THREAD)
        die_call("pthread_barrier_wait(&start)", __FILE__, __LINE__, err);
    double began = clock_now();
    for (long i = 0; i < clients; i++)
        CHECK_PT(pthread_join(threads[i], NULL));
    double took = clock_now() - began;

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
    CHECK_PT(pthread_attr_destroy(&small));
    CHECK_PT(pthread_barrier_destroy(&start));
    free(players);
    free(threads);
    return failed ? 1 : 0;
}
