/* guess: the book's Session and Client (see guess.h). Nothing here knows
 * whether it runs on a thread or in a task: all I/O goes through the
 * connection's send and receive.
 *
 * Implementation notes. A server's sessions share struct guess_server: its
 * random is guarded by its lock (each next_guess holds it for all its
 * draws, so one session's rejections are not interleaved with another's:
 * with one client the guesses are the book's whatever else connects);
 * connections is only touched by the one thread or task that accepts.
 * stdout is shared too: every line is one printf, which stdio's own lock
 * keeps whole.
 */
#include "guess.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"

#define WARMER "Warmer"
#define COLDER "Colder"
#define UNSURE "Unsure"
#define CORRECT "Correct"

/* The two kinds of bad line: the book's UnknownCommandError, and a bad
 * argument (the book's AssertionError, ValueError or IndexError). Not named
 * ValueError: aio_readline reports a line over the limit as asyncio does,
 * with a ValueError, and that one must end the connection. */
#define UNKNOWN_COMMAND "UnknownCommandError"
#define BAD_ARGUMENT "BadArgumentError"

bool is_eof_error(const struct error *e)
{
    return e && strcmp(e->type, "EOFError") == 0;
}

static bool is_bad_line(const struct error *e)
{
    return strcmp(e->type, UNKNOWN_COMMAND) == 0 || strcmp(e->type, BAD_ARGUMENT) == 0;
}

/* What a client sent, fit to quote back and to log: at most 32 bytes of it,
 * quotes, backslashes and every byte that is not printable ASCII written as
 * \xNN, so that no client's bytes reach the operator's terminal as
 * escape sequences. Returns out. */
#define QUOTED_SIZE (4 * 32 + 1)
static const char *quoted(const char *text, char out[QUOTED_SIZE])
{
    char *o = out;
    const unsigned char *p = (const unsigned char *)text;
    for (; *p && p < (const unsigned char *)text + 32; p++)
        if (*p < 0x20 || *p > 0x7e || *p == '\\' || *p == '\'')
            o += sprintf(o, "\\x%02x", *p);
        else
            *o++ = (char)*p;
    *o = '\0';
    return out;
}

/* ==== the server side ==== */

void guess_server_init(struct guess_server *server, uint32_t seed, bool quiet)
{
    pyrandom_seed(&server->random, seed);
    CHECK_PT(pthread_mutex_init(&server->lock, NULL));
    server->quiet = quiet;
    server->connections = 0;
}

void guess_server_fini(struct guess_server *server)
{
    CHECK_PT(pthread_mutex_destroy(&server->lock));
}

/* ---- the guesses: an open-addressing set; INT64_MIN marks a free slot ---- */

static size_t slot_of(const struct guess_set *set, int64_t v)
{
    return (size_t)(((uint64_t)v * UINT64_C(0x9E3779B97F4A7C15)) >> 32) & (set->capacity - 1);
}

static bool set_contains(const struct guess_set *set, int64_t v)
{
    if (set->capacity == 0)
        return false;
    for (size_t i = slot_of(set, v); set->slots[i] != INT64_MIN; i = (i + 1) & (set->capacity - 1))
        if (set->slots[i] == v)
            return true;
    return false;
}

static void set_add(struct guess_set *set, int64_t v)
{
    if (set_contains(set, v))
        return;
    if (2 * (set->count + 1) > set->capacity) { /* keep it at most half full */
        struct guess_set bigger = {.capacity = set->capacity ? 2 * set->capacity : 16};
        bigger.slots = xmalloc(bigger.capacity * sizeof *bigger.slots);
        for (size_t i = 0; i < bigger.capacity; i++)
            bigger.slots[i] = INT64_MIN;
        for (size_t i = 0; i < set->capacity; i++)
            if (set->slots[i] != INT64_MIN)
                set_add(&bigger, set->slots[i]);
        free(set->slots);
        *set = bigger;
    }
    size_t i = slot_of(set, v);
    while (set->slots[i] != INT64_MIN)
        i = (i + 1) & (set->capacity - 1);
    set->slots[i] = v;
    set->count++;
}

static void set_clear(struct guess_set *set)
{
    free(set->slots);
    *set = (struct guess_set){0};
}

/* ---- the book's Session ---- */

void session_init(struct session *s, struct connection *conn, struct guess_server *server)
{
    *s = (struct session){.conn = conn, .server = server};
}

static void clear_state(struct session *s, bool playing, int64_t lower, int64_t upper)
{
    set_clear(&s->guesses);
    *s = (struct session){
        .conn = s->conn, .server = s->server, .playing = playing, .lower = lower, .upper = upper};
}

/* A whole number in [-GUESS_BOUND, GUESS_BOUND], as int() takes it (digits
 * with an optional sign; no blanks, no '_'). */
static struct error *parse_number(const char *text, int64_t *value)
{
    const char *p = text + (*text == '-' || *text == '+');
    size_t digits = strspn(p, "0123456789");
    char q[QUOTED_SIZE];
    if (digits == 0 || p[digits] != '\0')
        return error_new(BAD_ARGUMENT, "not a number: '%s'", quoted(text, q));
    if (digits > 10 || llabs(strtoll(text, NULL, 10)) > GUESS_BOUND)
        return error_new(BAD_ARGUMENT, "out of range: %s (from %d to %d)", quoted(text, q),
                         -GUESS_BOUND, GUESS_BOUND);
    *value = strtoll(text, NULL, 10);
    return NULL;
}

static struct error *want_arguments(char **parts, int n, int wanted)
{
    if (n - 1 != wanted)
        return error_new(BAD_ARGUMENT, "%s takes %d argument%s, got %d", parts[0], wanted,
                         wanted == 1 ? "" : "s", n - 1);
    return NULL;
}

static struct error *set_params(struct session *s, char **parts, int n)
{
    int64_t lower, upper;
    struct error *err;
    if ((err = want_arguments(parts, n, 2)) || (err = parse_number(parts[1], &lower)) ||
        (err = parse_number(parts[2], &upper)))
        return err;
    bool end_of_game = lower == 0 && upper == -1; /* the book's client ends a session so */
    if (lower > upper && !end_of_game)
        return error_new(BAD_ARGUMENT, "lower > upper: %" PRId64 " > %" PRId64, lower, upper);
    clear_state(s, !end_of_game, lower, upper);
    return NULL;
}

/* The book loops forever once every number was guessed, and raises on
 * randint(0, -1) after PARAMS 0 -1: here both are bad lines. */
static struct error *next_guess(struct session *s, int64_t *guess)
{
    if (s->has_secret) {
        *guess = s->secret;
        return NULL;
    }
    if (!s->playing)
        return error_new(BAD_ARGUMENT, "no game: send PARAMS lower upper first");
    if ((uint64_t)s->guesses.count >= (uint64_t)(s->upper - s->lower) + 1)
        return error_new(BAD_ARGUMENT, "every number from %" PRId64 " to %" PRId64 " was guessed",
                         s->lower, s->upper);
    CHECK_PT(pthread_mutex_lock(&s->server->lock));
    do
        *guess = pyrandom_randint(&s->server->random, s->lower, s->upper);
    while (set_contains(&s->guesses, *guess));
    CHECK_PT(pthread_mutex_unlock(&s->server->lock));
    return NULL;
}

static struct error *send_number(struct session *s)
{
    int64_t guess;
    struct error *err = next_guess(s, &guess);
    if (err)
        return err;
    set_add(&s->guesses, guess);
    s->has_last = true, s->last = guess;
    char line[24];
    snprintf(line, sizeof line, "%" PRId64, guess);
    return s->conn->send(s->conn, line);
}

static struct error *receive_report(struct session *s, char **parts, int n)
{
    struct error *err = want_arguments(parts, n, 1);
    if (err)
        return err;
    const char *decision = parts[1];
    if (strcmp(decision, WARMER) != 0 && strcmp(decision, COLDER) != 0 &&
        strcmp(decision, UNSURE) != 0 && strcmp(decision, CORRECT) != 0) {
        char q[QUOTED_SIZE];
        return error_new(BAD_ARGUMENT, "unknown decision '%s' (Warmer, Colder, Unsure, Correct)",
                         quoted(decision, q));
    }
    if (!s->has_last)
        return error_new(BAD_ARGUMENT, "nothing to report: send NUMBER first");
    int64_t last = s->last;
    if (strcmp(decision, CORRECT) == 0)
        s->has_secret = true, s->secret = last;
    if (!s->server->quiet)
        printf("Server: %" PRId64 " is %s\n", last, decision);
    return NULL;
}

/* The book's command.split(' '): "NUMBER  " has three parts, two empty. */
static int split(char *command, char **parts, int max)
{
    int n = 0;
    for (char *p = command;; p++) {
        char *space = strchr(p, ' ');
        if (n < max)
            parts[n] = p;
        n++;
        if (!space)
            return n;
        *space = '\0';
        p = space;
    }
}

static struct error *dispatch(struct session *s, char *command)
{
    char *parts[4];
    int n = split(command, parts, 4); /* n counts every part; parts holds the first 4 */
    if (strcmp(parts[0], "PARAMS") == 0)
        return set_params(s, parts, n);
    else if (strcmp(parts[0], "NUMBER") == 0)
        return n == 1 ? send_number(s) : want_arguments(parts, n, 0);
    else if (strcmp(parts[0], "REPORT") == 0)
        return receive_report(s, parts, n);
    char q[QUOTED_SIZE];
    return error_new(UNKNOWN_COMMAND, "unknown command '%s'", quoted(parts[0], q));
}

struct error *session_loop(struct session *s)
{
    char command[GUESS_LINE_MAX + 1];
    struct error *err;
    for (;;) {
        if (!(err = s->conn->receive(s->conn, command))) {
            size_t len = strlen(command);
            if (len > 0 && command[len - 1] == '\r') /* a terminal's "\r\n" (nc -C, telnet) */
                command[len - 1] = '\0';
            if (!(err = dispatch(s, command)))
                continue;
        }
        if (!is_bad_line(err))
            return err; /* the connection ended, or failed while sending */
        if (!s->server->quiet)
            warn("%s: ERROR %s", s->conn->name, err->message);
        char answer[sizeof err->message + 8];
        snprintf(answer, sizeof answer, "ERROR %s", err->message);
        error_free(err);
        if ((err = s->conn->send(s->conn, answer)))
            return err;
    }
}

void session_finish(struct session *s, struct error *err)
{
    /* A clean close is no news, nor is the server's own closing at SIGTERM
     * (a thread's recv then sees EOF, a task is cancelled). */
    bool news = err && !is_eof_error(err) && strcmp(err->type, "CancelledError") != 0;
    if (news && !s->server->quiet)
        warn("%s: dropped: %s: %s", s->conn->name, err->type, err->message);
    error_free(err);
    set_clear(&s->guesses);
}

/* The book's threaded game, without sockets: what its server draws against
 * what its client reports (report_outcome's rule, with the book's two
 * sessions). */
void guess_server_replay_threaded_game(struct guess_server *server)
{
    static const int64_t games[2][3] = {{1, 5, 3}, {10, 15, 12}};
    struct session s;
    session_init(&s, NULL, server);
    for (int g = 0; g < 2; g++) {
        clear_state(&s, true, games[g][0], games[g][1]);
        int64_t secret = games[g][2], guess, last_distance = -1;
        for (int i = 0; i < 5 && last_distance != 0; i++) {
            struct error *err = next_guess(&s, &guess);
            if (err)
                error_die(err);
            set_add(&s.guesses, guess);
            last_distance = llabs(guess - secret);
            if (last_distance == 0)
                s.has_secret = true, s.secret = guess;
        }
    }
    set_clear(&s.guesses);
}

/* ==== the book's Client ==== */

void client_init(struct client *c, struct connection *conn, bool quiet)
{
    *c = (struct client){.conn = conn, .quiet = quiet};
}

static void client_clear_state(struct client *c)
{
    c->has_distance = false;
    c->announce = false;
}

static void announce(struct client *c)
{
    if (c->announce)
        printf("Guess a number between %" PRId64 " and %" PRId64 "! Shhhhh, it's %" PRId64 ".\n",
               c->lower, c->upper, c->secret);
    c->announce = false;
}

struct error *client_session_begin(struct client *c, int64_t lower, int64_t upper, int64_t secret)
{
    /* The book prints "Guess a number ..." here. Printed only once the
     * server's first guess is back (next_number), the line cannot overtake
     * the server's report of the game before. */
    c->lower = lower, c->upper = upper, c->secret = secret;
    c->announce = !c->quiet;
    char line[64];
    snprintf(line, sizeof line, "PARAMS %" PRId64 " %" PRId64, lower, upper);
    return c->conn->send(c->conn, line);
}

struct error *client_session_end(struct client *c)
{
    announce(c); /* a session that asked for no number */
    client_clear_state(c);
    return c->conn->send(c->conn, "PARAMS 0 -1");
}

void request_numbers(struct client *c, long count)
{
    c->remaining = count;
}

bool next_number(struct client *c, int64_t *number, struct error **err)
{
    if ((c->has_distance && c->last_distance == 0) || c->remaining-- <= 0)
        return false;
    char data[GUESS_LINE_MAX + 1];
    double start = c->rtts ? clock_now() : 0;
    if ((*err = c->conn->send(c->conn, "NUMBER")) || (*err = c->conn->receive(c->conn, data)))
        return false;
    if (c->rtts)
        rtt_log_add(c->rtts, clock_now() - start);
    char *end;
    errno = 0;
    *number = strtoll(data, &end, 10);
    if (end == data || *end != '\0' || errno) {
        char q[QUOTED_SIZE];
        *err = error_new("ValueError", "the server answered '%s', not a number", quoted(data, q));
        return false;
    }
    announce(c);
    return true;
}

struct error *report_outcome(struct client *c, int64_t number, const char **decision)
{
    int64_t new_distance = llabs(number - c->secret);
    *decision = UNSURE;
    if (new_distance == 0)
        *decision = CORRECT;
    else if (!c->has_distance)
        ;
    else if (new_distance < c->last_distance)
        *decision = WARMER;
    else if (new_distance > c->last_distance)
        *decision = COLDER;
    c->has_distance = true, c->last_distance = new_distance;
    char line[32];
    snprintf(line, sizeof line, "REPORT %s", *decision);
    return c->conn->send(c->conn, line);
}

/* The book's run_client between its with statements: a comprehension over
 * the first session, a for loop over the second. */
struct error *play_book_games(struct client *c, struct result *results, size_t *count)
{
    static const int64_t games[2][3] = {{1, 5, 3}, {10, 15, 12}};
    struct error *err = NULL, *end_err;
    int64_t number;
    *count = 0;
    for (int g = 0; g < 2 && !err; g++) {
        if ((err = client_session_begin(c, games[g][0], games[g][1], games[g][2])))
            return err;
        for (request_numbers(c, 5); next_number(c, &number, &err);) {
            results[*count].number = number;
            if ((err = report_outcome(c, number, &results[(*count)++].outcome)))
                break;
        }
        end_err = client_session_end(c); /* the with statement's finally */
        if (!err)
            err = end_err;
        else
            error_free(end_err);
    }
    return err;
}

struct error *play_load_game(struct client *c, long g)
{
    static const int64_t book[2][3] = {{1, 5, 3}, {10, 15, 12}};
    const int64_t *game = book[g % 2];
    struct error *err;
    int64_t number;
    const char *decision;
    if ((err = client_session_begin(c, game[0], game[1], game[2])))
        return err;
    for (request_numbers(c, 5); next_number(c, &number, &err);)
        if ((err = report_outcome(c, number, &decision)))
            break;
    return err ? err : client_session_end(c);
}

struct error *take_line(char *data, size_t len, char *line)
{
    struct error *err = NULL;
    if (len == 0)
        err = error_new("EOFError", "Connection closed");
    else if (data[len - 1] != '\n')
        err = error_new("IncompleteReadError", "the peer closed mid-line");
    else if (len - 1 > GUESS_LINE_MAX)
        err = error_new("LimitOverrunError", "a line over %d bytes", GUESS_LINE_MAX);
    else if (memchr(data, '\0', len - 1)) /* C would read the line as ending there */
        err = error_new(BAD_ARGUMENT, "a NUL byte in the line");
    else
        memcpy(line, data, len - 1), line[len - 1] = '\0';
    free(data);
    return err;
}

void rtt_log_add(struct rtt_log *log, double seconds)
{
    if (log->count == log->capacity) {
        log->capacity = log->capacity ? 2 * log->capacity : 256;
        log->seconds = xrealloc(log->seconds, log->capacity * sizeof *log->seconds);
    }
    log->seconds[log->count++] = seconds;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile by the nearest-rank rule: the smallest value with at least
 * q of the values at or below it. */
static double quantile(const struct rtt_log *log, double q)
{
    size_t rank = (size_t)(q * (double)log->count + 0.999999);
    return log->seconds[rank > 0 ? rank - 1 : 0];
}

void rtt_log_report(struct rtt_log *log, long clients, long games, double seconds)
{
    double median = 0, p99 = 0;
    if (log->count > 0) {
        qsort(log->seconds, log->count, sizeof *log->seconds, by_value);
        median = quantile(log, 0.5), p99 = quantile(log, 0.99);
    }
    printf("%ld clients, %ld games in %.3f seconds: %.0f games/s; NUMBER round trip: median "
           "%.3f ms, p99 %.3f ms (%zu round trips)\n",
           clients, games, seconds, (double)games / seconds, median * 1e3, p99 * 1e3, log->count);
    free(log->seconds);
    *log = (struct rtt_log){0};
}
