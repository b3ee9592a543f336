/* rss: see rss.h. */
#include "rss.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

long resident_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        die_errno("fopen /proc/self/status");
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    if (kib < 0)
        die("no VmRSS line in /proc/self/status");
    return kib * 1024;
}

void rss_report(long tasks, long rss_before)
{
    long grown = resident_bytes() - rss_before;
    fprintf(stderr, "Resident memory per suspended task: %.0f bytes (%ld tasks, VmRSS %+.1f MiB)\n",
            tasks > 0 ? (double)grown / (double)tasks : 0.0, tasks, (double)grown / 1048576.0);
}
