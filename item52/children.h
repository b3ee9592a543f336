/* children: no child left behind when a program that starts many of them
 * fails half-way (a start refused by `ulimit -u` or `ulimit -n`, a write to a
 * child that died). Each program registers every child it starts; on the
 * first error, children_die() terminates and reaps every child registered so
 * far, then exits 1 with that error. Without it, the children already started
 * would run on after the parent exits: `sleep`s for their full time, openssl
 * children printing "Broken pipe" into a shell that has moved on. */
#ifndef ITEM52_CHILDREN_H
#define ITEM52_CHILDREN_H

#include <stdnoreturn.h>

#include "error.h"
#include "subprocess.h"

/* proc has started; children_die() will end it if the program fails. proc
 * must stay where it is until the program exits (an element of an array). */
void children_track(struct proc *proc);

/* SIGTERM to every tracked child still running (SIGKILL to one that is still
 * there a second later), reap them all, then print e as an uncaught
 * exception ("prog: OSError: ...") and exit 1. */
noreturn void children_die_error(const struct error *e);

/* The same, with a message of the program's own: "prog: message". */
noreturn void children_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
