/* merge: see merge.h. The book's readline, tail_file and tail_async, the
 * output, confirm_merge, and the harness the book leaves out.
 *
 * Implementation notes
 *   A handle belongs to one tailer at a time, so its held bytes need no lock.
 *   Ending: a writer's last write(2) happens before it sets end->ended
 *   (release); readline loads the flag (acquire) BEFORE its read(2). So when
 *   the flag was already set and the read then returns 0 bytes, every byte
 *   the writer wrote has been read: the input is drained. Loading the flag
 *   after the read would be wrong: the writer could write and end between the
 *   read and the load, and its last line would be lost. The same holds for a
 *   watched process: its writes are done before its pidfd turns readable.
 *   merge_failed is atomic: any tailer sets it when it fails, every readline
 *   loads it (a stop signal only; the error itself travels back by return).
 *   The stats arrays are written at distinct slots (one writer thread per
 *   input row; output writes are serialised by each program) and read after
 *   every thread has been joined.
 */
#include "merge.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "aio.h"
#include "check.h"
#include "clock.h"

/* ==== readline ==== */

static bool input_has_ended(struct input_end *end)
{
    if (atomic_load_explicit(&end->ended, memory_order_acquire))
        return true;
    if (end->pidfd < 0)
        return false;
    struct pollfd p = {.fd = end->pidfd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0) /* EINTR: ask again next time */
        return false;
    atomic_store_explicit(&end->ended, true, memory_order_release);
    return true;
}

/* Hand on the next n held bytes as a line (adding the '\n' a last line lacks). */
static struct line *take(struct input_handle *h, size_t n, bool add_newline)
{
    struct line *line = xmalloc(sizeof *line + n + 1);
    memcpy(line->data, h->held + h->pos, n);
    line->len = n;
    if (add_newline && line->data[n - 1] != '\n')
        line->data[line->len++] = '\n';
    h->pos += n;
    return line;
}

/* Room for at least 4096 more bytes after held[len]. */
static void make_room(struct input_handle *h)
{
    if (h->pos == h->len)
        h->pos = h->len = 0;
    if (h->cap - h->len >= 4096)
        return;
    if (h->pos > 0) {
        memmove(h->held, h->held + h->pos, h->len - h->pos);
        h->len -= h->pos;
        h->pos = 0;
    }
    while (h->cap - h->len < 4096)
        h->cap = h->cap ? 2 * h->cap : 8192;
    h->held = xrealloc(h->held, h->cap);
}

/* Set when a tailer fails (a write to a full disk, say): every other tailer
 * stops at its next readline instead of tailing on until its input ends. */
static atomic_bool merge_failed;

static struct error *tailer_failed(struct error *err)
{
    atomic_store(&merge_failed, true);
    return err;
}

/* The read found nothing: was the file cut shorter than where we are? Then
 * start again from its beginning, as tail -f does. */
static bool truncated(struct input_handle *h)
{
    struct stat st;
    off_t at = lseek(h->fd, 0, SEEK_CUR);
    if (at <= 0 || fstat(h->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size >= at)
        return false;
    warn("%s: file truncated", h->name);
    CHECK_SYS(lseek(h->fd, 0, SEEK_SET));
    return true;
}

struct error *readline(struct input_handle *handle, struct line **line)
{
    struct input_handle *h = handle;
    *line = NULL;
    if (atomic_load_explicit(&h->end->closed, memory_order_acquire))
        return NULL; /* the book's handle.close(): stop, read or not */
    if (atomic_load(&merge_failed))
        return NULL; /* another tailer failed: the merge is over */
    for (;;) {
        char *start = h->held + h->pos;
        char *newline = h->len > h->pos ? memchr(start, '\n', h->len - h->pos) : NULL;
        if (newline) {
            *line = take(h, (size_t)(newline + 1 - start), false);
            return NULL;
        }
        bool ended = input_has_ended(h->end); /* before the read: see the notes */
        make_room(h);
        ssize_t got = read(h->fd, h->held + h->len, h->cap - h->len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return error_new("OSError", "read %s: %s", h->name, strerror(errno));
        if (got > 0) {
            h->len += (size_t)got;
            continue;
        }
        if (!h->book_readline && truncated(h)) {
            if (h->len > h->pos) { /* the old file's last line: it will never be finished */
                *line = take(h, h->len - h->pos, true);
                return NULL;
            }
            continue;
        }
        /* The book's readline hands on whatever it finds, half a line too. */
        if (h->len > h->pos && (ended || h->book_readline)) {
            *line = take(h, h->len - h->pos, !h->book_readline);
            return NULL;
        }
        if (ended)
            return NULL; /* ended and drained */
        return error_new("NoNewData", "%s", h->name);
    }
}

bool is_no_new_data(const struct error *e)
{
    return e && strcmp(e->type, "NoNewData") == 0;
}

/* ==== tail_file, the book's thread body ==== */

struct error *tail_file(struct input_handle *handle, double interval, write_fn *write_func,
                        void *ctx)
{
    for (;;) { /* while not handle.closed: readline says when the input is done */
        struct line *line;
        struct error *err = readline(handle, &line);
        if (is_no_new_data(err)) {
            error_free(err);
            clock_sleep(interval);
            continue;
        }
        if (err)
            return tailer_failed(err);
        if (!line)
            return NULL;
        err = write_func(ctx, line);
        free(line);
        if (err)
            return tailer_failed(err);
    }
}

/* ==== the harness's state ==== */

struct writer {
    pthread_t thread;
    struct merge_run *run;
    size_t index;
    uint64_t rng;
};

struct merge_state {
    char dir[PATH_MAX];
    char output[PATH_MAX + 8]; /* dir + "/merged" */
    char **paths;
    struct input_end *ends;
    struct writer *writers;
    bool external;
    /* --close-after: the book's close_all thread */
    pthread_t closer;
    bool closer_started, quit;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    /* --stats */
    double started, *write_time, *output_time;
};

static struct merge_run *current; /* set once by merge_start, before any thread */

/* ==== the output ==== */

static const char *output_name = "the output"; /* for output_write's errors */

int output_open(const char *path)
{
    output_name = path;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die_errno("cannot create the output %s", path);
    return fd;
}

void output_close(int fd)
{
    CHECK_SYS(close(fd));
}

/* --stats: when did this line reach the output? Lines are NAME-NN-LETTERS,
 * NAME ending in /INDEX. */
static void record_output(const struct line *line)
{
    struct merge_state *st = current->state;
    const char *dash2 = memrchr(line->data, '-', line->len);
    const char *dash1 = dash2 ? memrchr(line->data, '-', (size_t)(dash2 - line->data)) : NULL;
    const char *slash = dash1 ? memrchr(line->data, '/', (size_t)(dash1 - line->data)) : NULL;
    if (!slash)
        return; /* not one of the demo's lines */
    size_t input = strtoul(slash + 1, NULL, 10), k = strtoul(dash1 + 1, NULL, 10);
    if (input < current->n && k < (size_t)current->lines)
        st->output_time[input * (size_t)current->lines + k] = clock_now();
}

struct error *output_write(int fd, const struct line *line)
{
    if (current && current->blocking_write > 0)
        clock_sleep(current->blocking_write); /* --blocking-write: a slow disk */
    for (size_t done = 0; done < line->len;) {
        ssize_t n = write(fd, line->data + done, line->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return error_new("OSError", "write %s: %s", output_name, strerror(errno));
        done += (size_t)n;
    }
    if (current && current->stats && current->state->output_time)
        record_output(line);
    return NULL;
}

/* ==== confirm_merge ==== */

struct lines {
    char **v;
    size_t n, cap;
    char *buf;
};

/* Read path whole and cut it into NUL-terminated lines (the '\n' dropped).
 * *partial: the last line had no '\n'. */
static struct error *read_lines(const char *path, struct lines *out, bool *partial)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_new("OSError", "cannot open %s: %s", path, strerror(errno));
    size_t len = 0, cap = 4096;
    out->buf = xmalloc(cap + 1);
    for (;;) {
        if (cap - len < 4096)
            out->buf = xrealloc(out->buf, (cap *= 2) + 1);
        ssize_t got = read(fd, out->buf + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            struct error *e = error_new("OSError", "read %s: %s", path, strerror(errno));
            close(fd);
            return e;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    *partial = len > 0 && out->buf[len - 1] != '\n';
    out->buf[len] = '\n';
    for (char *p = out->buf; p < out->buf + len;) {
        char *nl = memchr(p, '\n', (size_t)(out->buf + len + 1 - p));
        *nl = '\0';
        if (out->n == out->cap)
            out->v = xrealloc(out->v, (out->cap = out->cap ? 2 * out->cap : 64) * sizeof *out->v);
        out->v[out->n++] = p;
        p = nl + 1;
    }
    return NULL;
}

static void lines_free(struct lines *l)
{
    free(l->v);
    free(l->buf);
}

/* The input a line names: all but its last two '-' fields, matched exactly. */
static long line_owner(const char *line, char *const *paths, size_t n)
{
    const char *dash2 = strrchr(line, '-');
    const char *dash1 = dash2 ? memrchr(line, '-', (size_t)(dash2 - line)) : NULL;
    if (!dash1)
        return -1;
    size_t len = (size_t)(dash1 - line);
    for (size_t i = 0; i < n; i++)
        if (strlen(paths[i]) == len && memcmp(paths[i], line, len) == 0)
            return (long)i;
    return -1;
}

/* Compare the lines the output has from one input with the file's own. */
static struct error *compare(const char *path, const struct lines *file, const struct lines *got)
{
    for (size_t k = 0; k < file->n || k < got->n; k++) {
        if (k >= got->n)
            return error_new("AssertionError",
                             "confirm_merge: input %s: line %zu of %zu ('%s') is missing from "
                             "the output",
                             path, k + 1, file->n, file->v[k]);
        if (k >= file->n)
            return error_new("AssertionError",
                             "confirm_merge: input %s has %zu lines, the output %zu: extra '%s'",
                             path, file->n, got->n, got->v[k]);
        if (strcmp(file->v[k], got->v[k]) != 0)
            return error_new("AssertionError",
                             "confirm_merge: input %s: line %zu is '%s', the output has '%s'", path,
                             k + 1, file->v[k], got->v[k]);
    }
    return NULL;
}

struct error *confirm_merge(char *const *paths, size_t n, const char *output_path)
{
    struct lines output, *found = xcalloc(n, sizeof *found);
    bool partial;
    struct error *err = read_lines(output_path, &output, &partial);
    if (!err && partial)
        err = error_new("AssertionError", "confirm_merge: the output ends in part of a line: '%s'",
                        output.v[output.n - 1]);
    for (size_t k = 0; !err && k < output.n; k++) {
        long i = line_owner(output.v[k], paths, n);
        if (i < 0) {
            err =
                error_new("AssertionError", "confirm_merge: output line %zu matches no input: '%s'",
                          k + 1, output.v[k]);
            break;
        }
        struct lines *l = &found[i];
        if (l->n == l->cap)
            l->v = xrealloc(l->v, (l->cap = l->cap ? 2 * l->cap : 16) * sizeof *l->v);
        l->v[l->n++] = output.v[k];
    }
    for (size_t i = 0; !err && i < n; i++) {
        struct lines file;
        if (!(err = read_lines(paths[i], &file, &partial)))
            err = compare(paths[i], &file, &found[i]);
        lines_free(&file);
    }
    for (size_t i = 0; i < n; i++)
        free(found[i].v);
    free(found);
    lines_free(&output);
    return err;
}

/* ==== the harness: writers (the book leaves them out) ==== */

static uint64_t next_random(uint64_t *state) /* splitmix64 */
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double random01(uint64_t *state)
{
    return (double)(next_random(state) >> 11) * 0x1p-53;
}

static void write_or_die(int fd, const char *data, size_t len, const char *path)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, data + done, len - done);
        if (n < 0 && errno != EINTR)
            die_errno("writer: write %s", path);
        if (n > 0)
            done += (size_t)n;
    }
}

/* One input's writer: --lines lines of NAME-NN-<10 letters>, a random pause
 * of up to --pause before each; --split writes each in three pieces. */
static void *write_lines(void *arg)
{
    struct writer *w = arg;
    struct merge_run *run = w->run;
    struct merge_state *st = run->state;
    const char *path = st->paths[w->index];
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0)
        die_errno("writer: cannot open %s", path);
    size_t cap = strlen(path) + 48;
    char *buf = xmalloc(cap);
    for (long k = 0; k < run->lines; k++) {
        clock_sleep(random01(&w->rng) * run->pause);
        char letters[11];
        for (int j = 0; j < 10; j++)
            letters[j] = (char)('a' + next_random(&w->rng) % 26);
        letters[10] = '\0';
        size_t len = (size_t)snprintf(buf, cap, "%s-%02ld-%s\n", path, k, letters);
        size_t cut1 = 0, cut2 = 0; /* --split: 0 < cut1 < cut2 < len */
        if (run->split) {
            cut1 = 1 + next_random(&w->rng) % (len - 2);
            cut2 = cut1 + 1 + next_random(&w->rng) % (len - 1 - cut1);
            write_or_die(fd, buf, cut1, path);
            clock_sleep(random01(&w->rng) * run->pause / 2);
            write_or_die(fd, buf + cut1, cut2 - cut1, path);
            clock_sleep(random01(&w->rng) * run->pause / 2);
        }
        if (st->write_time)
            st->write_time[w->index * (size_t)run->lines + (size_t)k] = clock_now();
        write_or_die(fd, buf + cut2, len - cut2, path);
    }
    free(buf);
    CHECK_SYS(close(fd));
    /* The writers' end is what ends the input (the book's is a 1 s timer). */
    atomic_store_explicit(&st->ends[w->index].ended, true, memory_order_release);
    return NULL;
}

/* --close-after S: the book's close_all thread, which closes every handle
 * after a fixed time whether or not the writers are done. */
static void *close_all(void *arg)
{
    struct merge_run *run = arg;
    struct merge_state *st = run->state;
    struct timespec deadline = clock_deadline(run->close_after);
    CHECK_PT(pthread_mutex_lock(&st->mutex));
    int err = 0;
    while (!st->quit && err != ETIMEDOUT)
        err = pthread_cond_timedwait(&st->cond, &st->mutex, &deadline);
    CHECK_PT(pthread_mutex_unlock(&st->mutex));
    for (size_t i = 0; i < run->n; i++)
        atomic_store_explicit(&run->handles[i].end->closed, true, memory_order_release);
    return NULL;
}

/* ==== merge_start ==== */

static bool takes_value(const struct cli_flag *f)
{
    return f->kind != CLI_SWITCH && f->kind != CLI_CLEAR;
}

static const struct cli_flag *find_flag(const struct cli_flag *flags, const char *arg)
{
    size_t len = strcspn(arg, "=");
    for (const struct cli_flag *f = flags; f->name; f++)
        if (strlen(f->name) == len && strncmp(f->name, arg, len) == 0)
            return f;
    return NULL;
}

/* cli takes flags only: move the INPUT arguments (anything that is not a
 * flag or a flag's value, and everything after "--") to inputs. */
static int split_argv(const struct cli_flag *flags, int argc, char **argv, char **flag_argv,
                      char **inputs, int *ninputs)
{
    int nflags = 1;
    flag_argv[0] = argv[0];
    *ninputs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            while (++i < argc)
                inputs[(*ninputs)++] = argv[i];
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            inputs[(*ninputs)++] = argv[i];
            continue;
        }
        flag_argv[nflags++] = argv[i];
        const struct cli_flag *f = find_flag(flags, a);
        if (f && takes_value(f) && !strchr(a, '=') && i + 1 < argc &&
            strncmp(argv[i + 1], "--", 2) != 0)
            flag_argv[nflags++] = argv[++i];
    }
    flag_argv[nflags] = NULL;
    return nflags;
}

/* --output OUT --until-pid PID INPUT...: real files, as tail -f --pid. */
static void open_external(struct merge_run *run, const struct cli *cli, char **inputs, int n)
{
    struct merge_state *st = run->state;
    st->external = true;
    st->ends = xcalloc(1, sizeof *st->ends); /* one process ends every input */
    long pidfd = syscall(SYS_pidfd_open, (pid_t)run->until_pid, 0);
    if (pidfd < 0 && errno != ESRCH)
        die_errno("pidfd_open(%ld)", run->until_pid);
    st->ends[0].pidfd = (int)pidfd;
    if (pidfd < 0) /* ESRCH: it has exited already; drain and stop */
        atomic_store(&st->ends[0].ended, true);
    struct stat out;
    bool out_exists = stat(run->output_path, &out) == 0;
    run->n = (size_t)n;
    run->handles = xcalloc(run->n, sizeof *run->handles);
    for (size_t i = 0; i < run->n; i++) {
        int fd = open(inputs[i], O_RDONLY | O_CLOEXEC);
        struct stat in;
        if (fd < 0 || fstat(fd, &in) < 0)
            cli_usage_error(cli, "%s: %s", inputs[i], strerror(errno));
        if (S_ISDIR(in.st_mode))
            cli_usage_error(cli, "%s: %s", inputs[i], strerror(EISDIR));
        if (out_exists && in.st_dev == out.st_dev && in.st_ino == out.st_ino)
            cli_usage_error(cli, "%s: is the output too", inputs[i]);
        run->handles[i] = (struct input_handle){.name = inputs[i], .fd = fd, .end = &st->ends[0]};
        run->handles[i].book_readline = run->book_readline;
    }
}

/* The demo: a temporary directory with --inputs empty files 0, 1, ..., a
 * writer thread for each, and the handles opened for reading. */
static void make_demo(struct merge_run *run)
{
    struct merge_state *st = run->state;
    const char *tmp = getenv("TMPDIR");
    snprintf(st->dir, sizeof st->dir, "%s/merge-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(st->dir))
        die_errno("mkdtemp %s", st->dir);
    run->n = (size_t)run->inputs;
    st->paths = xcalloc(run->n, sizeof *st->paths);
    st->ends = xcalloc(run->n, sizeof *st->ends);
    st->writers = xcalloc(run->n, sizeof *st->writers);
    run->handles = xcalloc(run->n, sizeof *run->handles);
    for (size_t i = 0; i < run->n; i++) {
        st->paths[i] = xmalloc(strlen(st->dir) + 24);
        sprintf(st->paths[i], "%s/%zu", st->dir, i);
        /* Created before anything runs, so that no open can fail. */
        CHECK_SYS(close(CHECK_SYS(open(st->paths[i], O_WRONLY | O_CREAT | O_EXCL, 0644))));
        st->ends[i].pidfd = -1;
        int fd = CHECK_SYS(open(st->paths[i], O_RDONLY | O_CLOEXEC));
        run->handles[i] =
            (struct input_handle){.name = st->paths[i], .fd = fd, .end = &st->ends[i]};
        run->handles[i].book_readline = run->book_readline;
    }
    snprintf(st->output, sizeof st->output, "%s/merged", st->dir);
    run->output_path = st->output;
    if (run->stats) {
        st->write_time = xcalloc(run->n * (size_t)run->lines, sizeof *st->write_time);
        st->output_time = xcalloc(run->n * (size_t)run->lines, sizeof *st->output_time);
    }
    st->started = clock_now();
    for (size_t i = 0; i < run->n; i++) {
        struct writer *w = &st->writers[i];
        *w = (struct writer){.run = run, .index = i, .rng = (uint64_t)run->seed * 1000003u + i};
        CHECK_PT(pthread_create(&w->thread, NULL, write_lines, w));
    }
}

void merge_start(struct merge_run *run, int argc, char **argv, const char *summary,
                 const struct cli_flag *extra)
{
    *run =
        (struct merge_run){.interval = 0.1, .inputs = 5, .lines = 10, .seed = 1234, .pause = 0.1};
    const char *output = NULL;
    struct cli_flag flags[32] = {
        {"--inputs", CLI_INT, &run->inputs, 1, 1000, "N", "input files, a writer thread each"},
        {"--lines", CLI_INT, &run->lines, 1, 1e7, "L", "lines written to each input"},
        {"--interval", CLI_DOUBLE, &run->interval, 0, 60, "S", "a tailer's sleep on NoNewData"},
        {"--pause", CLI_DOUBLE, &run->pause, 0, 60, "S", "most a writer pauses before a line"},
        {"--seed", CLI_INT, &run->seed, 0, 1e15, "N", "seed for the letters and the pauses"},
        {"--split", CLI_SWITCH, &run->split, 0, 0, NULL, "write each line in three pieces"},
        {"--output", CLI_STRING, &output, 0, 0, "OUT", "merge real INPUT files into OUT"},
        {"--until-pid", CLI_INT, &run->until_pid, 1, INT_MAX, "PID",
         "with --output: stop once PID has exited and every input is drained"},
        {"--close-after", CLI_DOUBLE, &run->close_after, 0, 60, "S",
         "the book's end: close every input after S seconds, read or not"},
        {"--book-readline", CLI_SWITCH, &run->book_readline, 0, 0, NULL,
         "the book's readline, which hands on part of a line"},
        {"--blocking-write", CLI_DOUBLE, &run->blocking_write, 0, 60, "S",
         "block S seconds in every output write (a slow disk)"},
        {"--stats", CLI_SWITCH, &run->stats, 0, 0, NULL, "lines/s and write-to-output latency"},
    };
    size_t nflags = 12;
    for (const struct cli_flag *f = extra; f && f->name && nflags < 31; f++)
        flags[nflags++] = *f;
    const struct cli cli = {summary, flags, "INPUT..."};
    char **flag_argv = xcalloc((size_t)argc + 1, sizeof *flag_argv);
    char **inputs = xcalloc((size_t)argc + 1, sizeof *inputs);
    int ninputs;
    int nargs = split_argv(flags, argc, argv, flag_argv, inputs, &ninputs);
    cli_parse_or_exit(&cli, nargs, flag_argv, NULL);
    if ((output || run->until_pid || ninputs) && (!output || !run->until_pid || !ninputs))
        cli_usage_error(&cli,
                        "merging real files needs --output OUT, --until-pid PID and INPUT...");
    run->state = xcalloc(1, sizeof *run->state);
    CHECK_PT(pthread_mutex_init(&run->state->mutex, NULL));
    CHECK_PT(clock_cond_init(&run->state->cond));
    current = run;
    if (output) {
        run->output_path = output;
        open_external(run, &cli, inputs, ninputs);
    } else {
        make_demo(run);
    }
    free(flag_argv);
    free(inputs); /* the handles keep argv's strings, not this array */
    if (run->close_after > 0) {
        CHECK_PT(pthread_create(&run->state->closer, NULL, close_all, run));
        run->state->closer_started = true;
    }
}

/* ==== merge_finish ==== */

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_stats(struct merge_run *run, double elapsed)
{
    struct merge_state *st = run->state;
    size_t total = run->n * (size_t)run->lines, m = 0;
    double *lat = xcalloc(total, sizeof *lat);
    for (size_t i = 0; i < total; i++)
        if (st->output_time[i] > 0)
            lat[m++] = st->output_time[i] - st->write_time[i];
    qsort(lat, m, sizeof *lat, compare_doubles);
    fprintf(stderr,
            "stats: %zu lines in %.3f s: %.0f lines/s; write-to-output latency median %.4f s, "
            "p99 %.4f s\n",
            m, elapsed, (double)m / elapsed, m ? lat[(m - 1) / 2] : 0.0,
            m ? lat[(size_t)(0.99 * (double)(m - 1))] : 0.0);
    free(lat);
}

int merge_finish(struct merge_run *run)
{
    struct merge_state *st = run->state;
    double elapsed = clock_now() - st->started;
    int status = 0;
    for (size_t i = 0; !st->external && i < run->n; i++)
        CHECK_PT(pthread_join(st->writers[i].thread, NULL));
    if (st->closer_started) {
        CHECK_PT(pthread_mutex_lock(&st->mutex));
        st->quit = true;
        CHECK_PT(pthread_cond_signal(&st->cond));
        CHECK_PT(pthread_mutex_unlock(&st->mutex));
        CHECK_PT(pthread_join(st->closer, NULL));
    }
    for (size_t i = 0; i < run->n; i++) {
        CHECK_SYS(close(run->handles[i].fd));
        free(run->handles[i].held);
    }
    if (st->external) {
        if (st->ends[0].pidfd >= 0)
            CHECK_SYS(close(st->ends[0].pidfd));
    } else {
        if (st->write_time)
            print_stats(run, elapsed);
        struct error *err = confirm_merge(st->paths, run->n, run->output_path);
        if (err) {
            warn("%s: %s", err->type, err->message);
            warn("the inputs and the merged output are kept in %s", st->dir);
            error_free(err);
            status = 1;
        } else {
            printf("merged %zu lines from %zu inputs: OK\n", run->n * (size_t)run->lines, run->n);
            for (size_t i = 0; i < run->n; i++)
                CHECK_SYS(unlink(st->paths[i]));
            CHECK_SYS(unlink(st->output));
            CHECK_SYS(rmdir(st->dir));
        }
        for (size_t i = 0; i < run->n; i++)
            free(st->paths[i]);
    }
    pthread_mutex_destroy(&st->mutex);
    pthread_cond_destroy(&st->cond);
    free(st->paths);
    free(st->ends);
    free(st->writers);
    free(st->write_time);
    free(st->output_time);
    free(st);
    free(run->handles);
    current = NULL;
    return status;
}

/* ==== tail_async, the book's coroutine (Item 62, step 4) ==== */

/* readline as an executor job (a task_fn). */
static struct error *readline_job(void *handle, void **result)
{
    struct line *line;
    struct error *err = readline(handle, &line);
    *result = line;
    return err;
}

/* Debug mode's "defined at" for tail_async (AIO_COROUTINE is for static
 * functions; this one is shared by three programs). */
__attribute__((constructor)) static void define_tail_async(void)
{
    aio_register_coroutine(tail_async, "tail_async", __FILE__, __LINE__ + 3);
}

struct error *tail_async(void *arg, void **result)
{
    struct tail_args *args = arg;
    (void)result;
    for (;;) { /* while not handle.closed: readline says when the input is done */
        void *line;
        struct error *err = aio_run_in_executor(NULL, readline_job, args->handle, &line);
        if (is_no_new_data(err)) {
            error_free(err);
            if ((err = aio_sleep(args->interval)))
                return tailer_failed(err);
            continue;
        }
        if (err)
            return tailer_failed(err);
        if (!line)
            return NULL;
        err = args->write_func(args->ctx, line); /* await write_func(line) */
        free(line);
        if (err)
            return tailer_failed(err);
    }
}

struct error *gather_tail_async(struct input_handle *handles, size_t n, double interval,
                                write_fn *write_func, void *ctx)
{
    struct aio_task **tasks = xcalloc(n, sizeof *tasks);
    struct tail_args *args = xcalloc(n, sizeof *args);
    struct error *err = NULL;
    size_t started = 0;
    for (; started < n; started++) {
        args[started] = (struct tail_args){&handles[started], interval, write_func, ctx, NULL};
        if ((err = aio_create_task(&tasks[started], tail_async, &args[started])))
            break; /* no stack for another task: wait for the ones running, then fail */
    }
    err = first_error(err, aio_gather(tasks, started, NULL));
    free(args);
    free(tasks);
    return err;
}

/* ==== plumbing for merge_write_thread ==== */

struct error *first_error(struct error *a, struct error *b)
{
    if (!a)
        return b;
    error_free(b);
    return a;
}

struct error *await_threadsafe(struct future *future)
{
    struct error *err = aio_await_future(future, NULL);
    if (!future_done(future))
        error_free(future_result(future, NULL));
    future_destroy(future);
    return err;
}

struct thread_call {
    pthread_t *thread;
    void *(*body)(void *);
    void *arg;
};

static struct error *start_job(void *arg, void **result)
{
    struct thread_call *call = arg;
    (void)result;
    CHECK_PT(pthread_create(call->thread, NULL, call->body, call->arg));
    return NULL;
}

static struct error *join_job(void *arg, void **result)
{
    struct thread_call *call = arg;
    (void)result;
    CHECK_PT(pthread_join(*call->thread, NULL));
    return NULL;
}

struct error *thread_start_in_executor(pthread_t *thread, void *(*body)(void *), void *arg)
{
    struct thread_call call = {thread, body, arg};
    return aio_run_in_executor(NULL, start_job, &call, NULL);
}

struct error *thread_join_in_executor(pthread_t thread)
{
    struct thread_call call = {&thread, NULL, NULL};
    return aio_run_in_executor(NULL, join_job, &call, NULL);
}

bool thread_is_running(pid_t tid)
{
    char task[64];
    snprintf(task, sizeof task, "/proc/self/task/%d", (int)tid);
    double deadline = clock_now() + 1.0;
    struct stat st;
    while (stat(task, &st) == 0) {
        if (clock_now() > deadline)
            return true;
        clock_sleep(0.001);
    }
    return false;
}
