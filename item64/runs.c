/* runs: see runs.h. */
#include "runs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "clock.h"

void run_init(struct run *r, const struct pair *numbers, size_t count, long repeat)
{
    r->n = count * (size_t)repeat;
    r->numbers = xmalloc(r->n * sizeof *r->numbers);
    r->args = xmalloc(r->n * sizeof *r->args);
    r->results = xmalloc(r->n * sizeof *r->results);
    r->expected = NULL;
    for (size_t i = 0; i < r->n; i++) {
        r->numbers[i] = numbers[i % count];
        r->args[i] = &r->numbers[i];
    }
}

void run_fini(struct run *r)
{
    free(r->expected);
    free(r->results);
    free(r->args);
    free(r->numbers);
}

/* The results as Python prints a list, in one printf. */
static void print_results(const struct run *r)
{
    char *line = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&line, &len);
    if (!f)
        die_errno("open_memstream");
    for (size_t i = 0; i < r->n; i++)
        fprintf(f, "%s%d", i ? ", " : "[", r->results[i]);
    fclose(f);
    printf("%s]\n", line);
    free(line);
}

int run_measure(struct run *r, const char *label, struct error *(*way)(struct run *))
{
    memset(r->results, 0, r->n * sizeof *r->results);
    double start = clock_now();
    struct error *e = way(r);
    double delta = clock_now() - start;
    if (e) {
        fprintf(stderr, "gcd: %s failed:\n", label);
        error_print(stderr, e);
        error_free(e);
        return 1;
    }
    printf("%s: Took %.3f seconds\n", label, delta);
    if (r->show)
        print_results(r);
    if (!r->expected) {
        r->expected = xmalloc(r->n * sizeof *r->expected);
        memcpy(r->expected, r->results, r->n * sizeof *r->expected);
    } else if (memcmp(r->expected, r->results, r->n * sizeof *r->expected) != 0) {
        die("%s: the results differ from the serial run's", label);
    }
    return 0;
}
