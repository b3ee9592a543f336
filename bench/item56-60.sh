#!/usr/bin/env bash
# Items 56-59: seconds per generation of the Game of Life when game_logic does
# a blocking round trip of --io-ms, next to the limit the fan-out allows.
#   Each program prints "Per generation: Took X seconds" (the mean over its
#   generations) on stderr; the figure is the median of 3 runs.
#   Limits: threads for every cell: one round trip; N workers: ceil(cells / N)
#   round trips ("waves"); serial: one round trip per cell.
#   The 10,000-cell pool row uses --io-ms 10 (100 waves of 10 ms) to keep the
#   whole bench under 2 minutes; its limit is scaled to match.
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

# measure PROG ARGS...: set $result to the median over 3 runs of the program's mean seconds
# per generation, and $peak to the median "Peak threads alive" (empty if it reports none).
measure() {
    local runs=() peaks=() err
    for _ in 1 2 3; do
        err=$("item56-60/$1" "${@:2}" 2>&1 >/dev/null)
        runs+=("$(took_seconds "Per generation" <<<"$err")")
        peaks+=("$(awk '/^Peak threads alive:/ { print $4 }' <<<"$err")")
    done
    result=$(median "${runs[@]}")
    peak=$(median "${peaks[@]}")
}

echo "Items 56-59: seconds per generation, game_logic does --io-ms of blocking I/O (median of 3)"
header
measure threaded --io-ms 100
row "45 cells, threaded (--io-ms 100)" "$result" 0.1 "<= 0.105 s"
measure pool --io-ms 100
row "45 cells, pool, 10 workers (--io-ms 100)" "$result" 0.5 "<= 0.51 s"
measure pipeline --io-ms 100
row "45 cells, pipeline, 5 workers (--io-ms 100)" "$result" 0.9 "<= 0.91 s"
measure pipeline --phased --io-ms 100 --generations 2
row "45 cells, pipeline --phased (--io-ms 100)" "$result" 1.0 "(report)"
measure serial --io-ms 100 --generations 1
row "45 cells, serial (--io-ms 100, 1 generation)" "$result" 4.5 "(report)"
measure threaded --height 100 --width 100 --io-ms 100 --generations 2
row "10,000 cells, threaded (--io-ms 100)" "$result" 0.1 "(report)"
threads_peak=$peak
measure pool --height 100 --width 100 --workers 100 --io-ms 10 --generations 1
row "10,000 cells, pool, 100 workers (--io-ms 10)" "$result" 1.0 "(report)"
echo "Peak threads alive in the 10,000-cell threaded run: $threads_peak (median of 3)."
echo "Python 3.11.7 on this machine kind: threaded 0.111, pool 0.504,"
echo "pipeline 0.904, serial 4.512; 10,000 cells threaded 5.03 s, pool(100) 10.06 s at --io-ms 100."
