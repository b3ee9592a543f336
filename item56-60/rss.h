/* rss: --stats for Item 60's coroutine programs (coroutines, stackless): how
 * much resident memory each suspended task holds.
 *
 *   resident_bytes()                 VmRSS from /proc/self/status, in bytes
 *   rss_report(tasks, rss_before)    one line on stderr:
 *       Resident memory per suspended task: 4152 bytes (100000 tasks, VmRSS +396.0 MiB)
 *
 * The caller reads resident_bytes() before it creates a generation's tasks
 * and reports once every task has reached its first wait: the growth is what
 * the tasks hold while they wait (their stacks or frames, the loop's entries
 * for them, their arguments). Python's equivalent, tracemalloc aside, is the
 * same VmRSS difference around tasks parked in asyncio.sleep.
 */
#ifndef ITEM56_60_RSS_H
#define ITEM56_60_RSS_H

long resident_bytes(void);
void rss_report(long tasks, long rss_before);

#endif
