/* Unit tests for common/check, cli and clock, driven by tests/lib_common.bats.
 *
 *   test_common [CASE...]    the cases (tests/unit/expect.h): cli, the parser's cases;
 *                            clock, clock_now is monotonic and clock_sleep sleeps at least
 *                            as asked, even when signals interrupt it; resident,
 *                            clock_resident_bytes grows by the pages the program touches
 *   test_common demo ARGS    a program with one flag of every kind: prints what it parsed
 *   test_common sys|pt|oom   CHECK_SYS / CHECK_PT / xmalloc failing: must exit 1 with a message
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "clock.h"
#include "expect.h"

static long n = 5;
static double ms = 1.5;
static bool on, off = true;
static const char *name = "default";
static struct cli_pair at = {-1, -1};

static const struct cli_flag flags[] = {
    {"--n", CLI_INT, &n, 1, 1024, "N", "an integer"},
    {"--ms", CLI_DOUBLE, &ms, 0, 1000, "MS", "a number"},
    {"--on", CLI_SWITCH, &on, 0, 0, NULL, "a switch"},
    {"--no-off", CLI_CLEAR, &off, 0, 0, NULL, "a switch that clears"},
    {"--name", CLI_STRING, &name, 0, 0, "TEXT", "a string"},
    {"--at", CLI_PAIR, &at, 0, 99, "Y,X", "a pair"},
    {0},
};
static const struct cli with_rest = {"Every kind of flag.", flags, "-- COMMAND [ARG...]"};
static const struct cli no_rest = {"Every kind of flag.", flags, NULL};

static enum cli_status parse(const struct cli *cli, char *err, const char *a1, const char *a2,
                             const char *a3, const char *a4)
{
    char *argv[] = {"prog", (char *)a1, (char *)a2, (char *)a3, (char *)a4, NULL};
    int argc = 1;
    while (argc < 5 && argv[argc])
        argc++;
    char **rest;
    int nrest;
    return cli_parse(cli, argc, argv, &rest, &nrest, err, 256);
}

static void test_cli(void)
{
    char err[256];
    EXPECT(parse(&no_rest, err, "--n", "12", "--ms", "2.5") == CLI_OK && n == 12 && ms == 2.5);
    EXPECT(parse(&no_rest, err, "--n=7", "--on", "--no-off", NULL) == CLI_OK && n == 7 && on &&
           !off);
    EXPECT(parse(&no_rest, err, "--name", "x y", "--at", "3,4") == CLI_OK &&
           strcmp(name, "x y") == 0 && at.first == 3 && at.second == 4);
    EXPECT(parse(&no_rest, err, "--help", NULL, NULL, NULL) == CLI_HELP);

    EXPECT(parse(&no_rest, err, "--n", "abc", NULL, NULL) == CLI_ERROR &&
           strcmp(err, "--n: expected an integer from 1 to 1024, got 'abc'") == 0);
    EXPECT(parse(&no_rest, err, "--n", "12abc", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--n", "0", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--n", "1025", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--n", "-1", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--n", "99999999999999999999", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--n", "", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--n", NULL, NULL, NULL) == CLI_ERROR &&
           strcmp(err, "--n: missing value (expected an integer from 1 to 1024)") == 0);
    EXPECT(parse(&no_rest, err, "--n", "--on", NULL, NULL) == CLI_ERROR &&
           strcmp(err, "--n: missing value (expected an integer from 1 to 1024)") == 0);
    EXPECT(parse(&no_rest, err, "--name", "--on", NULL, NULL) == CLI_ERROR &&
           strcmp(err, "--name: missing value (expected TEXT)") == 0);
    EXPECT(parse(&no_rest, err, "--name=--on", NULL, NULL, NULL) == CLI_OK &&
           strcmp(name, "--on") == 0);
    EXPECT(parse(&no_rest, err, "--ms", "-0.5", NULL, NULL) == CLI_ERROR &&
           strcmp(err, "--ms: expected a number from 0 to 1000, got '-0.5'") == 0);
    EXPECT(parse(&no_rest, err, "--ms", "nan", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--ms", "0x10", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--ms", " 5", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--ms", ".", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--ms", "1e", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--n", " 5", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--n", "0x10", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--ms", "1e1", NULL, NULL) == CLI_OK && ms == 10.0);
    EXPECT(parse(&no_rest, err, "--ms", ".5", NULL, NULL) == CLI_OK && ms == 0.5);
    EXPECT(parse(&no_rest, err, "--n", "+7", NULL, NULL) == CLI_OK && n == 7);
    EXPECT(parse(&no_rest, err, "--ms", "1e999", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--ms", "1001", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--at", "3", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--at", "3,", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--at", "3,4,5", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--at", "100,1", NULL, NULL) == CLI_ERROR);
    EXPECT(parse(&no_rest, err, "--on=yes", NULL, NULL, NULL) == CLI_ERROR &&
           strcmp(err, "--on: takes no value, got 'yes'") == 0);
    EXPECT(parse(&no_rest, err, "--nope", NULL, NULL, NULL) == CLI_ERROR &&
           strcmp(err, "unknown flag '--nope'") == 0);
    EXPECT(parse(&no_rest, err, "--n", "3", "stray", NULL) == CLI_ERROR &&
           strcmp(err, "unexpected argument 'stray'") == 0);
    EXPECT(parse(&no_rest, err, "-n", "3", NULL, NULL) == CLI_ERROR &&
           strcmp(err, "unknown flag '-n' (flags start with --)") == 0);
    EXPECT(parse(&no_rest, err, "--", "echo", NULL, NULL) == CLI_ERROR);

    char *argv[] = {"prog", "--n", "9", "--", "echo", "--n", NULL};
    char **rest = NULL;
    int nrest = 0;
    EXPECT(cli_parse(&with_rest, 6, argv, &rest, &nrest, err, sizeof err) == CLI_OK && n == 9 &&
           nrest == 2 && strcmp(rest[0], "echo") == 0 && strcmp(rest[1], "--n") == 0);
}

/* A program's own flags plus a shared group, and an empty group: every flag
 * is found where it stands, in the usage too. */
static void test_cli_groups(void)
{
    long own = 1, shared_n = 2;
    bool shared_on = false;
    const struct cli_flag own_flags[] = {{"--own", CLI_INT, &own, 0, 9, "N", "own"}, {0}};
    const struct cli_flag shared[] = {
        {"--shared", CLI_INT, &shared_n, 0, 9, "N", "shared"},
        {"--on", CLI_SWITCH, &shared_on, 0, 0, NULL, "shared switch"},
        {0},
    };
    const struct cli_flag grouped[] = {
        CLI_FLAGS_OF(own_flags), CLI_FLAGS_OF(NULL), CLI_FLAGS_OF(shared), {0}};
    const struct cli cli = {"Groups.", grouped, NULL};
    char err[256];
    EXPECT(parse(&cli, err, "--shared", "7", "--own", "8") == CLI_OK && shared_n == 7 && own == 8);
    EXPECT(parse(&cli, err, "--on", NULL, NULL, NULL) == CLI_OK && shared_on);
    EXPECT(parse(&cli, err, "--shared", "10", NULL, NULL) == CLI_ERROR &&
           strcmp(err, "--shared: expected an integer from 0 to 9, got '10'") == 0);
    EXPECT(parse(&cli, err, "--(group)", NULL, NULL, NULL) == CLI_ERROR);
    char *usage = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&usage, &len);
    REQUIRE(f != NULL);
    cli_usage(&cli, f);
    REQUIRE(fclose(f) == 0);
    EXPECT(strcmp(usage, "usage: test_common [--own N] [--shared N] [--on]\n") == 0);
    free(usage);
}

static void on_signal(int sig)
{
    (void)sig;
}

static void *interrupter(void *arg)
{
    pthread_t *target = arg;
    for (int i = 0; i < 20; i++) {
        pthread_kill(*target, SIGUSR1);
        usleep(1000);
    }
    return NULL;
}

static void test_clock(void)
{
    double t0 = clock_now();
    double prev = t0;
    for (int i = 0; i < 100000; i++) {
        double t = clock_now();
        EXPECT(t >= prev);
        prev = t;
    }
    clock_sleep(0.02);
    EXPECT(clock_now() - t0 >= 0.02);

    /* Signals interrupt nanosleep (EINTR); clock_sleep must still sleep it all. */
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
    CHECK_SYS(sigaction(SIGUSR1, &sa, NULL));
    pthread_t self = pthread_self(), t;
    double start = clock_now();
    CHECK_PT(pthread_create(&t, NULL, interrupter, &self));
    clock_sleep(0.05);
    EXPECT(clock_now() - start >= 0.05);
    CHECK_PT(pthread_join(t, NULL));

    struct timespec d = clock_deadline(0.5);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double diff = (double)(d.tv_sec - now.tv_sec) + (double)(d.tv_nsec - now.tv_nsec) / 1e9;
    EXPECT(diff > 0.0 && diff <= 0.5);
    EXPECT(d.tv_nsec >= 0 && d.tv_nsec < 1000000000L);
}

/* VmRSS counts the pages a program has touched, not those it has only
 * mapped: 32 MiB mapped adds (next to) nothing, the same written adds about
 * 32 MiB (at least half of it, whatever else the process does meanwhile). */
static void resident(void)
{
    const size_t size = 32 << 20;
    long before = clock_resident_bytes();
    EXPECT(before > 0 && before % 1024 == 0);
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(p != MAP_FAILED);
    long mapped = clock_resident_bytes();
    memset(p, 1, size);
    long touched = clock_resident_bytes();
    printf("resident: %ld bytes, %+ld once mapped, %+ld once written\n", before, mapped - before,
           touched - mapped);
    EXPECT(mapped - before < (long)size / 2);
    EXPECT(touched - mapped >= (long)size / 2);
    munmap(p, size);
}

static int demo(int argc, char **argv)
{
    char **rest;
    int nrest = cli_parse_or_exit(&with_rest, argc, argv, &rest);
    printf("n=%ld ms=%g on=%d off=%d name=%s at=%ld,%ld rest=%d\n", n, ms, on, off, name, at.first,
           at.second, nrest);
    return 0;
}

static const struct expect_case cases[] = {
    {"cli", test_cli},
    {"cli_groups", test_cli_groups},
    {"clock", test_clock},
    EXPECT_CASE(resident),
};

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "demo") == 0)
        return demo(argc - 1, argv + 1);
    if (strcmp(mode, "sys") == 0)
        CHECK_SYS(close(-1));
    if (strcmp(mode, "pt") == 0) {
        pthread_attr_t attr;
        CHECK_PT(pthread_attr_init(&attr));
        CHECK_PT(pthread_attr_setstacksize(&attr, 1)); /* below PTHREAD_STACK_MIN: EINVAL */
    }
    if (strcmp(mode, "oom") == 0) {
        volatile size_t huge = SIZE_MAX / 2;
        xmalloc(huge);
    }
    return EXPECT_MAIN(argc, argv, cases);
}
