#!/usr/bin/env bash
# Item 54: the cost of a correct increment, and how often the race loses updates.
#   ns per increment: 5 threads x 10**5 increments, wall time / 500,000, thread start-up
#   included, median of 5 runs.
#   lost-update rate: the share of 20 runs of race whose count came out short.
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

ns_per_increment() {
    local runs=()
    for _ in $(seq "$RUNS"); do
        runs+=("$(quiet "item54/$1" "${@:2}" --time 2>&1 >/dev/null | awk '/ns per increment/ { print $4 }')")
    done
    median "${runs[@]}"
}

lost_rate() {
    local short=0 total=0 lost=0
    for _ in $(seq 20); do
        got=$("$@" | awk '{ print $NF }')
        if [ "$got" -lt 500000 ]; then short=$((short + 1)); fi
        lost=$((lost + 500000 - got))
        total=$((total + 1))
    done
    echo "$short $total $lost"
}

# References ("limit"): the bare primitives timed alone in a tight loop (mutex 60 ns, atomic
# 16 ns), and the book's LockingCounter in CPython 3.9 on this machine kind
# (0.44-0.64 s for 500,000, median of 5 runs in each of 4 sessions: ~1100 ns).
locked=$(ns_per_increment locked)
atomic=$(ns_per_increment atomic)
echo "Item 54: ns per increment (5 threads x 10**5, median of $RUNS runs, thread start-up included; load average $(cut -d" " -f1-3 /proc/loadavg))"
header
row "locked: pthread mutex, 2 cores" "$locked" 60 "(report)"
row "atomic: atomic_fetch_add, 2 cores" "$atomic" 16 "(report)"
row "atomic / locked (ratio, limit 1)" "$(awk -v a="$atomic" -v l="$locked" 'BEGIN { print a / l }')" 1 "< 1: faster"
row "locked --gil (limit: CPython 3.9, ~1100 ns)" "$(ns_per_increment locked --gil)" 1100 "(report)"
echo "(runs: $(tries))"
echo
echo "Item 54: lost updates in race (20 runs each)"
printf '| %-36s | %12s | %22s |\n' "run" "runs short" "mean increments lost"
printf '|%s|%s|%s|\n' "--------------------------------------" "--------------" "------------------------"
for mode in "item54/race" "item54/race --gil" "taskset -c 0 item54/race" "taskset -c 0 item54/race --gil"; do
    read -r short total lost < <(lost_rate $mode)
    printf '| %-36s | %5d of %-3d | %22d |\n' "$mode" "$short" "$total" "$((lost / total))"
done
