#!/usr/bin/env bash
# Items 62-63: the five log mergers at 16 inputs.
#   lines/s: writers as fast as they can (--pause 0), 16 x 10,000 lines, from the
#     writers' start to the last tailer's end (--stats), median of 3 runs.
#     Limit (report only): merge_threads, the plain threaded version.
#   latency: the book's harness (pauses up to 0.1 s), 16 x 20 lines, interval 0.1 s;
#     median and 99th percentile of write-to-output time over the 320 lines, median
#     of 3 runs. Limit: the interval (a line waits at most one sleep for its poll).
#   idle CPU: external mode on 16 empty files for 5 s (until a `sleep 5` exits):
#     user + system CPU seconds the polling burns, median of 3 runs. Limit: 0.
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

progs="merge_threads merge_mixed merge_async merge_bottom_up merge_write_thread"
stat_field() { # stat_field N ARGS...: field N of the program's "stats:" line
    local n=$1
    shift
    "$@" 2>&1 >/dev/null | awk -v n="$n" '/^stats:/ { print $n }'
}

echo "Items 62-63: merging 16 inputs (median of 3 runs; load average $(cut -d" " -f1-3 /proc/loadavg))"
header
threads_rate=
for p in $progs; do
    rates=() medians=() p99s=()
    for _ in 1 2 3; do
        rates+=("$(stat_field 7 "item61-63/$p" --inputs 16 --lines 10000 --pause 0 --stats)")
        line=$("item61-63/$p" --inputs 16 --lines 20 --stats 2>&1 >/dev/null | grep '^stats:')
        medians+=("$(awk '{ print $12 }' <<<"$line")")
        p99s+=("$(awk '{ print $15 }' <<<"$line")")
    done
    rate=$(median "${rates[@]}")
    [ -n "$threads_rate" ] || threads_rate=$rate
    row "$p: lines/s, no pauses" "$rate" "$threads_rate" "(report)"
    row "$p: latency median, s" "$(median "${medians[@]}")" 0.1 "< 1"
    row "$p: latency p99, s" "$(median "${p99s[@]}")" 0.1 "<= 1"
done
echo
echo "Items 62-63: CPU burned polling 16 idle inputs for 5 s (external mode, median of 3 runs)"
header
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for i in $(seq 16); do : >"$dir/in$i"; done
for p in $progs; do
    cpus=()
    for _ in 1 2 3; do
        sleep 5 &
        pid=$!
        # bash's time reports the child's user and system CPU seconds
        cpus+=("$({ TIMEFORMAT='%U %S'; time "item61-63/$p" --output "$dir/out" --until-pid "$pid" "$dir"/in* >/dev/null 2>&1; } 2>&1 | awk '{ print $1 + $2 }')")
        wait "$pid"
    done
    row "$p: CPU s, 5 s idle" "$(median "${cpus[@]}")" 0 "(report)"
done
