#!/usr/bin/env bash
# Item 64: gcd over the book's NUMBERS, serial vs a thread pool of 2, a process
# pool of 2, and a thread pool of 2 under the emulated GIL. Speed-ups are
# ratios within one run of item64/gcd (serial time / mode time), median of 5
# runs, with --repeat large enough for about 1 s serial. The C serial time for
# the book's own workload (--repeat 1, median of 5) is set against Python's
# 0.970 s measured on this machine (reference anchor e).
set -uo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

REPEAT=${ITEM64_REPEAT:-32}
PYTHON_SERIAL=0.970

load=$(cut -d' ' -f1 /proc/loadavg) # other work on the machine steals cores: say how much
threads=() processes=() gil=() serial=() book=()
for i in $(seq "$RUNS"); do
    out=$(quiet ./item64/gcd --repeat "$REPEAT") || exit 1
    s=$(took_seconds serial <<<"$out")
    t=$(took_seconds threads <<<"$out")
    p=$(took_seconds processes <<<"$out")
    g=$(took_seconds "threads under the GIL" <<<"$out")
    serial+=("$s")
    threads+=("$(awk -v a="$s" -v b="$t" 'BEGIN { print a / b }')")
    processes+=("$(awk -v a="$s" -v b="$p" 'BEGIN { print a / b }')")
    gil+=("$(awk -v a="$s" -v b="$g" 'BEGIN { print a / b }')")
    book+=("$(quiet ./item64/gcd | took_seconds serial)")
done

echo "Item 64: gcd, 2 workers; speed-up = serial / mode within one run; median of $(tries);"
echo "--repeat $REPEAT (serial median $(median "${serial[@]}") s); limits: 2 cores, the GIL, Python's serial;"
echo "load average $load before the runs, $(cut -d' ' -f1 /proc/loadavg) after (a busy machine lowers the speed-ups)"
header
row "process pool of 2 vs serial (x)" "$(median "${processes[@]}")" 2.0 ">= 1.85x"
row "thread pool of 2 vs serial (x)" "$(median "${threads[@]}")" 2.0 ">= 1.85x"
row "thread pool of 2 under the GIL vs serial (x)" "$(median "${gil[@]}")" 1.0 "<= 1.05x"
row "C serial, book's workload (s) vs Python's" "$(median "${book[@]}")" "$PYTHON_SERIAL" "report"
