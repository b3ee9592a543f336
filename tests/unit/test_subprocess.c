/* test_subprocess: the library's own tests (common/subprocess) and the
 * printers of item52/pyrepr. Each case is a claim; tests/lib_subprocess.bats
 * runs them one per process (under `timeout`, which turns a deadlock into a
 * failure):
 *
 *   tests/unit/test_subprocess CASE...  run those cases (tests/unit/expect.h)
 *   tests/unit/test_subprocess --list   the case names
 *
 * Every check is a REQUIRE: what follows a failed one would act on a child
 * that never started or a pipe that is not there, so the first failure ends
 * the program, after killing the children it left.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "expect.h"
#include "pyrepr.h"
#include "subprocess.h"

/* A failure at that line, with its own message: the program stops. */
#define fail(line, ...) (expect_fail(__FILE__, (line), __VA_ARGS__), expect_stop())

#define REQUIRE_OK(call)                                                                           \
    do {                                                                                           \
        struct error *e_ = (call);                                                                 \
        if (e_)                                                                                    \
            fail(__LINE__, "%s returned %s: %s", #call, e_->type, e_->message);                    \
    } while (0)

/* Kill our own children (found in /proc by their parent pid). A failed case
 * must not leave them behind: with a broken library (README exercise 1) an
 * orphaned `cat` holding its own stdin never ends, and keeps bats waiting on
 * the descriptors it inherited. */
static void kill_children(void)
{
    DIR *dir = opendir("/proc");
    if (!dir)
        return;
    for (struct dirent *d; (d = readdir(dir));) {
        char path[300], stat[512]; /* d_name: at most 255 bytes */
        snprintf(path, sizeof path, "/proc/%s/stat", d->d_name);
        FILE *f = d->d_name[0] >= '1' && d->d_name[0] <= '9' ? fopen(path, "r") : NULL;
        if (!f)
            continue;
        size_t n = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[n] = '\0';
        const char *after_name = strrchr(stat, ')'); /* "pid (comm) state ppid ..." */
        int ppid;
        if (after_name && sscanf(after_name, ") %*c %d", &ppid) == 1 && ppid == getpid())
            kill(atoi(d->d_name), SIGKILL);
    }
    closedir(dir);
}

/* Expect e to be an error of that type whose message contains `part`; free it. */
static void expect_error(int line, struct error *e, const char *type, const char *part)
{
    if (!e)
        fail(line, "expected %s, got success", type);
    if (strcmp(e->type, type) != 0 || !strstr(e->message, part))
        fail(line, "expected %s containing \"%s\", got %s: %s", type, part, e->type, e->message);
    error_free(e);
}

static int open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        fail(__LINE__, "opendir /proc/self/fd: %s", strerror(errno));
    int n = 0;
    while (readdir(dir))
        n++;
    closedir(dir);
    return n; /* includes ".", ".." and the directory's own descriptor: same every time */
}

/* No child of ours exists, running or zombie. */
static bool no_children(void)
{
    int status;
    return waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD;
}

/* ---- the deadlock classic ---- */

static void communicate_8mib(void)
{
    size_t len = 8u << 20;
    char *input = malloc(len);
    REQUIRE(input);
    unsigned x = 12345;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        input[i] = (char)(x >> 16);
    }
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, (char *[]){"cat", NULL},
                          &(struct proc_options){.in = PROC_PIPE_IO, .out = PROC_PIPE_IO}));
    struct proc_bytes out;
    /* cat writes back while we still write: both pipes fill at 64 KiB, so a
     * parent that wrote everything before reading would hang here forever. */
    REQUIRE_OK(proc_communicate(&proc, input, len, PROC_FOREVER, &out, NULL));
    REQUIRE(proc.returncode == 0);
    REQUIRE(out.len == len);
    REQUIRE(memcmp(out.data, input, len) == 0);
    proc_fini(&proc);
    free(input);
}

static void stdout_and_stderr_apart(void)
{
    struct proc proc;
    char *argv[] = {"sh", "-c", "echo out; echo err >&2; echo more", NULL};
    REQUIRE_OK(
        proc_start(&proc, argv, &(struct proc_options){.out = PROC_PIPE_IO, .err = PROC_PIPE_IO}));
    struct proc_bytes out, err;
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, PROC_FOREVER, &out, &err));
    REQUIRE(strcmp(out.data, "out\nmore\n") == 0);
    REQUIRE(strcmp(err.data, "err\n") == 0);
    proc_fini(&proc);
}

static void input_needs_a_stdin_pipe(void)
{
    /* Python raises ValueError here; the retry must not quietly drop the input. */
    struct proc proc;
    REQUIRE_OK(
        proc_start(&proc, (char *[]){"cat", NULL}, &(struct proc_options){.in = PROC_DEVNULL_IO}));
    for (int attempt = 0; attempt < 2; attempt++)
        expect_error(__LINE__, proc_communicate(&proc, "x", 1, 10, NULL, NULL), "ValueError",
                     "stdin of ['cat'] is not a pipe");
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, 10, NULL, NULL));
    REQUIRE(proc.returncode == 0);
    proc_fini(&proc);
}

/* ---- timeouts, signals, return codes ---- */

static void timeout_then_terminate(void)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, (char *[]){"sleep", "10", NULL}, NULL));
    expect_error(__LINE__, proc_communicate(&proc, NULL, 0, 0.1, NULL, NULL), "TimeoutExpired",
                 "Command '['sleep', '10']' timed out after 0.1 seconds");
    REQUIRE(proc_poll(&proc) == PROC_RUNNING); /* a timeout does not kill (as in Python) */
    REQUIRE(proc_terminate(&proc) == 0);
    REQUIRE_OK(proc_wait(&proc, PROC_FOREVER));
    REQUIRE(proc.returncode == -15);
    REQUIRE(proc_poll(&proc) == -15);
    REQUIRE(proc_terminate(&proc) == 0); /* reaped: a no-op, never a stray kill */
    proc_fini(&proc);
}

static void kill_gives_minus_9(void)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, (char *[]){"sleep", "10", NULL}, NULL));
    expect_error(__LINE__, proc_wait(&proc, 0.05), "TimeoutExpired", "sleep");
    REQUIRE(proc_kill(&proc) == 0);
    REQUIRE_OK(proc_wait(&proc, 10));
    REQUIRE(proc.returncode == -9);
    proc_fini(&proc);
}

static void timeout_keeps_output(void)
{
    /* The child prints "first", then waits for a line on a pipe only we can
     * write to: every communicate times out until we write it (no timing).
     * Retry until "first" has been read, then release the child: the last
     * call must return everything, the part read before the timeouts too. */
    int go[2];
    REQUIRE(pipe2(go, O_CLOEXEC) == 0);
    struct proc proc;
    char *argv[] = {"sh", "-c", "echo first; read line; echo second", NULL};
    REQUIRE_OK(proc_start(&proc, argv,
                          &(struct proc_options){.in = PROC_FD_IO(go[0]), .out = PROC_PIPE_IO}));
    close(go[0]);
    do /* proc.out is the library's private buffer: peeked at only to know "first" arrived */
        expect_error(__LINE__, proc_communicate(&proc, NULL, 0, 0.1, NULL, NULL), "TimeoutExpired",
                     "timed out");
    while (proc.out.len < strlen("first\n"));
    REQUIRE(write(go[1], "go\n", 3) == 3);
    close(go[1]);
    struct proc_bytes out;
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, PROC_FOREVER, &out, NULL));
    REQUIRE(strcmp(out.data, "first\nsecond\n") == 0);
    REQUIRE(proc.returncode == 0);
    proc_fini(&proc);
}

static void exit_codes_exact(void)
{
    for (int code = 0; code <= 255; code++) {
        char script[32];
        snprintf(script, sizeof script, "exit %d", code);
        struct proc_result result;
        REQUIRE_OK(proc_run(&result, (char *[]){"sh", "-c", script, NULL}, false, PROC_FOREVER));
        if (result.returncode != code)
            fail(__LINE__, "exit %d came back as %d", code, result.returncode);
        proc_result_fini(&result);
    }
}

static void run_and_check_returncode(void)
{
    struct proc_result result;
    REQUIRE_OK(
        proc_run(&result, (char *[]){"echo", "Hello from the child!", NULL}, true, PROC_FOREVER));
    REQUIRE(strcmp(result.out.data, "Hello from the child!\n") == 0);
    REQUIRE(result.err.len == 0);
    REQUIRE_OK(proc_check_returncode(&result));
    proc_result_fini(&result);

    REQUIRE_OK(proc_run(&result, (char *[]){"sh", "-c", "exit 3", NULL}, false, PROC_FOREVER));
    REQUIRE(result.out.data == NULL); /* not captured */
    expect_error(__LINE__, proc_check_returncode(&result), "CalledProcessError",
                 "Command '['sh', '-c', 'exit 3']' returned non-zero exit status 3.");
    proc_result_fini(&result);

    REQUIRE_OK(proc_run(&result, (char *[]){"sh", "-c", "kill -TERM $$", NULL}, false, 5));
    REQUIRE(result.returncode == -15);
    expect_error(__LINE__, proc_check_returncode(&result), "CalledProcessError",
                 "died with <Signals.SIGTERM: 15>.");
    proc_result_fini(&result);
}

static void run_timeout_kills(void)
{
    struct proc_result result;
    expect_error(__LINE__, proc_run(&result, (char *[]){"sleep", "10", NULL}, true, 0.1),
                 "TimeoutExpired", "timed out after 0.1 seconds");
    REQUIRE(result.returncode == -9); /* run() kills and reaps before it returns */
    proc_result_fini(&result);
    REQUIRE(no_children());
}

static void run_timeout_ignores_grandchild(void)
{
    /* The child leaves a grandchild that holds the output pipes for 100 s.
     * run() must return once the child is killed and reaped, not wait for
     * EOF on the pipes (bats' `timeout 60` turns such a wait into a failure). */
    struct proc_result result;
    char *argv[] = {"sh", "-c", "sleep 100 & echo $!; exec sleep 100", NULL};
    expect_error(__LINE__, proc_run(&result, argv, true, 1), "TimeoutExpired", "timed out");
    REQUIRE(result.returncode == -9);
    long grandchild = result.out.data ? atol(result.out.data) : 0;
    if (grandchild > 0) /* its pid was read before the timeout: clean up after the test */
        kill((pid_t)grandchild, SIGKILL);
    proc_result_fini(&result);
}

/* ---- EINTR ---- */

static volatile sig_atomic_t alarms;

static void count_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void eintr_is_retried(void)
{
    /* A signal every millisecond, with a handler installed without
     * SA_RESTART: every blocking call (write, read, ppoll, waitpid) keeps
     * failing with EINTR. Each must be retried, with the time left. */
    struct sigaction sa = {.sa_handler = count_alarm}; /* sa_flags 0: no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    REQUIRE(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerval every_ms = {{0, 1000}, {0, 1000}};
    REQUIRE(setitimer(ITIMER_REAL, &every_ms, NULL) == 0);

    size_t len = 1u << 20;
    char *input = malloc(len);
    REQUIRE(input);
    memset(input, 'e', len);
    struct proc cat, sleeper;
    REQUIRE_OK(proc_start(&cat, (char *[]){"cat", NULL},
                          &(struct proc_options){.in = PROC_PIPE_IO, .out = PROC_PIPE_IO}));
    struct proc_bytes out;
    REQUIRE_OK(proc_communicate(&cat, input, len, 60, &out, NULL));
    REQUIRE(out.len == len && memcmp(out.data, input, len) == 0);
    proc_fini(&cat);

    REQUIRE_OK(proc_start(&sleeper, (char *[]){"sleep", "0.3", NULL}, NULL));
    REQUIRE_OK(proc_wait(&sleeper, 60)); /* the timed wait: ppoll on a pidfd */
    REQUIRE(sleeper.returncode == 0);
    proc_fini(&sleeper);
    REQUIRE_OK(proc_start(&sleeper, (char *[]){"sleep", "0.3", NULL}, NULL));
    REQUIRE_OK(proc_wait(&sleeper, PROC_FOREVER)); /* the blocking waitpid */
    REQUIRE(sleeper.returncode == 0);
    proc_fini(&sleeper);

    struct itimerval off = {{0, 0}, {0, 0}};
    REQUIRE(setitimer(ITIMER_REAL, &off, NULL) == 0);
    REQUIRE(alarms > 0); /* the calls really were interrupted */
    free(input);
}

/* ---- starting ---- */

static void missing_command_is_an_error(void)
{
    int before = open_fds();
    struct proc proc;
    expect_error(__LINE__,
                 proc_start(&proc, (char *[]){"no-such-program", NULL},
                            &(struct proc_options){.in = PROC_PIPE_IO, .out = PROC_PIPE_IO}),
                 "FileNotFoundError", "[Errno 2] No such file or directory: 'no-such-program'");
    expect_error(__LINE__, proc_start(&proc, (char *[]){"/etc/passwd", NULL}, NULL),
                 "PermissionError", "'/etc/passwd'");
    proc_fini(&proc); /* harmless after a failed start */
    REQUIRE(no_children());
    REQUIRE(open_fds() == before);
}

static void environment_reaches_child(void)
{
    char **env = proc_environ_with((const char *[]){"password=secret", "HOME=/nowhere", NULL});
    REQUIRE(env);
    struct proc proc;
    char *argv[] = {"sh", "-c", "printf '%s %s %s' \"$password\" \"$HOME\" \"${PATH:+path}\"",
                    NULL};
    REQUIRE_OK(proc_start(&proc, argv, &(struct proc_options){.env = env, .out = PROC_PIPE_IO}));
    proc_environ_free(env);
    struct proc_bytes out;
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, PROC_FOREVER, &out, NULL));
    REQUIRE(strcmp(out.data, "secret /nowhere path") == 0); /* set, replaced, kept */
    REQUIRE(getenv("password") == NULL);                    /* the parent's is untouched */
    proc_fini(&proc);
}

static void devnull_and_fd(void)
{
    struct proc proc;
    struct proc_bytes out;
    REQUIRE_OK(proc_start(&proc, (char *[]){"cat", NULL},
                          &(struct proc_options){.in = PROC_DEVNULL_IO, .out = PROC_PIPE_IO}));
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, 10, &out, NULL));
    REQUIRE(out.len == 0 && proc.returncode == 0);
    proc_fini(&proc);

    int fds[2];
    REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
    REQUIRE_OK(proc_start(&proc, (char *[]){"echo", "via fd", NULL},
                          &(struct proc_options){.out = PROC_FD_IO(fds[1])}));
    close(fds[1]); /* PROC_FD: the caller's descriptor, the caller closes it */
    REQUIRE_OK(proc_wait(&proc, 10));
    char buf[32] = {0};
    REQUIRE(read(fds[0], buf, sizeof buf - 1) == 7);
    REQUIRE(strcmp(buf, "via fd\n") == 0);
    close(fds[0]);
    proc_fini(&proc);
}

static void works_with_stdio_closed(void)
{
    /* With 0 and 1 closed, pipe2 hands out 0 and 1: the library must not let
     * stdin's dup2 overwrite stdout's source. */
    int saved_in = fcntl(0, F_DUPFD_CLOEXEC, 3), saved_out = fcntl(1, F_DUPFD_CLOEXEC, 3);
    close(0);
    close(1);
    struct proc proc;
    struct error *e = proc_start(&proc, (char *[]){"cat", NULL},
                                 &(struct proc_options){.in = PROC_PIPE_IO, .out = PROC_PIPE_IO});
    struct proc_bytes out = {0};
    if (!e)
        e = proc_communicate(&proc, "abc", 3, 10, &out, NULL);
    dup2(saved_out, 1); /* both back, for the cases that run after this one */
    dup2(saved_in, 0);
    close(saved_out);
    close(saved_in);
    REQUIRE_OK(e);
    REQUIRE(out.len == 3 && memcmp(out.data, "abc", 3) == 0);
    proc_fini(&proc);
}

static void write_to_exited_child(void)
{
    signal(SIGPIPE, SIG_DFL); /* the default: a stray SIGPIPE would kill us */
    struct proc proc;
    REQUIRE_OK(
        proc_start(&proc, (char *[]){"true", NULL}, &(struct proc_options){.in = PROC_PIPE_IO}));
    REQUIRE_OK(proc_wait(&proc, 10)); /* it exited without reading: no reader left */
    static char data[1 << 20];
    expect_error(__LINE__, proc_write(&proc, data, sizeof data), "BrokenPipeError", "Errno 32");
    /* communicate ignores a broken pipe, as Python does */
    REQUIRE_OK(proc_communicate(&proc, data, sizeof data, 10, NULL, NULL));
    proc_fini(&proc);
}

/* ---- the descriptor and zombie classics ---- */

static void no_inherited_pipes(void)
{
    /* cat gets a stdin pipe; then a sleeper starts. Had the sleeper inherited
     * the write end of cat's stdin, closing ours would not give cat EOF and
     * this communicate would time out. */
    struct proc cat, sleeper;
    REQUIRE_OK(proc_start(&cat, (char *[]){"cat", NULL},
                          &(struct proc_options){.in = PROC_PIPE_IO, .out = PROC_PIPE_IO}));
    REQUIRE_OK(proc_start(&sleeper, (char *[]){"sleep", "30", NULL}, NULL));
    /* close-on-exec also protects against children that other code forks */
    bool cloexec = fcntl(cat.stdin_fd, F_GETFD) & fcntl(cat.stdout_fd, F_GETFD) & FD_CLOEXEC;
    struct proc_bytes out;
    REQUIRE_OK(proc_communicate(&cat, "x", 1, 20, &out, NULL));
    REQUIRE(cloexec);
    REQUIRE(strcmp(out.data, "x") == 0);
    REQUIRE(proc_poll(&sleeper) == PROC_RUNNING);
    proc_kill(&sleeper);
    proc_fini(&sleeper);
    proc_fini(&cat);
}

static void no_inherited_descriptors(void)
{
    /* A descriptor the program opened without O_CLOEXEC, as a plain pipe()
     * or open() gives: Python's close_fds=True keeps it out of the child. */
    int fd = open("/dev/null", O_RDONLY);
    REQUIRE(fd > 2);
    char script[64];
    snprintf(script, sizeof script, "[ -e /proc/self/fd/%d ] && echo inherited", fd);
    struct proc_result result;
    REQUIRE_OK(proc_run(&result, (char *[]){"sh", "-c", script, NULL}, true, 20));
    REQUIRE(strcmp(result.out.data, "") == 0);
    proc_result_fini(&result);
    close(fd);
}

static void chain_ends_when_last_exits(void)
{
    /* yes | cat | head -c 1: head exits after one byte. cat then dies of
     * SIGPIPE, and yes after it: only if no one (the parent included) still
     * holds a read end of their pipes. We ignore SIGPIPE here (as Python
     * does): the children must still start with it at its default. */
    signal(SIGPIPE, SIG_IGN);
    struct proc yes, cat, head;
    REQUIRE_OK(
        proc_start(&yes, (char *[]){"yes", NULL}, &(struct proc_options){.out = PROC_PIPE_IO}));
    REQUIRE_OK(proc_start(&cat, (char *[]){"cat", NULL},
                          &(struct proc_options){.in = PROC_STDOUT_OF(&yes), .out = PROC_PIPE_IO}));
    REQUIRE(yes.stdout_fd == -1); /* the library closed the parent's copy */
    REQUIRE_OK(proc_start(&head, (char *[]){"head", "-c", "1", NULL},
                          &(struct proc_options){.in = PROC_STDOUT_OF(&cat), .out = PROC_PIPE_IO}));
    REQUIRE(cat.stdout_fd == -1);
    struct proc_bytes out;
    REQUIRE_OK(proc_communicate(&head, NULL, 0, 20, &out, NULL));
    REQUIRE(strcmp(out.data, "y") == 0 && head.returncode == 0);
    REQUIRE_OK(proc_communicate(&cat, NULL, 0, 20, NULL, NULL));
    REQUIRE_OK(proc_communicate(&yes, NULL, 0, 20, NULL, NULL));
    /* killed by SIGPIPE, not exiting on EPIPE: the ignored disposition was not inherited */
    REQUIRE(cat.returncode == -SIGPIPE);
    REQUIRE(yes.returncode == -SIGPIPE);
    proc_fini(&head);
    proc_fini(&cat);
    proc_fini(&yes);
}

static void stdout_of_needs_a_pipe(void)
{
    /* Misuse is a ValueError saying what is wrong, and starts nothing. */
    struct proc up, down, bad;
    REQUIRE_OK(
        proc_start(&up, (char *[]){"true", NULL}, &(struct proc_options){.out = PROC_PIPE_IO}));
    REQUIRE_OK(
        proc_start(&down, (char *[]){"cat", NULL},
                   &(struct proc_options){.in = PROC_STDOUT_OF(&up), .out = PROC_DEVNULL_IO}));
    int before = open_fds();
    expect_error(__LINE__,
                 proc_start(&bad, (char *[]){"cat", NULL},
                            &(struct proc_options){.in = PROC_STDOUT_OF(&up)}),
                 "ValueError", "['cat']: PROC_STDOUT_OF: stdout not a pipe, or handed on already");
    expect_error(__LINE__,
                 proc_start(&bad, (char *[]){"cat", NULL},
                            &(struct proc_options){.out = PROC_STDOUT_OF(&down)}),
                 "ValueError", "PROC_STDOUT_OF is for stdin only");
    REQUIRE(open_fds() == before);
    proc_fini(&bad); /* harmless after a failed start */
    REQUIRE_OK(proc_communicate(&down, NULL, 0, 20, NULL, NULL));
    REQUIRE(down.returncode == 0);
    proc_fini(&down);
    proc_fini(&up);
    REQUIRE(no_children());
}

static void hundred_children_leave_nothing(void)
{
    int before = open_fds();
    for (int i = 0; i < 80; i++) { /* 4 turns start 5 children: 100 in all */
        struct proc a, b;
        struct proc_bytes out;
        switch (i % 4) {
        case 0: /* all three streams piped */
            REQUIRE_OK(proc_start(&a, (char *[]){"cat", NULL},
                                  &(struct proc_options){.in = PROC_PIPE_IO,
                                                         .out = PROC_PIPE_IO,
                                                         .err = PROC_PIPE_IO}));
            REQUIRE_OK(proc_communicate(&a, "hi", 2, 20, &out, NULL));
            REQUIRE(strcmp(out.data, "hi") == 0);
            proc_fini(&a);
            break;
        case 1: /* a chain of two */
            REQUIRE_OK(proc_start(&a, (char *[]){"echo", "chain", NULL},
                                  &(struct proc_options){.out = PROC_PIPE_IO}));
            REQUIRE_OK(
                proc_start(&b, (char *[]){"cat", NULL},
                           &(struct proc_options){.in = PROC_STDOUT_OF(&a), .out = PROC_PIPE_IO}));
            REQUIRE_OK(proc_communicate(&b, NULL, 0, 20, &out, NULL));
            REQUIRE(strcmp(out.data, "chain\n") == 0);
            proc_fini(&a);
            proc_fini(&b);
            break;
        case 2: /* killed, then cleaned up without communicate */
            REQUIRE_OK(
                proc_start(&a, (char *[]){"sleep", "10", NULL},
                           &(struct proc_options){.in = PROC_DEVNULL_IO, .out = PROC_PIPE_IO}));
            proc_kill(&a);
            proc_fini(&a);
            break;
        default: /* run() */
        {
            struct proc_result result;
            REQUIRE_OK(proc_run(&result, (char *[]){"true", NULL}, true, 20));
            proc_result_fini(&result);
        }
        }
    }
    REQUIRE(no_children()); /* every child reaped: no zombies */
    int after = open_fds();
    if (after != before)
        fail(__LINE__, "%d descriptors open before, %d after", before, after);
}

/* ---- item52/pyrepr: Python's print(bytes) and f'{x:.3}' ---- */

static void expect_bytes_repr(int line, const char *data, size_t len, const char *want)
{
    char buf[PYREPR_BYTES_SIZE(16)];
    pyrepr_bytes(buf, sizeof buf, data, len);
    if (strcmp(buf, want) != 0)
        fail(line, "repr gave %s, Python gives %s", buf, want);
}

static void bytes_repr_like_python(void)
{
    /* Expected strings: printed by Python 3.11 for the same bytes. */
    expect_bytes_repr(__LINE__, "", 0, "b''");
    expect_bytes_repr(__LINE__, "abc", 3, "b'abc'");
    expect_bytes_repr(__LINE__, "it's", 4, "b\"it's\"");
    expect_bytes_repr(__LINE__, "'\"", 2, "b'\\'\"'");
    expect_bytes_repr(__LINE__, "a\"b", 3, "b'a\"b'");
    expect_bytes_repr(__LINE__, "'\\\"", 3, "b'\\'\\\\\"'");
    expect_bytes_repr(__LINE__, "\\", 1, "b'\\\\'");
    expect_bytes_repr(__LINE__, "\t\n\r", 3, "b'\\t\\n\\r'");
    expect_bytes_repr(__LINE__, "\x00\x7f\x80\xff\x1b ~", 7, "b'\\x00\\x7f\\x80\\xff\\x1b ~'");
    expect_bytes_repr(__LINE__,
                      "\x8c\xed\xc7m1\xf0"
                      "F4\xe6",
                      9, "b'\\x8c\\xed\\xc7m1\\xf0F4\\xe6'");
    /* too small a buffer: a clean prefix, terminated */
    char small[8];
    pyrepr_bytes(small, sizeof small, "\xff\xff", 2);
    REQUIRE(strcmp(small, "b'\\xff") == 0);
}

static void float_format_like_python(void)
{
    static const struct {
        double x;
        const char *want; /* f'{x:.3}' in Python 3.11 */
    } cases[] = {
        {1.0123, "1.01"},      {1.0, "1.0"},       {10.0, "10.0"}, {1000.0, "1e+03"},
        {0.999951, "1.0"},     {12.345, "12.3"},   {1.05, "1.05"}, {1.234e-05, "1.23e-05"},
        {123.456, "1.23e+02"}, {0.0001, "0.0001"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[32];
        pyrepr_float(buf, sizeof buf, cases[i].x, 3);
        if (strcmp(buf, cases[i].want) != 0)
            fail(__LINE__, "%g formatted as %s, Python gives %s", cases[i].x, buf, cases[i].want);
    }
}

static const struct expect_case cases[] = {
    {"communicate_8mib", communicate_8mib},
    {"stdout_and_stderr_apart", stdout_and_stderr_apart},
    {"input_needs_a_stdin_pipe", input_needs_a_stdin_pipe},
    {"timeout_then_terminate", timeout_then_terminate},
    {"kill_gives_minus_9", kill_gives_minus_9},
    {"timeout_keeps_output", timeout_keeps_output},
    {"exit_codes_exact", exit_codes_exact},
    {"run_and_check_returncode", run_and_check_returncode},
    {"run_timeout_kills", run_timeout_kills},
    {"run_timeout_ignores_grandchild", run_timeout_ignores_grandchild},
    {"eintr_is_retried", eintr_is_retried},
    {"missing_command_is_an_error", missing_command_is_an_error},
    {"environment_reaches_child", environment_reaches_child},
    {"devnull_and_fd", devnull_and_fd},
    {"works_with_stdio_closed", works_with_stdio_closed},
    {"write_to_exited_child", write_to_exited_child},
    {"no_inherited_pipes", no_inherited_pipes},
    {"no_inherited_descriptors", no_inherited_descriptors},
    {"chain_ends_when_last_exits", chain_ends_when_last_exits},
    {"stdout_of_needs_a_pipe", stdout_of_needs_a_pipe},
    {"hundred_children_leave_nothing", hundred_children_leave_nothing},
    {"bytes_repr_like_python", bytes_repr_like_python},
    {"float_format_like_python", float_format_like_python},
};

int main(int argc, char **argv)
{
    expect_on_failure(kill_children);
    return EXPECT_MAIN(argc, argv, cases);
}
