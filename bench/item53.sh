#!/usr/bin/env bash
# Item 53: threads for blocking I/O, not for parallelism.
#   factorize --repeat 20: speed-ups over serial, each the ratio of two lines of
#     one run (so both halves saw the same machine load), median of 5 runs.
#   syscalls: the serial and threaded times, median of 5 runs.
#   convoy: the I/O job's slowdown beside a CPU-bound thread, median of 5 runs.
# The machine is shared: each run starts once the CPUs are idle, and is made again
# (up to 5 times, for at most 100 s in all) if other processes used more than 5% of the CPUs during it.
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

runs=5
cores=$(nproc)
hz=$(getconf CLK_TCK)
numbers="2139079 1214759 1516637 1852285"
tally=$(mktemp) # one line per run made: "kept" or "busy" (thrown away, or kept when out of tries)
trap 'rm -f "$tally"' EXIT
gate_until=$((SECONDS + 100)) # after this, stop waiting for quiet: the bench must end

# cpu_jiffies: "busy total" CPU time of the whole machine so far (all CPUs, steal counts as busy).
cpu_jiffies() {
    awk '/^cpu / { for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat
}

# wait_idle: wait (up to 5 s) until the other processes use less than 5% of the CPUs.
wait_idle() {
    local b0 t0 b1 t1
    for _ in $(seq 25); do
        if [ "$SECONDS" -ge "$gate_until" ]; then return; fi
        read -r b0 t0 < <(cpu_jiffies)
        sleep 0.2
        read -r b1 t1 < <(cpu_jiffies)
        if [ $(((b1 - b0) * 20)) -lt $((t1 - t0)) ]; then return; fi
    done
}

# quiet CMD...: CMD's stdout, from a run during which other processes used less than 5% of
# the CPUs (the machine is shared); up to 5 tries, then the last run as it is
# (counted as busy in the table's heading).
quiet() {
    local out b0 t0 b1 t1 ours tf
    tf=$(mktemp)
    for _ in $(seq 5); do
        wait_idle
        read -r b0 t0 < <(cpu_jiffies)
        out=$(/usr/bin/time -o "$tf" -f '%U %S' "$@")
        read -r b1 t1 < <(cpu_jiffies)
        ours=$(awk -v hz="$hz" '{ printf "%d\n", ($1 + $2) * hz }' "$tf")
        if [ $(((b1 - b0 - ours) * 20)) -lt $((t1 - t0)) ]; then
            echo kept >>"$tally"
            break
        fi
        echo busy >>"$tally"
        if [ "$SECONDS" -ge "$gate_until" ]; then break; fi
    done
    rm -f "$tf"
    printf '%s\n' "$out"
}

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

# tries: how the kept runs since the last call were made, e.g. "5 quiet runs (7 made)" or,
# when the machine stayed busy, "5 runs, 3 of them on a busy machine (9 made)".
tries() {
    awk -v n="$runs" '
        { made++; if ($1 == "kept") quiet++ }
        END {
            busy = n - quiet
            if (busy <= 0) printf "%d quiet runs (%d made)\n", n, made
            else printf "%d runs, %d of them on a busy machine (%d made)\n", n, busy, made
        }' "$tally"
    : >"$tally"
}

free=() gil=()
for _ in $(seq $runs); do
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
for _ in $(seq $runs); do
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
for _ in $(seq $runs); do
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
