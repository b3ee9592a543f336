/* deque: the `collections.deque` under the book's MyQueue (polling.c): a
 * growable ring of pointers, append on the right, popleft on the left. Not
 * thread-safe: MyQueue's lock guards it, as in the book. It also remembers
 * its longest length, so polling can show how far a queue grew. */
#ifndef ITEM55_DEQUE_H
#define ITEM55_DEQUE_H

#include <stdbool.h>
#include <stddef.h>

struct deque {
    void **items;
    size_t capacity, head, count;
    size_t peak; /* the largest count seen (not in Python: shows the growth) */
};

void deque_init(struct deque *d);
void deque_fini(struct deque *d);
void deque_append(struct deque *d, void *item);   /* always succeeds: it grows */
bool deque_popleft(struct deque *d, void **item); /* false when empty (IndexError) */

#endif
