/* runs: the measuring around gcd's four ways of running the book's gcds,
 * kept out of the lesson's path: the inputs (NUMBERS repeated), timing one
 * way and printing its "Took" line, checking its results against the serial
 * run's, and --show's list. */
#ifndef ITEM64_RUNS_H
#define ITEM64_RUNS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* The book's NUMBERS fit in an int (README, exercise 1: long). */
struct pair {
    int a, b;
};

struct run {
    size_t n;             /* NUMBERS repeated --repeat times */
    struct pair *numbers; /* the inputs */
    void **args;          /* &numbers[i], what map takes */
    int *results;
    int *expected; /* the serial run's results, once it has run */
    long workers;
    bool show;
};

/* The inputs: `repeat` copies of numbers[0..count-1], one after another. */
void run_init(struct run *r, const struct pair *numbers, size_t count, long repeat);
void run_fini(struct run *r);

/* Time one way of running and print "LABEL: Took X.XXX seconds" (then the
 * results, under --show). Returns 0; or, when the way returned an error, prints
 * "gcd: LABEL failed:" and the error's chain on stderr and returns 1. The
 * first way measured is the reference: every later one must get its results,
 * or the program dies. */
int run_measure(struct run *r, const char *label, struct error *(*way)(struct run *));

#endif
