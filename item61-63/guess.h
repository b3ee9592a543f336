/* guess: the book's guessing game (Item 61), Session and Client, written
 * once for both servers.
 *
 * The book writes ConnectionBase (send a line, receive a line, EOF as an
 * error) twice, once on blocking sockets and once on asyncio streams, and
 * then has to write Session and Client twice as well, because every method
 * that sends or receives must become `async def` and every call to it an
 * `await`. Here a connection is a pair of function pointers, and a task of
 * common/aio has a stack of its own, so a plain function that calls
 * aio_readline can be called from a task as it is: Session and Client below
 * are the same code under guess_threads (a thread per connection) and
 * guess_async (a task per connection). Only each program's connection and
 * server start-up change.
 *
 * The protocol (one command per line, '\n' ended): PARAMS lower upper,
 * NUMBER (the server answers with its guess), REPORT Warmer|Colder|Unsure|
 * Correct. `PARAMS 0 -1` ends a game (the book's client sends it when a
 * session ends). Unlike the book's server, which crashes or loops forever on
 * a bad line, this one answers every bad line with `ERROR <reason>` and goes
 * on; a line over GUESS_LINE_MAX bytes, or a client that vanishes mid-line,
 * ends that connection. Each bad line and each dropped connection is logged
 * on stderr (one line) unless the server is quiet.
 */
#ifndef ITEM61_GUESS_H
#define ITEM61_GUESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "pyrandom.h"

#define GUESS_LINE_MAX 1024    /* the longest line a server takes, '\n' excluded */
#define GUESS_BOUND 1000000000 /* PARAMS numbers lie in [-GUESS_BOUND, GUESS_BOUND] */
#define GUESS_BOOK_SEED 1234   /* the book's files start with random.seed(1234) */

/* ==== the book's ConnectionBase ==== */

/* send: the line plus '\n'. receive: the next line without its '\n', into
 * line[GUESS_LINE_MAX + 1]; at a clean end of input the book's
 * EOFError("Connection closed"); IncompleteReadError if the peer closed
 * mid-line, LimitOverrunError for a line over GUESS_LINE_MAX bytes; a bad
 * line (which the session answers and survives) for a line with a NUL byte
 * in it. */
struct connection {
    struct error *(*send)(struct connection *conn, const char *line);
    struct error *(*receive)(struct connection *conn, char *line);
    char name[32]; /* "connection 7": how log lines name it */
};

bool is_eof_error(const struct error *e); /* the book's EOFError: a clean close */

/* ==== the server side ==== */

/* What every Session of one server shares: the book's module-level random,
 * and whether to print. The lock is there for the threaded server, whose
 * sessions draw at the same time (CPython's GIL made each draw atomic). */
struct guess_server {
    struct pyrandom random;
    pthread_mutex_t lock; /* guards random */
    bool quiet;           /* no "Server:" lines, no log lines (load runs) */
    long connections;     /* connections accepted so far, to name them */
};

void guess_server_init(struct guess_server *server, uint32_t seed, bool quiet);
void guess_server_fini(struct guess_server *server);

/* Draw what the book's threaded game draws, without sockets: its server's
 * guesses against its client's reports, so that the generator stands where
 * the book's stood when its async game began (Item 61 runs both games in one
 * file after one random.seed(1234)). */
void guess_server_replay_threaded_game(struct guess_server *server);

/* A set of guesses: the book's self.guesses list, whose `in` test would be
 * linear in the number of guesses so far. */
struct guess_set {
    int64_t *slots;
    size_t capacity, count;
};

struct session {
    struct connection *conn;
    struct guess_server *server;
    bool playing; /* PARAMS set a range (the book: lower is not None) */
    int64_t lower, upper;
    bool has_secret;
    int64_t secret;
    bool has_last; /* a guess was sent: self.guesses[-1] exists */
    int64_t last;
    struct guess_set guesses;
};

void session_init(struct session *s, struct connection *conn, struct guess_server *server);
/* The book's loop: commands until the connection ends. Bad lines get their
 * ERROR answer inside. Returns why it ended: the book's EOFError for a
 * clean close, or the error that dropped the connection. */
struct error *session_loop(struct session *s);
/* After the loop: log a dropped connection (not a clean close), free err and
 * the session's storage. */
void session_finish(struct session *s, struct error *err);

/* ==== the client side ==== */

/* A round trip of one NUMBER, in seconds, for load runs. */
struct rtt_log {
    double *seconds;
    size_t count, capacity;
};

struct client {
    struct connection *conn;
    bool quiet; /* no "Guess a number" lines (load runs) */
    int64_t lower, upper, secret;
    bool announce;     /* the "Guess a number" line is still to be printed */
    bool has_distance; /* self.last_distance is not None */
    int64_t last_distance;
    long remaining;       /* request_numbers: NUMBERs still to ask for */
    struct rtt_log *rtts; /* NULL, or where to log each NUMBER's round trip */
};

void client_init(struct client *c, struct connection *conn, bool quiet);

/* The book's `with client.session(lower, upper, secret):` is a begin and an
 * end: begin sends PARAMS, end clears the state and sends PARAMS 0 -1. */
struct error *client_session_begin(struct client *c, int64_t lower, int64_t upper, int64_t secret);
struct error *client_session_end(struct client *c);

/* The book's generator request_numbers(count):
 *     for (request_numbers(c, 5); next_number(c, &number, &err);)
 *         ...
 * next_number sends NUMBER and returns true with the server's guess, until
 * count guesses or the last report said Correct; false with *err set if
 * the connection failed or the server's answer is not a number. */
void request_numbers(struct client *c, long count);
bool next_number(struct client *c, int64_t *number, struct error **err);

/* The book's report_outcome: decide, send REPORT, return the decision. */
struct error *report_outcome(struct client *c, int64_t number, const char **decision);

/* One of the book's results, (number, outcome); run_client collects ten at most. */
struct result {
    int64_t number;
    const char *outcome;
};
#define GUESS_MAX_RESULTS 10

/* The body of the book's run_client, between connecting and closing: the
 * two sessions (1 to 5, secret 3; 10 to 15, secret 12). */
struct error *play_book_games(struct client *c, struct result *results, size_t *count);

/* A load run's game number g: the book's first session for even g, its
 * second for odd g, each NUMBER's round trip logged in c->rtts. */
struct error *play_load_game(struct client *c, long g);

/* What both ConnectionBase.receive do with a readline's result: the book's
 * EOFError for "", IncompleteReadError for a last line without '\n',
 * a bad line (answered, and the connection goes on) if it holds a NUL byte,
 * otherwise the line without its '\n' into line[GUESS_LINE_MAX + 1].
 * Frees data. */
struct error *take_line(char *data, size_t len, char *line);

void rtt_log_add(struct rtt_log *log, double seconds);
/* Print a load run's line: clients, games, games/s, median and 99th
 * percentile round trip. Frees the log's storage. */
void rtt_log_report(struct rtt_log *log, long clients, long games, double seconds);

#endif
