/* test_cpython_subprocess: common/subprocess held to CPython's own tests for
 * the subprocess module (Lib/test/test_subprocess.py). Each case is named
 * after the CPython test it checks and checks what that test checks, with
 * sh, cat and friends in the place of `python -c`; tests/lib_cpython.bats
 * runs them one per process, under `timeout`.
 *
 *   tests/unit/test_cpython_subprocess [CASE...]   run those cases, or all (tests/unit/expect.h)
 *   tests/unit/test_cpython_subprocess --list      the case names
 *
 * Where CPython sleeps so that a child is still running (or has finished),
 * the child here waits on a named pipe that only the test writes to, or the
 * test waits for the child's exit with waitid(WNOWAIT): events, not time.
 * Every check is a REQUIRE: the first failure ends the program, after
 * killing the children it left; a case that leaves one behind fails. The
 * CPython cases that do not apply are listed in common/subprocess.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "expect.h"
#include "pyrepr.h"
#include "subprocess.h"

static char gate_dir[64]; /* a temporary directory to remove, if a case made one */

#define SH(script) ((char *[]){"sh", "-c", (script), NULL})
#define PIPES_IN_OUT ((struct proc_options){.in = PROC_PIPE_IO, .out = PROC_PIPE_IO})
#define PIPES_OUT_ERR ((struct proc_options){.out = PROC_PIPE_IO, .err = PROC_PIPE_IO})
#define PIPES_ALL                                                                                  \
    ((struct proc_options){.in = PROC_PIPE_IO, .out = PROC_PIPE_IO, .err = PROC_PIPE_IO})

/* ---- failing without leaving anything behind ---- */

/* Kill our own children, found in /proc by their parent pid. */
static void kill_children(void)
{
    DIR *dir = opendir("/proc");
    if (!dir)
        return;
    for (struct dirent *d; (d = readdir(dir));) {
        char path[300], stat[512];
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

static void remove_gate(void)
{
    if (gate_dir[0]) {
        char path[128];
        snprintf(path, sizeof path, "%s/gate", gate_dir);
        unlink(path);
        rmdir(gate_dir);
        gate_dir[0] = '\0';
    }
}

/* What a failed case leaves: its children (and theirs reaped), its gate. */
static void clean_up_after_failure(void)
{
    kill_children();
    while (waitpid(-1, NULL, 0) > 0)
        ;
    remove_gate();
}

/* A failure at that line, with its own message: the program stops. */
#define fail(line, ...) (expect_fail(__FILE__, (line), __VA_ARGS__), expect_stop())

#define REQUIRE_OK(call)                                                                           \
    do {                                                                                           \
        struct error *e_ = (call);                                                                 \
        if (e_)                                                                                    \
            fail(__LINE__, "%s returned %s: %s", #call, e_->type, e_->message);                    \
    } while (0)

/* Expect an error of that type whose message contains `part`; free it. */
#define REQUIRE_ERROR(call, type, part) expect_error(__LINE__, (call), (type), (part))
static void expect_error(int line, struct error *e, const char *type, const char *part)
{
    if (!e)
        fail(line, "expected %s, got success", type);
    if (strcmp(e->type, type) != 0 || !strstr(e->message, part))
        fail(line, "expected %s containing \"%s\", got %s: %s", type, part, e->type, e->message);
    error_free(e);
}

/* ---- helpers ---- */

static int open_fds(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        fail(__LINE__, "opendir /proc/self/fd: %s", strerror(errno));
    int n = 0;
    while (readdir(dir))
        n++;
    closedir(dir);
    return n;
}

static bool no_children(void)
{
    return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

/* run(argv, capture_output=True): the result, which the caller finishes. */
static struct proc_result run_capture(char *const argv[])
{
    struct proc_result r;
    REQUIRE_OK(proc_run(&r, argv, true, 60));
    return r;
}

static int run_rc(char *const argv[])
{
    struct proc_result r;
    REQUIRE_OK(proc_run(&r, argv, false, 60));
    int rc = r.returncode;
    proc_result_fini(&r);
    return rc;
}

/* An unlinked temporary file holding `text`, positioned at its start. */
static int temp_file(const char *text)
{
    char path[] = "/tmp/test_cpython_subprocess.XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    unlink(path);
    size_t len = strlen(text);
    REQUIRE(write(fd, text, len) == (ssize_t)len);
    REQUIRE(lseek(fd, 0, SEEK_SET) == 0);
    return fd;
}

/* What fd holds, from its start (a static buffer). */
static const char *file_text(int fd)
{
    static char buf[4096];
    REQUIRE(lseek(fd, 0, SEEK_SET) == 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    REQUIRE(n >= 0);
    buf[n] = '\0';
    return buf;
}

/* The gate: a named pipe a child blocks on (`read x < GATE`) until the test
 * opens it, so "the child is still running" holds without a sleep. */
static const char *gate_create(void)
{
    static char path[128];
    snprintf(gate_dir, sizeof gate_dir, "/tmp/test_cpython_subprocess.XXXXXX");
    REQUIRE(mkdtemp(gate_dir) != NULL);
    snprintf(path, sizeof path, "%s/gate", gate_dir);
    REQUIRE(mkfifo(path, 0600) == 0);
    return path;
}

static void gate_open(void)
{
    char path[128];
    snprintf(path, sizeof path, "%s/gate", gate_dir);
    int fd = open(path, O_WRONLY | O_CLOEXEC); /* blocks until the child opens it to read */
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, "go\n", 3) == 3);
    close(fd);
}

/* A script that waits at the gate: "<before>; read x < GATE; <after>". */
static char *gated(const char *before, const char *after)
{
    static char script[512];
    const char *gate = gate_create();
    snprintf(script, sizeof script, "%s read x < %s; %s", before, gate, after);
    return script;
}

/* Block until the child has exited, without reaping it (so the library still must). */
static void wait_exited_unreaped(const struct proc *proc)
{
    siginfo_t info;
    while (waitid(P_PID, (id_t)proc->pid, &info, WEXITED | WNOWAIT) == -1)
        REQUIRE(errno == EINTR);
}

/* ---- ProcessTestCase: call, check_call, check_output ---- */

static void test_call_seq(void)
{
    REQUIRE(run_rc(SH("exit 47")) == 47);
}

static void test_call_timeout(void)
{
    /* The child must be killed when the timeout expires, or run would wait for ever. */
    struct proc_result r;
    REQUIRE_ERROR(proc_run(&r, (char *[]){"sleep", "3600", NULL}, false, 0.1), "TimeoutExpired",
                  "timed out after 0.1 seconds");
    REQUIRE(r.returncode == -SIGKILL);
    proc_result_fini(&r);
    REQUIRE(no_children());
}

static void test_check_call_zero(void)
{
    struct proc_result r;
    REQUIRE_OK(proc_run(&r, (char *[]){"true", NULL}, false, 60));
    REQUIRE(r.returncode == 0);
    REQUIRE_OK(proc_check_returncode(&r));
    proc_result_fini(&r);
}

static void test_check_call_nonzero(void)
{
    struct proc_result r;
    REQUIRE_OK(proc_run(&r, SH("exit 47"), false, 60));
    REQUIRE(r.returncode == 47);
    REQUIRE_ERROR(proc_check_returncode(&r), "CalledProcessError", "non-zero exit status 47.");
    proc_result_fini(&r);
}

static void test_check_output(void)
{
    struct proc_result r = run_capture((char *[]){"echo", "BDFL", NULL});
    REQUIRE(strstr(r.out.data, "BDFL"));
    REQUIRE_OK(proc_check_returncode(&r));
    proc_result_fini(&r);
}

static void test_check_output_nonzero(void)
{
    struct proc_result r = run_capture(SH("exit 5"));
    REQUIRE(r.returncode == 5);
    REQUIRE_ERROR(proc_check_returncode(&r), "CalledProcessError", "exit status 5.");
    proc_result_fini(&r);
}

static void test_check_output_stdin_arg(void)
{
    int fd = temp_file("pear");
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, (char *[]){"tr", "a-z", "A-Z", NULL},
                          &(struct proc_options){.in = PROC_FD_IO(fd), .out = PROC_PIPE_IO}));
    struct proc_bytes out;
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, 60, &out, NULL));
    REQUIRE(strstr(out.data, "PEAR"));
    proc_fini(&proc);
    close(fd);
}

static void test_check_output_input_arg(void)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, (char *[]){"tr", "a-z", "A-Z", NULL}, &PIPES_IN_OUT));
    struct proc_bytes out;
    REQUIRE_OK(proc_communicate(&proc, "pear", 4, 60, &out, NULL));
    REQUIRE(strstr(out.data, "PEAR"));
    proc_fini(&proc);
}

static void test_check_output_timeout(void)
{
    /* What was read before the timeout is kept (TimeoutExpired.output), and
     * the timeout prints as Python prints timeout=3: "3.0". */
    struct proc_result r;
    REQUIRE_ERROR(
        proc_run(&r, SH("echo BDFL; exec sleep 3600"), true, 3), "TimeoutExpired",
        "Command '['sh', '-c', 'echo BDFL; exec sleep 3600']' timed out after 3.0 seconds");
    REQUIRE(r.out.data && strcmp(r.out.data, "BDFL\n") == 0);
    proc_result_fini(&r);
}

static void test_call_kwargs(void)
{
    char **env = proc_environ_with((const char *[]){"FRUIT=banana", NULL});
    struct proc proc;
    REQUIRE_OK(
        proc_start(&proc, SH("[ \"$FRUIT\" = banana ]"), &(struct proc_options){.env = env}));
    REQUIRE_OK(proc_wait(&proc, PROC_FOREVER));
    REQUIRE(proc.returncode == 0);
    proc_fini(&proc);
    proc_environ_free(env);
}

/* ---- ProcessTestCase: the three streams ---- */

static void test_stdin_none(void)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, (char *[]){"echo", "banana", NULL}, &PIPES_OUT_ERR));
    REQUIRE(proc.stdin_fd == -1);
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, 60, NULL, NULL));
    proc_fini(&proc);
}

static void test_stdout_none(void)
{
    /* stdout not redirected: the child writes to ours (a pipe read here). */
    int fds[2];
    REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
    int saved = dup(1);
    dup2(fds[1], 1);
    close(fds[1]);
    struct proc proc;
    struct error *e = proc_start(&proc, (char *[]){"echo", "test_stdout_none", NULL},
                                 &(struct proc_options){.in = PROC_PIPE_IO, .err = PROC_PIPE_IO});
    int stdout_fd = e ? 0 : proc.stdout_fd;
    if (!e)
        e = proc_communicate(&proc, NULL, 0, 60, NULL, NULL);
    dup2(saved, 1);
    close(saved);
    REQUIRE_OK(e);
    REQUIRE(stdout_fd == -1);
    char buf[64] = "";
    REQUIRE(read(fds[0], buf, sizeof buf - 1) > 0);
    REQUIRE(strcmp(buf, "test_stdout_none\n") == 0);
    close(fds[0]);
    proc_fini(&proc);
}

static void test_stderr_none(void)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, (char *[]){"echo", "banana", NULL}, &PIPES_IN_OUT));
    REQUIRE(proc.stderr_fd == -1);
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, 60, NULL, NULL));
    proc_fini(&proc);
}

static void test_stdin_pipe(void)
{
    struct proc proc;
    REQUIRE_OK(
        proc_start(&proc, SH("[ \"$(cat)\" = pear ]"), &(struct proc_options){.in = PROC_PIPE_IO}));
    REQUIRE_OK(proc_write(&proc, "pear", 4));
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, 60, NULL, NULL)); /* closes stdin, waits */
    REQUIRE(proc.returncode == 0);
    proc_fini(&proc);
}

static void test_stdin_filedes(void)
{
    int fd = temp_file("pear");
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH("[ \"$(cat)\" = pear ]"),
                          &(struct proc_options){.in = PROC_FD_IO(fd)}));
    REQUIRE_OK(proc_wait(&proc, PROC_FOREVER));
    REQUIRE(proc.returncode == 0);
    proc_fini(&proc);
    close(fd);
}

static void test_stdout_pipe(void)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH("printf orange"), &(struct proc_options){.out = PROC_PIPE_IO}));
    struct proc_bytes out;
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, 60, &out, NULL));
    REQUIRE(strcmp(out.data, "orange") == 0);
    proc_fini(&proc);
}

static void test_stdout_filedes(void)
{
    int fd = temp_file("");
    struct proc proc;
    REQUIRE_OK(
        proc_start(&proc, SH("printf orange"), &(struct proc_options){.out = PROC_FD_IO(fd)}));
    REQUIRE_OK(proc_wait(&proc, PROC_FOREVER));
    REQUIRE(strcmp(file_text(fd), "orange") == 0);
    proc_fini(&proc);
    close(fd);
}

static void test_stderr_pipe(void)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH("printf strawberry >&2"),
                          &(struct proc_options){.err = PROC_PIPE_IO}));
    struct proc_bytes err;
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, 60, NULL, &err));
    REQUIRE(strcmp(err.data, "strawberry") == 0);
    proc_fini(&proc);
}

static void test_stderr_filedes(void)
{
    int fd = temp_file("");
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH("printf strawberry >&2"),
                          &(struct proc_options){.err = PROC_FD_IO(fd)}));
    REQUIRE_OK(proc_wait(&proc, PROC_FOREVER));
    REQUIRE(strcmp(file_text(fd), "strawberry") == 0);
    proc_fini(&proc);
    close(fd);
}

/* 10 MiB to /dev/null: it must not block on a pipe no one reads. */
static void test_stdout_devnull(void)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH("head -c 10485760 /dev/zero"),
                          &(struct proc_options){.out = PROC_DEVNULL_IO}));
    REQUIRE(proc.stdout_fd == -1);
    REQUIRE_OK(proc_wait(&proc, PROC_FOREVER));
    REQUIRE(proc.returncode == 0);
    proc_fini(&proc);
}

static void test_stderr_devnull(void)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH("head -c 10485760 /dev/zero >&2"),
                          &(struct proc_options){.err = PROC_DEVNULL_IO}));
    REQUIRE(proc.stderr_fd == -1);
    REQUIRE_OK(proc_wait(&proc, PROC_FOREVER));
    REQUIRE(proc.returncode == 0);
    proc_fini(&proc);
}

static void test_stdin_devnull(void)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH("head -c 1 >/dev/null"),
                          &(struct proc_options){.in = PROC_DEVNULL_IO}));
    REQUIRE(proc.stdin_fd == -1);
    REQUIRE_OK(proc_wait(&proc, PROC_FOREVER)); /* EOF at once, no hang */
    proc_fini(&proc);
}

static void test_env(void)
{
    char **env = proc_environ_with((const char *[]){"FRUIT=orange", NULL});
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH("printf %s \"$FRUIT\""),
                          &(struct proc_options){.env = env, .out = PROC_PIPE_IO}));
    struct proc_bytes out;
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, 60, &out, NULL));
    REQUIRE(strcmp(out.data, "orange") == 0);
    proc_fini(&proc);
    proc_environ_free(env);
}

static void test_empty_env(void)
{
    /* env={}: the child's environment is empty (PATH is searched with ours). */
    char *empty[] = {NULL};
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, (char *[]){"env", NULL},
                          &(struct proc_options){.env = empty, .out = PROC_PIPE_IO}));
    struct proc_bytes out;
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, 60, &out, NULL));
    REQUIRE(out.len == 0);
    REQUIRE(proc.returncode == 0);
    proc_fini(&proc);
}

/* ---- ProcessTestCase: communicate ---- */

static void test_communicate_stdin(void)
{
    struct proc proc;
    REQUIRE_OK(
        proc_start(&proc, SH("[ \"$(cat)\" = pear ]"), &(struct proc_options){.in = PROC_PIPE_IO}));
    REQUIRE_OK(proc_communicate(&proc, "pear", 4, 60, NULL, NULL));
    REQUIRE(proc.returncode == 0);
    proc_fini(&proc);
}

static void test_communicate_stdout(void)
{
    struct proc proc;
    REQUIRE_OK(
        proc_start(&proc, SH("printf pineapple"), &(struct proc_options){.out = PROC_PIPE_IO}));
    struct proc_bytes out, err;
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, 60, &out, &err));
    REQUIRE(strcmp(out.data, "pineapple") == 0);
    REQUIRE(err.data == NULL); /* Python's None: not a pipe */
    proc_fini(&proc);
}

static void test_communicate_stderr(void)
{
    struct proc proc;
    REQUIRE_OK(
        proc_start(&proc, SH("printf pineapple >&2"), &(struct proc_options){.err = PROC_PIPE_IO}));
    struct proc_bytes out, err;
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, 60, &out, &err));
    REQUIRE(out.data == NULL);
    REQUIRE(strcmp(err.data, "pineapple") == 0);
    proc_fini(&proc);
}

static void test_communicate(void)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH("printf pineapple >&2; cat"), &PIPES_ALL));
    struct proc_bytes out, err;
    REQUIRE_OK(proc_communicate(&proc, "banana", 6, 60, &out, &err));
    REQUIRE(strcmp(out.data, "banana") == 0);
    REQUIRE(strcmp(err.data, "pineapple") == 0);
    proc_fini(&proc);
}

static void test_communicate_timeout(void)
{
    /* The child writes to stderr, waits (at the gate, where CPython sleeps
     * 1 s), writes again and echoes its input. The first call times out; a
     * call without input then gets the whole output, the input of the first
     * call included. */
    struct proc proc;
    REQUIRE_OK(
        proc_start(&proc, SH(gated("echo pineapple >&2;", "echo pear >&2; cat")), &PIPES_ALL));
    REQUIRE_ERROR(proc_communicate(&proc, "banana", 6, 0.3, NULL, NULL), "TimeoutExpired",
                  "timed out after 0.3 seconds");
    gate_open();
    struct proc_bytes out, err;
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, PROC_FOREVER, &out, &err));
    REQUIRE(strcmp(out.data, "banana") == 0);
    REQUIRE(strcmp(err.data, "pineapple\npear\n") == 0);
    proc_fini(&proc);
    remove_gate();
}

static void test_communicate_timeout_large_output(void)
{
    /* 64 KiB, a wait (CPython: sleeps), then 3 x 64 KiB more: nothing read
     * before the timeout is lost. */
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH(gated("head -c 65536 /dev/zero;", "head -c 196608 /dev/zero")),
                          &(struct proc_options){.out = PROC_PIPE_IO}));
    REQUIRE_ERROR(proc_communicate(&proc, NULL, 0, 0.4, NULL, NULL), "TimeoutExpired", "timed out");
    gate_open();
    struct proc_bytes out;
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, PROC_FOREVER, &out, NULL));
    REQUIRE(out.len == 4 * 64 * 1024);
    proc_fini(&proc);
    remove_gate();
}

static void test_communicate_pipe_fd_leak(void)
{
    /* Every combination of pipes: communicate closes each one it used. */
    for (int mask = 1; mask < 8; mask++) {
        struct proc_options opts = {0};
        if (mask & 1)
            opts.in = PROC_PIPE_IO;
        if (mask & 2)
            opts.out = PROC_PIPE_IO;
        if (mask & 4)
            opts.err = PROC_PIPE_IO;
        int before = open_fds();
        struct proc proc;
        REQUIRE_OK(proc_start(&proc, (char *[]){"true", NULL}, &opts));
        REQUIRE_OK(proc_communicate(&proc, NULL, 0, 60, NULL, NULL));
        REQUIRE(proc.stdin_fd == -1 && proc.stdout_fd == -1 && proc.stderr_fd == -1);
        REQUIRE(open_fds() == before);
        proc_fini(&proc);
    }
}

static void test_communicate_returns(void)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH("exit 47"), NULL));
    struct proc_bytes out, err;
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, 60, &out, &err));
    REQUIRE(out.data == NULL && err.data == NULL); /* (None, None): nothing redirected */
    REQUIRE(proc.returncode == 47);
    proc_fini(&proc);
}

#define PIPE_MAX_SIZE (4 * 1024 * 1024 + 1) /* test.support's: more than any pipe holds */

static void test_communicate_pipe_buf(void)
{
    /* The child echoes a first read, writes PIPE_MAX_SIZE bytes to stderr,
     * then echoes the rest: a communicate that wrote all the input before
     * reading would deadlock against the full stderr pipe. */
    char script[160];
    snprintf(script, sizeof script, "dd bs=47 count=1 2>/dev/null; head -c %d /dev/zero >&2; cat",
             PIPE_MAX_SIZE);
    char *input = malloc(PIPE_MAX_SIZE);
    REQUIRE(input);
    memset(input, 'a', PIPE_MAX_SIZE);
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH(script), &PIPES_ALL));
    struct proc_bytes out, err;
    REQUIRE_OK(proc_communicate(&proc, input, PIPE_MAX_SIZE, PROC_FOREVER, &out, &err));
    REQUIRE(out.len == PIPE_MAX_SIZE && memcmp(out.data, input, PIPE_MAX_SIZE) == 0);
    REQUIRE(err.len == PIPE_MAX_SIZE);
    proc_fini(&proc);
    free(input);
}

static void test_writes_before_communicate(void)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, (char *[]){"cat", NULL}, &PIPES_ALL));
    REQUIRE_OK(proc_write(&proc, "banana", 6));
    struct proc_bytes out, err;
    REQUIRE_OK(proc_communicate(&proc, "split", 5, 60, &out, &err));
    REQUIRE(strcmp(out.data, "bananasplit") == 0);
    REQUIRE(err.len == 0);
    proc_fini(&proc);
}

/* Not from CPython: its rule that a retry brings no input of its own. */
static void input_after_starting_communication_is_refused(void)
{
    /* The input of the first call is kept; new input on a retry would be
     * silently dropped, so Python raises ValueError, and so must we. */
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH(gated("", "cat")), &PIPES_IN_OUT));
    REQUIRE_ERROR(proc_communicate(&proc, "banana", 6, 0.1, NULL, NULL), "TimeoutExpired",
                  "timed out");
    REQUIRE_ERROR(proc_communicate(&proc, "split", 5, 0.1, NULL, NULL), "ValueError",
                  "Cannot send input after starting communication");
    gate_open();
    struct proc_bytes out;
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, PROC_FOREVER, &out, NULL));
    REQUIRE(strcmp(out.data, "banana") == 0);
    proc_fini(&proc);
    remove_gate();
}

static void test_no_leaking(void)
{
    /* With only a few descriptors to spare, 15 children in a row each get
     * three pipes: one leaking descriptor per child would run out. */
    struct rlimit old, low;
    REQUIRE(getrlimit(RLIMIT_NOFILE, &old) == 0);
    low = old;
    low.rlim_cur = (rlim_t)open_fds() + 20;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
    for (int i = 0; i < 15; i++) {
        struct proc proc;
        REQUIRE_OK(proc_start(&proc, (char *[]){"cat", NULL}, &PIPES_ALL));
        struct proc_bytes out;
        REQUIRE_OK(proc_communicate(&proc, "lime", 4, 60, &out, NULL));
        REQUIRE(strcmp(out.data, "lime") == 0);
        proc_fini(&proc);
    }
    REQUIRE(setrlimit(RLIMIT_NOFILE, &old) == 0);
}

/* ---- ProcessTestCase: poll, wait, errors ---- */

static void test_poll(void)
{
    struct proc proc;
    REQUIRE_OK(
        proc_start(&proc, SH("head -c 1 >/dev/null"), &(struct proc_options){.in = PROC_PIPE_IO}));
    REQUIRE(proc_poll(&proc) == PROC_RUNNING);
    REQUIRE_OK(proc_write(&proc, "A", 1));
    REQUIRE_OK(proc_wait(&proc, PROC_FOREVER));
    REQUIRE(proc_poll(&proc) == 0); /* later calls just return the return code */
    proc_fini(&proc);
}

static void test_wait(void)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, (char *[]){"true", NULL}, NULL));
    REQUIRE_OK(proc_wait(&proc, PROC_FOREVER));
    REQUIRE(proc.returncode == 0);
    REQUIRE_OK(proc_wait(&proc, PROC_FOREVER));
    REQUIRE(proc.returncode == 0);
    proc_fini(&proc);
}

static void test_wait_timeout(void)
{
    struct proc proc;
    REQUIRE_OK(
        proc_start(&proc, (char *[]){"cat", NULL}, &(struct proc_options){.in = PROC_PIPE_IO}));
    REQUIRE_ERROR(proc_wait(&proc, 0.0001), "TimeoutExpired", "0.0001");
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, PROC_FOREVER, NULL, NULL)); /* EOF: cat ends */
    REQUIRE(proc.returncode == 0);
    proc_fini(&proc);
}

/* Not from CPython: TimeoutExpired shows the timeout as Python's repr of the
 * float (common/pyrepr's pyrepr_float_repr), checked against Python 3.11. */
static void timeout_shown_as_python_float_repr(void)
{
    static const struct {
        double timeout;
        const char *shown;
    } waits[] = {
        {0.0, "after 0.0 seconds"},         {1e-05, "after 1e-05 seconds"},
        {2.5e-07, "after 2.5e-07 seconds"}, {0.1 + 0.2, "after 0.30000000000000004 seconds"},
        {0.125, "after 0.125 seconds"},
    };
    struct proc proc;
    REQUIRE_OK(
        proc_start(&proc, (char *[]){"cat", NULL}, &(struct proc_options){.in = PROC_PIPE_IO}));
    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++)
        REQUIRE_ERROR(proc_wait(&proc, waits[i].timeout), "TimeoutExpired", waits[i].shown);
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, PROC_FOREVER, NULL, NULL));
    proc_fini(&proc);

    static const struct {
        double x;
        const char *repr;
    } values[] = {
        {3.0, "3.0"},
        {1e16, "1e+16"},
        {1e15, "1000000000000000.0"},
        {123456789.5, "123456789.5"},
        {-0.0, "-0.0"},
        {1e22, "1e+22"},
        {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {0.1, "0.1"},
        {100.0, "100.0"},
        {1e-4, "0.0001"},
        {1.5e-5, "1.5e-05"},
        {12345678901234567890.0, "1.2345678901234567e+19"},
        {NAN, "nan"},
        {INFINITY, "inf"},
        {-INFINITY, "-inf"},
        {0x1p-20, "9.5367431640625e-07"},
        {-2.5, "-2.5"},
        {1.0 / 3, "0.3333333333333333"},
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char buf[32];
        pyrepr_float_repr(buf, sizeof buf, values[i].x);
        if (strcmp(buf, values[i].repr) != 0)
            fail(__LINE__, "repr(%.17g) came out as %s, Python gives %s", values[i].x, buf,
                 values[i].repr);
    }
}

static void test_leaking_fds_on_error(void)
{
    /* 1024 failed starts with two pipes each: leaking them would exhaust the fds. */
    int before = open_fds();
    for (int i = 0; i < 1024; i++) {
        struct proc proc;
        REQUIRE_ERROR(proc_start(&proc, (char *[]){"nonexisting_i_hope", NULL}, &PIPES_OUT_ERR),
                      "FileNotFoundError", "nonexisting_i_hope");
    }
    REQUIRE(open_fds() == before);
    REQUIRE(no_children());
}

static void test_communicate_epipe(void)
{
    signal(SIGPIPE, SIG_DFL); /* a SIGPIPE that reached us would kill the test */
    static char data[1 << 20];
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, (char *[]){"true", NULL}, &PIPES_ALL));
    REQUIRE_OK(proc_communicate(&proc, data, sizeof data, 60, NULL, NULL)); /* EPIPE is hidden */
    proc_fini(&proc);
}

static void test_communicate_epipe_only_stdin(void)
{
    signal(SIGPIPE, SIG_DFL);
    static char data[1 << 20];
    struct proc proc;
    REQUIRE_OK(
        proc_start(&proc, (char *[]){"true", NULL}, &(struct proc_options){.in = PROC_PIPE_IO}));
    REQUIRE_OK(proc_wait(&proc, PROC_FOREVER));
    REQUIRE_OK(proc_communicate(&proc, data, sizeof data, 60, NULL, NULL));
    proc_fini(&proc);
}

static void on_usr1(int sig)
{
    (void)sig;
}

static void test_communicate_eintr(void)
{
    /* The child signals us while communicate waits: the interrupted call is retried. */
    struct sigaction sa = {.sa_handler = on_usr1}; /* no SA_RESTART: calls fail with EINTR */
    sigemptyset(&sa.sa_mask);
    REQUIRE(sigaction(SIGUSR1, &sa, NULL) == 0);
    struct proc_options streams[2] = {{.out = PROC_PIPE_IO}, {.err = PROC_PIPE_IO}};
    for (int i = 0; i < 2; i++) {
        struct proc proc;
        REQUIRE_OK(proc_start(&proc, SH("kill -USR1 $PPID"), &streams[i]));
        REQUIRE_OK(proc_communicate(&proc, NULL, 0, PROC_FOREVER, NULL, NULL));
        REQUIRE(proc.returncode == 0);
        proc_fini(&proc);
    }
}

static void test_failed_child_execute_fd_leak(void)
{
    int before = open_fds();
    struct proc proc;
    REQUIRE_ERROR(proc_start(&proc, (char *[]){"nonexisting_i_hope", NULL}, &PIPES_ALL),
                  "FileNotFoundError", "No such file or directory");
    REQUIRE(open_fds() == before);
}

static void test_file_not_found_includes_filename(void)
{
    struct proc_result r;
    REQUIRE_ERROR(proc_run(&r, (char *[]){"/opt/nonexistent_binary", "with", "some", "args", NULL},
                           false, 60),
                  "FileNotFoundError", ": '/opt/nonexistent_binary'");
    proc_result_fini(&r);
}

/* ---- RunFuncTestCase ---- */

static void test_returncode(void)
{
    struct proc_result r;
    REQUIRE_OK(proc_run(&r, SH("exit 47"), false, 60));
    REQUIRE(r.returncode == 47);
    REQUIRE_ERROR(proc_check_returncode(&r), "CalledProcessError", "47");
    proc_result_fini(&r);
}

static void test_timeout(void)
{
    struct proc_result r;
    REQUIRE_ERROR(proc_run(&r, SH("while :; do :; done"), false, 0.0001), "TimeoutExpired",
                  "timed out after 0.0001 seconds");
    proc_result_fini(&r);
    REQUIRE(no_children());
}

static void test_capture_stdout(void)
{
    struct proc_result r = run_capture((char *[]){"echo", "BDFL", NULL});
    REQUIRE(strstr(r.out.data, "BDFL"));
    proc_result_fini(&r);
}

static void test_capture_stderr(void)
{
    struct proc_result r = run_capture(SH("printf BDFL >&2"));
    REQUIRE(strstr(r.err.data, "BDFL"));
    proc_result_fini(&r);
}

static void test_capture_output(void)
{
    struct proc_result r = run_capture(SH("printf BDFL; printf FLUFL >&2"));
    REQUIRE(strstr(r.out.data, "BDFL"));
    REQUIRE(strstr(r.err.data, "FLUFL"));
    proc_result_fini(&r);
}

static void test_run_with_shell_timeout_and_capture_output(void)
{
    /* A grandchild holds the output pipes open: run must return once the
     * child is killed, not wait for their EOF (CPython bounds it at 1.5 s;
     * here the suite's `timeout` does). The grandchild's pid comes first. */
    struct proc_result r;
    REQUIRE_ERROR(proc_run(&r, SH("sleep 30 & echo $!; exec sleep 3600"), true, 1),
                  "TimeoutExpired", "timed out after 1.0 seconds");
    long grandchild = r.out.data ? atol(r.out.data) : 0;
    if (grandchild > 0)
        kill((pid_t)grandchild, SIGKILL);
    REQUIRE(grandchild > 0);
    proc_result_fini(&r);
}

/* ---- POSIXProcessTestCase ---- */

static void test_exception_bad_args_0(void)
{
    struct proc proc;
    REQUIRE_ERROR(
        proc_start(&proc, (char *[]){"/_this/pa.th/does/not/exist", "-c", "", NULL}, NULL),
        "FileNotFoundError", "[Errno 2] No such file or directory: '/_this/pa.th/does/not/exist'");
}

/* The bits of one "Sig...:" line of the child's /proc/self/status. */
static unsigned long long child_signal_bits(const char *field)
{
    struct proc_result r = run_capture((char *[]){"cat", "/proc/self/status", NULL});
    const char *line = strstr(r.out.data, field);
    unsigned long long bits = 0;
    REQUIRE(line && sscanf(line + strlen(field), " %llx", &bits) == 1);
    proc_result_fini(&r);
    return bits;
}

#define BIT(sig) (1ULL << ((sig)-1))

static void test_restore_signals(void)
{
    /* restore_signals=True: SIGPIPE and SIGXFSZ are back at their default in
     * the child although we ignore them; another signal we ignore stays
     * ignored (exec keeps SIG_IGN); glibc's 32 and 33 are not ignored. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);
    signal(SIGUSR2, SIG_IGN);
    unsigned long long ignored = child_signal_bits("SigIgn:");
    REQUIRE(!(ignored & BIT(SIGPIPE)));
    REQUIRE(!(ignored & BIT(SIGXFSZ)));
    REQUIRE(ignored & BIT(SIGUSR2));
    REQUIRE(!(ignored & (BIT(32) | BIT(33))));
}

/* Not from CPython: the child keeps the parent's signal mask, as Python's do. */
static void child_inherits_the_signal_mask(void)
{
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    REQUIRE(pthread_sigmask(SIG_BLOCK, &block, NULL) == 0);
    unsigned long long blocked = child_signal_bits("SigBlk:");
    REQUIRE(blocked & BIT(SIGUSR1));
    REQUIRE(!(blocked & BIT(SIGUSR2)));
}

static void test_run_abort(void)
{
    REQUIRE(run_rc(SH("kill -ABRT $$")) == -SIGABRT);
}

static struct proc_result fake_result(int returncode)
{
    static char args[] = "fake cmd";
    return (struct proc_result){.args = args, .returncode = returncode};
}

static void test_CalledProcessError_str_signal(void)
{
    struct proc_result r = fake_result(-SIGABRT);
    REQUIRE_ERROR(proc_check_returncode(&r), "CalledProcessError",
                  "Command 'fake cmd' died with <Signals.SIGABRT: 6>.");
}

static void test_CalledProcessError_str_unknown_signal(void)
{
    struct proc_result r = fake_result(-9876543);
    REQUIRE_ERROR(proc_check_returncode(&r), "CalledProcessError", "unknown signal 9876543.");
}

static void test_CalledProcessError_str_non_zero(void)
{
    struct proc_result r = fake_result(2);
    REQUIRE_ERROR(proc_check_returncode(&r), "CalledProcessError", "non-zero exit status 2.");
}

/* Not from CPython: every number gets Python's name, or Python's "unknown signal". */
static void signal_names_as_python_names_them(void)
{
    static const struct {
        int sig;
        const char *shown;
    } cases[] = {
        {SIGIO, "died with <Signals.SIGIO: 29>."}, /* sigabbrev_np says POLL */
        {SIGCHLD, "died with <Signals.SIGCHLD: 17>."},
        {SIGTERM, "died with <Signals.SIGTERM: 15>."},
        {32, "died with unknown signal 32."},
        {33, "died with unknown signal 33."},
        {34, "died with <Signals.SIGRTMIN: 34>."},
        {35, "died with unknown signal 35."},
        {63, "died with unknown signal 63."},
        {64, "died with <Signals.SIGRTMAX: 64>."},
        {65, "died with unknown signal 65."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct proc_result r = fake_result(-cases[i].sig);
        REQUIRE_ERROR(proc_check_returncode(&r), "CalledProcessError", cases[i].shown);
    }
}

/* _kill_process: a child that is running for sure (it has written "x"). */
static void start_running(struct proc *proc)
{
    signal(SIGINT, SIG_DFL); /* CPython too: a child must not inherit an ignored SIGINT */
    REQUIRE_OK(proc_start(proc, SH("echo x; exec cat"), &PIPES_ALL));
    char c;
    REQUIRE(read(proc->stdout_fd, &c, 1) == 1 && c == 'x');
}

static void test_send_signal(void)
{
    struct proc proc;
    start_running(&proc);
    REQUIRE(proc_send_signal(&proc, SIGINT) == 0);
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, PROC_FOREVER, NULL, NULL));
    REQUIRE(proc.returncode == -SIGINT); /* CPython: KeyboardInterrupt, status != 0 */
    proc_fini(&proc);
}

static void test_kill(void)
{
    struct proc proc;
    start_running(&proc);
    REQUIRE(proc_kill(&proc) == 0);
    struct proc_bytes err;
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, PROC_FOREVER, NULL, &err));
    REQUIRE(err.len == 0);
    REQUIRE(proc.returncode == -SIGKILL);
    proc_fini(&proc);
}

static void test_terminate(void)
{
    struct proc proc;
    start_running(&proc);
    REQUIRE(proc_terminate(&proc) == 0);
    struct proc_bytes err;
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, PROC_FOREVER, NULL, &err));
    REQUIRE(err.len == 0);
    REQUIRE(proc.returncode == -SIGTERM);
    proc_fini(&proc);
}

/* _kill_dead_process: the child has exited (not yet reaped); the call must
 * not fail, nor signal whatever process may have the pid by now. */
static void kill_dead_process(int (*method)(struct proc *, int), int sig)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH("echo x"), &PIPES_ALL));
    wait_exited_unreaped(&proc);
    REQUIRE(method(&proc, sig) == 0);
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, PROC_FOREVER, NULL, NULL));
    REQUIRE(proc.returncode == 0); /* it exited on its own: the signal was never sent */
    proc_fini(&proc);
}

static int by_kill(struct proc *proc, int sig)
{
    (void)sig;
    return proc_kill(proc);
}

static int by_terminate(struct proc *proc, int sig)
{
    (void)sig;
    return proc_terminate(proc);
}

static void test_send_signal_dead(void)
{
    kill_dead_process(proc_send_signal, SIGINT);
}

static void test_kill_dead(void)
{
    kill_dead_process(by_kill, 0);
}

static void test_terminate_dead(void)
{
    kill_dead_process(by_terminate, 0);
}

static void test_send_signal_race(void)
{
    /* bpo-38630: the child exited, unknown to us: send_signal polls first. */
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, (char *[]){"true", NULL}, NULL));
    wait_exited_unreaped(&proc);
    REQUIRE(proc.returncode == PROC_RUNNING);
    REQUIRE(proc_send_signal(&proc, SIGTERM) == 0);
    REQUIRE(proc.returncode == 0); /* reaped by the poll, so no kill was sent */
    proc_fini(&proc);
}

/* check_close_std_fds: with some of our fds 0-2 closed, pipes still work. */
static void check_close_std_fds(int closed_mask)
{
    int saved[3];
    for (int fd = 0; fd < 3; fd++)
        saved[fd] = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    int in = fcntl(saved[0], F_DUPFD_CLOEXEC, 10); /* the child's stdin: our real stdin */
    for (int fd = 0; fd < 3; fd++)
        if (closed_mask & (1 << fd))
            close(fd);
    struct proc proc;
    struct error *e = proc_start(
        &proc, SH("printf apple; printf orange >&2"),
        &(struct proc_options){.in = PROC_FD_IO(in), .out = PROC_PIPE_IO, .err = PROC_PIPE_IO});
    struct proc_bytes out = {0}, err = {0};
    if (!e)
        e = proc_communicate(&proc, NULL, 0, 60, &out, &err);
    for (int fd = 0; fd < 3; fd++) { /* restore before any check can print */
        dup2(saved[fd], fd);
        close(saved[fd]);
    }
    close(in);
    REQUIRE_OK(e);
    REQUIRE(strcmp(out.data, "apple") == 0);
    REQUIRE(strcmp(err.data, "orange") == 0);
    proc_fini(&proc);
}

static void test_close_fd_0(void)
{
    check_close_std_fds(1);
}

static void test_close_fd_1(void)
{
    check_close_std_fds(2);
}

static void test_close_fd_2(void)
{
    check_close_std_fds(4);
}

static void test_close_fds_0_1(void)
{
    check_close_std_fds(3);
}

static void test_close_fds_0_2(void)
{
    check_close_std_fds(5);
}

static void test_close_fds_1_2(void)
{
    check_close_std_fds(6);
}

static void test_close_fds_0_1_2(void)
{
    check_close_std_fds(7);
}

static void test_small_errpipe_write_fd(void)
{
    /* Issue #15798: with 0 and 1 closed, starting a child still works. */
    int in = dup(0), out = dup(1);
    close(0);
    close(1);
    struct proc proc;
    struct error *e = proc_start(&proc, (char *[]){"true", NULL}, NULL);
    if (!e)
        e = proc_wait(&proc, PROC_FOREVER);
    dup2(in, 0);
    dup2(out, 1);
    close(in);
    close(out);
    REQUIRE_OK(e);
    REQUIRE(proc.returncode == 0);
    proc_fini(&proc);
}

/* check_swap_fds: temporary files sit on our 0, 1, 2; the child gets them
 * in another order, so the library must rearrange them without clobbering. */
static void check_swap_fds(int stdin_no, int stdout_no, int stderr_no)
{
    int temps[3], saved[3];
    for (int i = 0; i < 3; i++) {
        temps[i] = temp_file("");
        saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
    }
    for (int i = 0; i < 3; i++)
        dup2(temps[i], i);
    REQUIRE(write(stdin_no, "STDIN", 5) == 5);
    REQUIRE(lseek(stdin_no, 0, SEEK_SET) == 0);
    struct proc proc;
    struct error *e = proc_start(&proc, SH("printf 'got %s' \"$(cat)\"; printf err >&2"),
                                 &(struct proc_options){.in = PROC_FD_IO(stdin_no),
                                                        .out = PROC_FD_IO(stdout_no),
                                                        .err = PROC_FD_IO(stderr_no)});
    if (!e)
        e = proc_wait(&proc, PROC_FOREVER);
    char out[64], err[64];
    snprintf(out, sizeof out, "%s", file_text(stdout_no));
    snprintf(err, sizeof err, "%s", file_text(stderr_no));
    for (int i = 0; i < 3; i++) {
        dup2(saved[i], i);
        close(saved[i]);
        close(temps[i]);
    }
    REQUIRE_OK(e);
    if (strcmp(out, "got STDIN") != 0 || strcmp(err, "err") != 0)
        fail(__LINE__, "swap %d %d %d: out '%s', err '%s'", stdin_no, stdout_no, stderr_no, out,
             err);
    proc_fini(&proc);
}

static void test_swap_fds(void)
{
    check_swap_fds(0, 1, 2);
    check_swap_fds(0, 2, 1);
    check_swap_fds(1, 0, 2);
    check_swap_fds(1, 2, 0);
    check_swap_fds(2, 0, 1);
    check_swap_fds(2, 1, 0);
}

static void test_remapping_std_fds(void)
{
    check_swap_fds(1, 2, 0); /* CPython's order: stdin=temp[1], stdout=temp[2], stderr=temp[0] */
}

static void test_stdout_stderr_file(void)
{
    /* stdout and stderr to the same open file */
    int fd = temp_file("");
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH("printf apple; printf orange >&2"),
                          &(struct proc_options){.out = PROC_FD_IO(fd), .err = PROC_FD_IO(fd)}));
    REQUIRE_OK(proc_wait(&proc, PROC_FOREVER));
    REQUIRE(strcmp(file_text(fd), "appleorange") == 0);
    proc_fini(&proc);
    close(fd);
}

static void test_stdout_filedes_of_stdout(void)
{
    /* stdout=1: the child writes to our own stdout (a pipe read here). */
    int fds[2];
    REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
    int saved = fcntl(1, F_DUPFD_CLOEXEC, 10);
    dup2(fds[1], 1);
    close(fds[1]);
    struct proc proc;
    struct error *e = proc_start(&proc, SH("printf 'test with stdout=1'"),
                                 &(struct proc_options){.out = PROC_FD_IO(1)});
    if (!e)
        e = proc_wait(&proc, PROC_FOREVER);
    dup2(saved, 1);
    close(saved);
    REQUIRE_OK(e);
    char buf[64] = "";
    REQUIRE(read(fds[0], buf, sizeof buf - 1) == 18);
    REQUIRE(strcmp(buf, "test with stdout=1") == 0);
    close(fds[0]);
    proc_fini(&proc);
}

/* One descriptor opened for reading and writing serves two of the streams. */
static void single_inout_fd(int first, int second)
{
    int inout = open("/dev/null", O_RDWR | O_CLOEXEC);
    REQUIRE(inout >= 0);
    struct proc_io *ios[3];
    struct proc_options opts = {0};
    ios[0] = &opts.in;
    ios[1] = &opts.out;
    ios[2] = &opts.err;
    *ios[first] = PROC_FD_IO(inout);
    *ios[second] = PROC_FD_IO(inout);
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, (char *[]){"true", NULL}, &opts));
    REQUIRE_OK(proc_wait(&proc, PROC_FOREVER));
    REQUIRE(proc.returncode == 0);
    proc_fini(&proc);
    close(inout);
}

static void test_stdout_stdin_are_single_inout_fd(void)
{
    single_inout_fd(1, 0);
}

static void test_stdout_stderr_are_single_inout_fd(void)
{
    single_inout_fd(1, 2);
}

static void test_stderr_stdin_are_single_inout_fd(void)
{
    single_inout_fd(2, 0);
}

/* _check_swap_std_fds_with_one_closed: two of our 0-2 hold temporary files,
 * the third is closed; the files go to the child as two of its streams, in
 * any order, and each must arrive at the descriptor it was meant for. */
static void check_swap_std_fds_with_one_closed(const int from_fds[2], const int to_fds[2])
{
    int saved[3], temps[2];
    for (int fd = 0; fd < 3; fd++)
        saved[fd] = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    for (int i = 0; i < 2; i++) {
        temps[i] = temp_file("");
        dup2(temps[i], from_fds[i]);
        close(temps[i]);
    }
    int fd_to_close = 3 - from_fds[0] - from_fds[1];
    close(fd_to_close);
    struct proc_options opts = {0};
    struct proc_io *ios[3] = {&opts.in, &opts.out, &opts.err};
    for (int i = 0; i < 2; i++)
        *ios[to_fds[i]] = PROC_FD_IO(from_fds[i]);
    int skipped_fd = 3 - to_fds[0] - to_fds[1];
    char script[128];
    snprintf(script, sizeof script, "for fd in 0 1 2; do [ $fd = %d ] || printf $fd >&$fd; done",
             skipped_fd);
    struct proc proc;
    struct error *e = proc_start(&proc, SH(script), &opts);
    if (!e)
        e = proc_wait(&proc, PROC_FOREVER);
    char got[2][16];
    for (int i = 0; i < 2; i++)
        snprintf(got[i], sizeof got[i], "%s", file_text(from_fds[i]));
    for (int fd = 0; fd < 3; fd++) {
        dup2(saved[fd], fd);
        close(saved[fd]);
    }
    REQUIRE_OK(e);
    REQUIRE(proc.returncode == 0);
    for (int i = 0; i < 2; i++)
        if (got[i][0] != '0' + to_fds[i] || got[i][1] != '\0')
            fail(__LINE__, "%d -> %d: the child wrote '%s' to it", from_fds[i], to_fds[i], got[i]);
    proc_fini(&proc);
}

static void test_swap_std_fds_with_one_closed(void)
{
    static const int from[3][2] = {{0, 1}, {0, 2}, {1, 2}};
    static const int to[6][2] = {{0, 1}, {0, 2}, {1, 0}, {1, 2}, {2, 0}, {2, 1}};
    for (int f = 0; f < 3; f++)
        for (int t = 0; t < 6; t++)
            check_swap_std_fds_with_one_closed(from[f], to[t]);
}

struct opener {
    int fds[40];
    int n;
};

static void *open_pipes(void *arg)
{
    struct opener *o = arg;
    for (int i = 0; i < 20; i++) {
        if (pipe(o->fds + o->n) == 0)
            o->n += 2;
        sched_yield();
    }
    return NULL;
}

static void test_double_close_on_error(void)
{
    /* Issue #18851: a failed start closes only its own descriptors, never
     * one that another thread has just opened with the same number. */
    struct opener o = {.n = 0};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, open_pipes, &o) == 0);
    struct proc proc;
    struct error *e = proc_start(&proc, (char *[]){"nonexisting_i_hope", NULL}, &PIPES_ALL);
    REQUIRE(pthread_join(t, NULL) == 0);
    REQUIRE_ERROR(e, "FileNotFoundError", "nonexisting_i_hope");
    for (int i = 0; i < o.n; i++)
        if (close(o.fds[i]) != 0)
            fail(__LINE__, "fd %d was closed by someone else: %s", o.fds[i], strerror(errno));
}

static void test_close_fds_when_max_fd_is_lowered(void)
{
    /* issue21618: a descriptor above a lowered RLIMIT_NOFILE is still closed
     * in the child. */
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    REQUIRE(null >= 0);
    int high = fcntl(null, F_DUPFD, 200); /* inheritable, far above the limit set next */
    close(null);
    REQUIRE(high >= 200);
    struct rlimit old, low;
    REQUIRE(getrlimit(RLIMIT_NOFILE, &old) == 0);
    low = old;
    low.rlim_cur = 29;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
    char script[96];
    snprintf(script, sizeof script, "[ -e /proc/self/fd/%d ] && echo left open; true", high);
    struct proc_result r;
    struct error *e = proc_run(&r, SH(script), true, 60);
    REQUIRE(setrlimit(RLIMIT_NOFILE, &old) == 0);
    close(high);
    REQUIRE_OK(e);
    REQUIRE(r.out.len == 0);
    proc_result_fini(&r);
}

static void test_args_string(void)
{
    /* A program named by its path: an executable script with a #! line. */
    char path[] = "/tmp/test_cpython_subprocess.XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    const char *text = "#!/bin/sh\nexit 47\n";
    REQUIRE(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    REQUIRE(chmod(path, 0700) == 0);
    struct proc_result r;
    struct error *e = proc_run(&r, (char *[]){path, NULL}, false, 60);
    unlink(path);
    REQUIRE_OK(e);
    REQUIRE(r.returncode == 47);
    proc_result_fini(&r);
}

static void test_undecodable_env(void)
{
    /* A value that is not UTF-8 reaches the child byte for byte. */
    char **env = proc_environ_with((const char *[]){"test=abc\xff", "LC_ALL=C", NULL});
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH("printf %s \"$test\""),
                          &(struct proc_options){.env = env, .out = PROC_PIPE_IO}));
    struct proc_bytes out;
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, 60, &out, NULL));
    REQUIRE(out.len == 4 && memcmp(out.data, "abc\xff", 4) == 0);
    proc_fini(&proc);
    proc_environ_free(env);
}

static void test_run_kwargs(void)
{
    char **env = proc_environ_with((const char *[]){"FRUIT=banana", NULL});
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH("[ \"$FRUIT\" = banana ] && exit 33; exit 31"),
                          &(struct proc_options){.env = env}));
    REQUIRE_OK(proc_wait(&proc, PROC_FOREVER));
    REQUIRE(proc.returncode == 33);
    proc_fini(&proc);
    proc_environ_free(env);
}

static void test_pipe_cloexec(void)
{
    /* A second child holds none of the first child's pipe ends. */
    struct proc p1;
    REQUIRE_OK(proc_start(&p1, (char *[]){"cat", NULL}, &PIPES_ALL));
    char script[160];
    snprintf(script, sizeof script,
             "for fd in %d %d %d; do [ -e /proc/self/fd/$fd ] && echo $fd; done; true", p1.stdin_fd,
             p1.stdout_fd, p1.stderr_fd);
    struct proc_result r = run_capture(SH(script));
    REQUIRE(r.out.len == 0);
    proc_result_fini(&r);
    REQUIRE_OK(proc_communicate(&p1, NULL, 0, 60, NULL, NULL));
    proc_fini(&p1);
}

static void test_pipe_cloexec_real_tools(void)
{
    /* cat | grep: the data passes, and grep sees EOF when cat is done. */
    const char *data = "zxcvbnzxcvbnzxcvbnzxcvbn\n";
    struct proc p1, p2;
    REQUIRE_OK(proc_start(&p1, (char *[]){"cat", NULL}, &PIPES_IN_OUT));
    REQUIRE_OK(proc_start(&p2, (char *[]){"grep", "zxcvbn", NULL},
                          &(struct proc_options){.in = PROC_STDOUT_OF(&p1), .out = PROC_PIPE_IO}));
    REQUIRE_OK(proc_communicate(&p1, data, strlen(data), 60, NULL, NULL));
    struct proc_bytes out;
    REQUIRE_OK(proc_communicate(&p2, NULL, 0, 60, &out, NULL));
    REQUIRE(strcmp(out.data, data) == 0);
    proc_fini(&p1);
    proc_fini(&p2);
}

static void test_close_fds(void)
{
    /* A pipe and nine more descriptors, all inheritable: none reaches the child. */
    int fds[11];
    REQUIRE(pipe(fds) == 0);
    for (int i = 2; i < 11; i++)
        fds[i] = open("/dev/null", O_RDONLY);
    char script[400] = "for fd in";
    for (int i = 0; i < 11; i++)
        snprintf(script + strlen(script), sizeof script - strlen(script), " %d", fds[i]);
    strcat(script, "; do [ -e /proc/self/fd/$fd ] && echo $fd; done; true");
    struct proc_result r = run_capture(SH(script));
    REQUIRE(r.out.len == 0);
    proc_result_fini(&r);
    for (int i = 0; i < 11; i++)
        close(fds[i]);
}

static void test_wait_when_sigchild_ignored(void)
{
    /* With SIGCHLD ignored the kernel reaps children itself: wait must not
     * fail, and reports 0 (as Python does when waitpid says ECHILD). */
    signal(SIGCHLD, SIG_IGN);
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, (char *[]){"true", NULL}, &PIPES_OUT_ERR));
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, 60, NULL, NULL));
    REQUIRE(proc.returncode == 0);
    proc_fini(&proc);
    signal(SIGCHLD, SIG_DFL);
}

static void test_communicate_repeated_call_after_stdout_close(void)
{
    /* The child closes its stdout, then waits: each retry after a timeout
     * must cope with the pipe already at EOF, and the last one returns. */
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH(gated("exec 1>&-;", "true")),
                          &(struct proc_options){.out = PROC_PIPE_IO}));
    for (int i = 0; i < 3; i++)
        REQUIRE_ERROR(proc_communicate(&proc, NULL, 0, 0.1, NULL, NULL), "TimeoutExpired",
                      "timed out");
    gate_open();
    REQUIRE_OK(proc_communicate(&proc, NULL, 0, 60, NULL, NULL));
    REQUIRE(proc.returncode == 0);
    proc_fini(&proc);
    remove_gate();
}

/* ---- ContextManagerTests (leaving `with Popen(...)` is proc_fini) ---- */

static void context_manager_test_pipe(void)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH("printf stdout; printf stderr >&2"), &PIPES_OUT_ERR));
    char buf[16] = "";
    REQUIRE(read(proc.stdout_fd, buf, 6) == 6 && strcmp(buf, "stdout") == 0);
    proc_fini(&proc);
    REQUIRE(proc.stdout_fd == -1 && proc.stderr_fd == -1); /* closed on the way out */
    REQUIRE(no_children());
}

static void context_manager_test_returncode(void)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH("exit 100"), NULL));
    proc_fini(&proc); /* __exit__ waits, so the return code is set */
    REQUIRE(proc.returncode == 100);
}

static void context_manager_test_communicate_stdin(void)
{
    struct proc proc;
    REQUIRE_OK(proc_start(&proc, SH("[ \"$(cat)\" = context ]"),
                          &(struct proc_options){.in = PROC_PIPE_IO}));
    REQUIRE_OK(proc_communicate(&proc, "context", 7, 60, NULL, NULL));
    REQUIRE(proc.returncode == 0);
    proc_fini(&proc);
}

static void context_manager_test_invalid_args(void)
{
    int before = open_fds();
    struct proc proc;
    REQUIRE_ERROR(proc_start(&proc, (char *[]){"nonexisting_i_hope", NULL}, &PIPES_OUT_ERR),
                  "FileNotFoundError", "nonexisting_i_hope");
    proc_fini(&proc); /* harmless after a failed start */
    REQUIRE(open_fds() == before);
}

static void context_manager_test_broken_pipe_cleanup(void)
{
    /* A write to a child that exited fails with EPIPE; the cleanup still waits. */
    signal(SIGPIPE, SIG_DFL);
    static char data[PIPE_MAX_SIZE];
    struct proc proc;
    REQUIRE_OK(
        proc_start(&proc, (char *[]){"true", NULL}, &(struct proc_options){.in = PROC_PIPE_IO}));
    REQUIRE(proc.returncode == PROC_RUNNING);
    REQUIRE_ERROR(proc_write(&proc, data, sizeof data), "BrokenPipeError", "Broken pipe");
    proc_fini(&proc);
    REQUIRE(proc.returncode == 0);
    REQUIRE(proc.stdin_fd == -1);
}

/* ---- the driver ---- */

/* Cases change signal dispositions and the mask; each starts from the state
 * the program was started with. */
static struct sigaction initial_actions[NSIG];
static sigset_t initial_mask;

static void save_signal_state(void)
{
    for (int sig = 1; sig < 32; sig++)
        sigaction(sig, NULL, &initial_actions[sig]);
    pthread_sigmask(SIG_SETMASK, NULL, &initial_mask);
}

static void restore_signal_state(void)
{
    for (int sig = 1; sig < 32; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &initial_actions[sig], NULL);
    pthread_sigmask(SIG_SETMASK, &initial_mask, NULL);
}

/* Each case runs as NAME_checked: the case, then the checks every case must pass. */
#define CASES(X)                                                                                   \
    X(test_call_seq)                                                                               \
    X(test_call_timeout)                                                                           \
    X(test_check_call_zero)                                                                        \
    X(test_check_call_nonzero)                                                                     \
    X(test_check_output)                                                                           \
    X(test_check_output_nonzero)                                                                   \
    X(test_check_output_stdin_arg)                                                                 \
    X(test_check_output_input_arg)                                                                 \
    X(test_check_output_timeout)                                                                   \
    X(test_call_kwargs)                                                                            \
    X(test_stdin_none)                                                                             \
    X(test_stdout_none)                                                                            \
    X(test_stderr_none)                                                                            \
    X(test_stdin_pipe)                                                                             \
    X(test_stdin_filedes)                                                                          \
    X(test_stdout_pipe)                                                                            \
    X(test_stdout_filedes)                                                                         \
    X(test_stderr_pipe)                                                                            \
    X(test_stderr_filedes)                                                                         \
    X(test_stdout_devnull)                                                                         \
    X(test_stderr_devnull)                                                                         \
    X(test_stdin_devnull)                                                                          \
    X(test_env)                                                                                    \
    X(test_empty_env)                                                                              \
    X(test_communicate_stdin)                                                                      \
    X(test_communicate_stdout)                                                                     \
    X(test_communicate_stderr)                                                                     \
    X(test_communicate)                                                                            \
    X(test_communicate_timeout)                                                                    \
    X(test_communicate_timeout_large_output)                                                       \
    X(test_communicate_pipe_fd_leak)                                                               \
    X(test_communicate_returns)                                                                    \
    X(test_communicate_pipe_buf)                                                                   \
    X(test_writes_before_communicate)                                                              \
    X(input_after_starting_communication_is_refused)                                               \
    X(test_no_leaking)                                                                             \
    X(test_poll)                                                                                   \
    X(test_wait)                                                                                   \
    X(test_wait_timeout)                                                                           \
    X(timeout_shown_as_python_float_repr)                                                          \
    X(test_leaking_fds_on_error)                                                                   \
    X(test_communicate_epipe)                                                                      \
    X(test_communicate_epipe_only_stdin)                                                           \
    X(test_communicate_eintr)                                                                      \
    X(test_failed_child_execute_fd_leak)                                                           \
    X(test_file_not_found_includes_filename)                                                       \
    X(test_returncode)                                                                             \
    X(test_timeout)                                                                                \
    X(test_capture_stdout)                                                                         \
    X(test_capture_stderr)                                                                         \
    X(test_capture_output)                                                                         \
    X(test_run_with_shell_timeout_and_capture_output)                                              \
    X(test_exception_bad_args_0)                                                                   \
    X(test_restore_signals)                                                                        \
    X(child_inherits_the_signal_mask)                                                              \
    X(test_run_abort)                                                                              \
    X(test_CalledProcessError_str_signal)                                                          \
    X(test_CalledProcessError_str_unknown_signal)                                                  \
    X(test_CalledProcessError_str_non_zero)                                                        \
    X(signal_names_as_python_names_them)                                                           \
    X(test_send_signal)                                                                            \
    X(test_kill)                                                                                   \
    X(test_terminate)                                                                              \
    X(test_send_signal_dead)                                                                       \
    X(test_kill_dead)                                                                              \
    X(test_terminate_dead)                                                                         \
    X(test_send_signal_race)                                                                       \
    X(test_close_fd_0)                                                                             \
    X(test_close_fd_1)                                                                             \
    X(test_close_fd_2)                                                                             \
    X(test_close_fds_0_1)                                                                          \
    X(test_close_fds_0_2)                                                                          \
    X(test_close_fds_1_2)                                                                          \
    X(test_close_fds_0_1_2)                                                                        \
    X(test_small_errpipe_write_fd)                                                                 \
    X(test_swap_fds)                                                                               \
    X(test_remapping_std_fds)                                                                      \
    X(test_stdout_stderr_file)                                                                     \
    X(test_stdout_filedes_of_stdout)                                                               \
    X(test_stdout_stdin_are_single_inout_fd)                                                       \
    X(test_stdout_stderr_are_single_inout_fd)                                                      \
    X(test_stderr_stdin_are_single_inout_fd)                                                       \
    X(test_swap_std_fds_with_one_closed)                                                           \
    X(test_double_close_on_error)                                                                  \
    X(test_close_fds_when_max_fd_is_lowered)                                                       \
    X(test_args_string)                                                                            \
    X(test_undecodable_env)                                                                        \
    X(test_run_kwargs)                                                                             \
    X(test_pipe_cloexec)                                                                           \
    X(test_pipe_cloexec_real_tools)                                                                \
    X(test_close_fds)                                                                              \
    X(test_wait_when_sigchild_ignored)                                                             \
    X(test_communicate_repeated_call_after_stdout_close)                                           \
    X(context_manager_test_pipe)                                                                   \
    X(context_manager_test_returncode)                                                             \
    X(context_manager_test_communicate_stdin)                                                      \
    X(context_manager_test_invalid_args)                                                           \
    X(context_manager_test_broken_pipe_cleanup)

static void after_case(void)
{
    if (!no_children())
        fail(__LINE__, "the case left a child behind");
    restore_signal_state();
}

#define CHECKED(fn)                                                                                \
    static void fn##_checked(void)                                                                 \
    {                                                                                              \
        fn();                                                                                      \
        after_case();                                                                              \
    }
CASES(CHECKED)

#define ENTRY(fn) {#fn, fn##_checked},
static const struct expect_case cases[] = {CASES(ENTRY)};

int main(int argc, char **argv)
{
    save_signal_state();
    expect_on_failure(clean_up_after_failure);
    return EXPECT_MAIN(argc, argv, cases);
}
