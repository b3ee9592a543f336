/* deque: see deque.h. */
#include "deque.h"

#include <stdlib.h>

#include "check.h"

void deque_init(struct deque *d)
{
    *d = (struct deque){.capacity = 16};
    d->items = xcalloc(d->capacity, sizeof *d->items);
}

void deque_fini(struct deque *d)
{
    free(d->items);
}

void deque_append(struct deque *d, void *item)
{
    if (d->count == d->capacity) {
        void **items = xcalloc(d->capacity * 2, sizeof *items);
        for (size_t i = 0; i < d->count; i++)
            items[i] = d->items[(d->head + i) % d->capacity];
        free(d->items);
        d->items = items;
        d->capacity *= 2;
        d->head = 0;
    }
    d->items[(d->head + d->count++) % d->capacity] = item;
    if (d->count > d->peak)
        d->peak = d->count;
}

bool deque_popleft(struct deque *d, void **item)
{
    if (d->count == 0)
        return false;
    *item = d->items[d->head];
    d->head = (d->head + 1) % d->capacity;
    d->count--;
    return true;
}
