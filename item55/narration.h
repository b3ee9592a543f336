/* narration: how blocking prints the book's transcript in the book's order
 * every run, without a sleep. Where two neighbouring lines come from
 * different threads and nothing in the queue orders them, say_after(cue,
 * line) prints line only once the other thread has printed cue. It changes
 * what you read, not what the queue does; --free (narration_free) turns the
 * cues off. */
#ifndef ITEM55_NARRATION_H
#define ITEM55_NARRATION_H

#include <stdbool.h>

extern bool narration_free; /* --free: no cues; set before any thread starts */

/* A new demonstration: its title on stderr ("== 1. get blocks until put =="),
 * so stdout stays the book's lines, and the lines so far are forgotten. Only
 * main calls it, while no other thread runs. */
void narrate_demo(const char *title);

/* Print one whole line on stdout (one printf, under a lock) and tell any
 * thread whose cue it is. */
void say(const char *line);

/* A narration cue: say(line) once the other thread has said cue. */
void say_after(const char *cue, const char *line);

#endif
