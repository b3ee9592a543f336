/* test_merge: unit tests for item61-63/merge.c (readline, confirm_merge),
 * driven by tests/item61-63.bats, run again under ASan+UBSan and TSan by
 * make check.
 *
 *   test_merge                   run every case
 *   test_merge NAME...           run those
 *   test_merge --list            the case names
 *
 * Each case writes its own files in a fresh temporary directory, one step
 * at a time, so what readline sees is fixed: no threads, no timing.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "expect.h"
#include "merge.h"

static char dir[PATH_MAX];

static void make_dir(void)
{
    /* /tmp, not $TMPDIR: a long directory would not fit in an error's message */
    snprintf(dir, sizeof dir, "/tmp/test_merge-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
}

static void remove_dir(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    EXPECT(system(cmd) == 0);
}

static char *path_of(const char *name)
{
    char *p = xmalloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

/* Append text to dir/name (creating it). */
static void append(const char *name, const char *text)
{
    char *p = path_of(name);
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    free(p);
}

/* A handle on dir/name, as merge_start makes one. */
static void open_handle(struct input_handle *h, struct input_end *end, const char *name)
{
    append(name, "");
    *end = (struct input_end){.pidfd = -1};
    *h = (struct input_handle){.name = path_of(name), .end = end};
    h->fd = open(h->name, O_RDONLY);
    REQUIRE(h->fd >= 0);
}

static void close_handle(struct input_handle *h)
{
    close(h->fd);
    free(h->held);
    free((char *)h->name);
}

/* readline's answer: "NoNewData", "END" (no line, no error), or the line. */
static char answer[256];
static const char *next(struct input_handle *h)
{
    struct line *line;
    struct error *err = readline(h, &line);
    if (err) {
        snprintf(answer, sizeof answer, "%s", is_no_new_data(err) ? "NoNewData" : err->type);
        error_free(err);
    } else if (!line) {
        snprintf(answer, sizeof answer, "END");
    } else {
        snprintf(answer, sizeof answer, "%.*s", (int)line->len, line->data);
        free(line);
    }
    return answer;
}

static void readline_holds_part_of_a_line(void)
{
    struct input_handle h;
    struct input_end end;
    make_dir();
    open_handle(&h, &end, "0");
    EXPECT(strcmp(next(&h), "NoNewData") == 0);
    append("0", "0-00-ab");
    EXPECT(strcmp(next(&h), "NoNewData") == 0); /* half a line is not handed on */
    append("0", "cde");
    EXPECT(strcmp(next(&h), "NoNewData") == 0);
    append("0", "fghij\n0-01-");
    EXPECT(strcmp(next(&h), "0-00-abcdefghij\n") == 0);
    EXPECT(strcmp(next(&h), "NoNewData") == 0);
    append("0", "x\n");
    EXPECT(strcmp(next(&h), "0-01-x\n") == 0);
    close_handle(&h);
    remove_dir();
}

static void readline_last_line_without_newline_once_ended(void)
{
    struct input_handle h;
    struct input_end end;
    make_dir();
    open_handle(&h, &end, "0");
    append("0", "one\ntwo\nlast");
    EXPECT(strcmp(next(&h), "one\n") == 0);
    EXPECT(strcmp(next(&h), "two\n") == 0);
    EXPECT(strcmp(next(&h), "NoNewData") == 0); /* "last" may still get its newline */
    atomic_store(&end.ended, true);
    EXPECT(strcmp(next(&h), "last\n") == 0); /* handed on, with a newline added */
    EXPECT(strcmp(next(&h), "END") == 0);
    EXPECT(strcmp(next(&h), "END") == 0);
    close_handle(&h);
    remove_dir();
}

static void readline_drains_before_it_ends(void)
{
    struct input_handle h;
    struct input_end end;
    make_dir();
    open_handle(&h, &end, "0");
    append("0", "a\nb\nc\n");
    atomic_store(&end.ended, true); /* the writer is done; its lines are not read yet */
    EXPECT(strcmp(next(&h), "a\n") == 0);
    EXPECT(strcmp(next(&h), "b\n") == 0);
    EXPECT(strcmp(next(&h), "c\n") == 0);
    EXPECT(strcmp(next(&h), "END") == 0);
    close_handle(&h);
    remove_dir();
}

static void readline_long_line(void)
{
    struct input_handle h;
    struct input_end end;
    make_dir();
    open_handle(&h, &end, "0");
    char *big = xmalloc(20001);
    memset(big, 'x', 20000);
    big[20000] = '\0';
    append("0", big);
    append("0", "\n");
    struct line *line;
    EXPECT(readline(&h, &line) == NULL && line && line->len == 20001);
    EXPECT(line && line->data[19999] == 'x' && line->data[20000] == '\n');
    free(line);
    free(big);
    close_handle(&h);
    remove_dir();
}

static void readline_book_hands_on_half_lines(void)
{
    struct input_handle h;
    struct input_end end;
    make_dir();
    open_handle(&h, &end, "0");
    h.book_readline = true;
    append("0", "0-00-ab");
    EXPECT(strcmp(next(&h), "0-00-ab") == 0); /* the book's bug: part of a line */
    append("0", "cdefghij\n");
    EXPECT(strcmp(next(&h), "cdefghij\n") == 0);
    close_handle(&h);
    remove_dir();
}

static void readline_closed_stops_at_once(void)
{
    struct input_handle h;
    struct input_end end;
    make_dir();
    open_handle(&h, &end, "0");
    append("0", "unread\n");
    atomic_store(&end.closed, true); /* the book's handle.close() */
    EXPECT(strcmp(next(&h), "END") == 0);
    close_handle(&h);
    remove_dir();
}

/* confirm_merge on inputs 1 and 10 (the book's prefix match confuses them)
 * against the output text given; NULL or the error's message. */
static char message[256];
static const char *confirm(const char *output)
{
    make_dir();
    char *paths[2] = {path_of("1"), path_of("10")};
    char line[PATH_MAX + 32];
    for (int k = 0; k < 2; k++) {
        snprintf(line, sizeof line, "%s-%02d-abcdefghij\n", paths[0], k);
        append("1", line);
        snprintf(line, sizeof line, "%s-%02d-klmnopqrst\n", paths[1], k);
        append("10", line);
    }
    /* output uses A for input 1's path and B for input 10's */
    char *text = xmalloc(strlen(output) * (strlen(paths[1]) + 1) + 1), *q = text;
    for (const char *p = output; *p; p++)
        q += *p == 'A'   ? sprintf(q, "%s", paths[0])
             : *p == 'B' ? sprintf(q, "%s", paths[1])
                         : sprintf(q, "%c", *p);
    append("merged", text);
    char *merged = path_of("merged");
    struct error *err = confirm_merge(paths, 2, merged);
    const char *result = NULL;
    if (err) {
        /* drop the directory so the message can be compared */
        char *at;
        snprintf(message, sizeof message, "%s", err->message);
        while ((at = strstr(message, dir)))
            memmove(at, at + strlen(dir), strlen(at + strlen(dir)) + 1);
        result = message;
        error_free(err);
    }
    free(text);
    free(merged);
    free(paths[0]);
    free(paths[1]);
    remove_dir();
    return result;
}

static void confirm_merge_accepts_any_interleaving(void)
{
    EXPECT(confirm("B-00-klmnopqrst\nA-00-abcdefghij\nA-01-abcdefghij\nB-01-klmnopqrst\n") == NULL);
    EXPECT(confirm("A-00-abcdefghij\nA-01-abcdefghij\nB-00-klmnopqrst\nB-01-klmnopqrst\n") == NULL);
}

static void confirm_merge_names_what_differs(void)
{
    const char *m;
    m = confirm("A-00-abcdefghij\nB-00-klmnopqrst\nB-01-klmnopqrst\n");
    EXPECT(m && strcmp(m, "confirm_merge: input /1: line 2 of 2 ('/1-01-abcdefghij') is missing "
                          "from the output") == 0);
    m = confirm("A-01-abcdefghij\nA-00-abcdefghij\nB-00-klmnopqrst\nB-01-klmnopqrst\n");
    EXPECT(m && strcmp(m, "confirm_merge: input /1: line 1 is '/1-00-abcdefghij', the output has "
                          "'/1-01-abcdefghij'") == 0);
    m = confirm("A-00-abcdefghij\nA-01-abcdefghij\nB-00-klmnopqrst\nB-01-klmnopqrst\n"
                "B-01-klmnopqrst\n");
    EXPECT(m && strcmp(m, "confirm_merge: input /10 has 2 lines, the output 3: extra "
                          "'/10-01-klmnopqrst'") == 0);
    m = confirm("A-00-abcdefghij\nA-01-abcdefghij\nB-00-klmnopqrst\nB-01-klmnop");
    EXPECT(m && strcmp(m, "confirm_merge: the output ends in part of a line: "
                          "'/10-01-klmnop'") == 0);
    m = confirm("A-00-abcdA-01-abcdefghij\n");
    EXPECT(m && strncmp(m, "confirm_merge: output line 1 matches no input: ", 47) == 0);
}

static void confirm_merge_matches_exact_names(void)
{
    /* Input 10's lines begin with input 1's path: they must not count as 1's. */
    const char *m = confirm("A-00-abcdefghij\nA-01-abcdefghij\nB-00-klmnopqrst\n");
    EXPECT(m && strstr(m, "input /10: line 2 of 2") != NULL);
}

static const struct expect_case cases[] = {
    EXPECT_CASE(readline_holds_part_of_a_line),
    EXPECT_CASE(readline_last_line_without_newline_once_ended),
    EXPECT_CASE(readline_drains_before_it_ends),
    EXPECT_CASE(readline_long_line),
    EXPECT_CASE(readline_book_hands_on_half_lines),
    EXPECT_CASE(readline_closed_stops_at_once),
    EXPECT_CASE(confirm_merge_accepts_any_interleaving),
    EXPECT_CASE(confirm_merge_names_what_differs),
    EXPECT_CASE(confirm_merge_matches_exact_names),
};

int main(int argc, char **argv)
{
    return EXPECT_MAIN(argc, argv, cases);
}
