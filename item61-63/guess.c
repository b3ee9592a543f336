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
#include <fcntl.h>
#include <inttypes.h>
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
#include "clock.h"

#define WARMER "Warmer"
#define COLDER "Colder"
#define UNSURE "Unsure"
#define CORRECT "Correct"

/* The two kinds of bad line: the book's UnknownCommandError, and a bad
 * argument (the book's AssertionError, ValueError or IndexError). */
#define UNKNOWN_COMMAND "UnknownCommandError"
#define BAD_ARGUMENT "ValueError"

bool is_eof_error(const struct error *e)
{
    return e && strcmp(e->type, "EOFError") == 0;
}

static bool is_bad_line(const struct error *e)
{
    return strcmp(e->type, UNKNOWN_COMMAND) == 0 || strcmp(e->type, BAD_ARGUMENT) == 0;
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
    if (digits == 0 || p[digits] != '\0')
        return error_new(BAD_ARGUMENT, "not a number: '%.40s'", text);
    if (digits > 10 || llabs(strtoll(text, NULL, 10)) > GUESS_BOUND)
        return error_new(BAD_ARGUMENT, "out of range: %.40s (from %d to %d)", text, -GUESS_BOUND,
                         GUESS_BOUND);
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
        strcmp(decision, UNSURE) != 0 && strcmp(decision, CORRECT) != 0)
        return error_new(BAD_ARGUMENT, "unknown decision '%.40s' (Warmer, Colder, Unsure, Correct)",
                         decision);
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
    else
        return error_new(UNKNOWN_COMMAND, "unknown command '%.40s'", parts[0]);
}

struct error *session_loop(struct session *s)
{
    char command[GUESS_LINE_MAX + 1];
    struct error *err;
    while (!(err = s->conn->receive(s->conn, command))) {
        size_t len = strlen(command);
        if (len > 0 && command[len - 1] == '\r') /* a terminal's "\r\n" (nc -C, telnet) */
            command[len - 1] = '\0';
        if (!(err = dispatch(s, command)))
            continue;
        if (!is_bad_line(err))
            return err; /* the connection failed while sending */
        if (!s->server->quiet)
            warn("%s: ERROR %s", s->conn->name, err->message);
        char answer[sizeof err->message + 8];
        snprintf(answer, sizeof answer, "ERROR %s", err->message);
        error_free(err);
        if ((err = s->conn->send(s->conn, answer)))
            return err;
    }
    return err;
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
        *err = error_new("ValueError", "the server answered '%.60s', not a number", data);
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

/* ==== plumbing both programs share ==== */

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

int tcp_accept(int listener)
{
    int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0 && nodelay(fd) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
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

struct error *take_line(char *data, size_t len, char *line)
{
    struct error *err = NULL;
    if (len == 0)
        err = error_new("EOFError", "Connection closed");
    else if (data[len - 1] != '\n')
        err = error_new("IncompleteReadError", "the peer closed mid-line");
    else if (len - 1 > GUESS_LINE_MAX)
        err = error_new("LimitOverrunError", "a line over %d bytes", GUESS_LINE_MAX);
    else
        memcpy(line, data, len - 1), line[len - 1] = '\0';
    free(data);
    return err;
}

void stop_signals_close(int fd)
{
    struct signalfd_siginfo info;
    CHECK_SYS(fcntl(fd, F_SETFL, O_NONBLOCK));
    while (read(fd, &info, sizeof info) > 0)
        ;
    CHECK_SYS(close(fd));
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
