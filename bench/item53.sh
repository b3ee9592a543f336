#!/usr/bin/env bash
# Item 53: threads for blocking I/O, not for parallelism.
#   factorize --repeat 20: speed-ups over serial, each the ratio of two lines of
#     one run (so both halves saw the same machine load), median of 5 runs.
#   syscalls: the serial and threaded times, median of 5 runs.
#   convoy: the I/O job's slowdown beside a CPU-bound thread, median of 5 runs.
# Every run goes through bench/lib.sh's quiet-machine gate.
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

cores=$(nproc)
numbers="2139079 1214759 1516637 1852285"

# split_limit P N...: the best speed-up one thread per number can reach on P
# cores when the kernel shares them fairly (processor sharing): the work is
# proportional to each number; all threads progress at min(1, P/runnable).
split_limit() {
    local p=$1
    shift
    printf '%s\n' "$@" | sort -g | awk -v p="$p" '
        { w[NR] = $1; total += $1 }
        END {
            t = 0; done = 0
            for (i = 1; i <= NR; i++) {
                left = NR - i + 1
                rate = (p < left ? p / left : 1)
                t += (w[i] - done) / rate
                done = w[i]
            }
            printf "%.4f\n", total / t
        }'
}

# factorize: "free GIL" speed-ups of one run.
factorize_ratios() {
    quiet item53/factorize --repeat 20 | awk '
        /^serial:/ { s = $(NF - 1) }
        /^threads under the GIL:/ { g = $(NF - 1) }
        /^free threads:/ { f = $(NF - 1) }
        END { printf "%.4f %.4f\n", s / f, s / g }'
}

free=() gil=()
for _ in $(seq "$RUNS"); do
    read -r f g < <(factorize_ratios)
    free+=("$f")
    gil+=("$g")
done
fair=$(split_limit "$cores" $numbers)
largest=$(split_limit 1000 $numbers) # as many cores as threads: total / largest

echo "Item 53: factorize --repeat 20, speed-up over serial (median of $(tries), $cores cores)"
header
row "free threads vs serial (limit: $cores cores)" "$(median "${free[@]}")" "$cores" ">= 1.8x"
row "  the same, vs this split on $cores fair cores" "$(median "${free[@]}")" "$fair" "(report)"
row "threads under the GIL vs serial" "$(median "${gil[@]}")" 1 "<= 1.05x"
echo "(one thread per number: the largest is $(awk -v l="$largest" 'BEGIN { printf "%.0f%%", 100 / l }') of the work;"
echo " with one core per thread the limit would be ${largest}x; on $cores cores shared fairly, ${fair}x)"
echo

serial=() threaded=()
for _ in $(seq "$RUNS"); do
    out=$(quiet item53/syscalls)
    serial+=("$(took_seconds serial <<<"$out")")
    threaded+=("$(took_seconds "threads under the GIL" <<<"$out")")
done
echo "Item 53: syscalls, 5 blocking calls of 0.1 s (seconds, median of $(tries))"
header
row "threads under the GIL" "$(median "${threaded[@]}")" 0.1 "<= 0.11 s"
row "serial" "$(median "${serial[@]}")" 0.5 ">= 0.5 s"
echo

gil_slow=() free_slow=() model=()
for _ in $(seq "$RUNS"); do
    out=$(quiet item53/convoy)
    alone=$(took_seconds "I/O alone" <<<"$out")
    gil_slow+=("$(awk '/^slowdown under the GIL:/ { sub("x", "", $5); print $5 }' <<<"$out")")
    free_slow+=("$(awk '/^slowdown with free threads:/ { sub("x", "", $5); print $5 }' <<<"$out")")
    # the model: each of the 200 operations waits one 5 ms switch interval more
    model+=("$(awk -v a="$alone" 'BEGIN { printf "%.4f\n", (a + 200 * 0.005) / a }')")
done
echo "Item 53: convoy, 200 blocking operations of 0.1 ms beside a CPU-bound thread (slowdown over"
echo "the I/O alone, median of $(tries); limit: one 5 ms interval more per operation)"
header
row "slowdown under the GIL" "$(median "${gil_slow[@]}")" "$(median "${model[@]}")" "(report)"
row "slowdown with free threads" "$(median "${free_slow[@]}")" 1 "(report)"
