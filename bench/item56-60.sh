#!/usr/bin/env bash
# Items 56-60: the fan-out table. Seconds per generation of the Game of Life
# when game_logic waits --io-ms 100 for a round trip, for every strategy at
# 45 cells (the book's 5 x 9), 10,000 (100 x 100) and 100,000 (250 x 400).
#   s/gen: the mean of the generations after the first (the steady state),
#   median of RUNS (3) runs, each through lib.sh's quiet-machine gate;
#   "gen 1" is the first generation alone (stacks, pages and threads are
#   new then). Limits: serial, one round trip per cell; a
#   fixed pool of N workers, ceil(cells / N) round trips ("waves"); a thread
#   or a coroutine per cell, one round trip. A configuration whose runs would
#   take over a minute is not run: its row shows the model's prediction,
#   marked "predicted". A run that fails says why.
# Then: a few variations (--phased, 100 workers, a loop per generation,
# awaited neighbours), and the costs behind the table: resident bytes per
# waiting task or thread, nanoseconds per switch (bench/aio_costs).
# Writes build/bench/item56-60.csv and, where gnuplot is installed,
# build/bench/item56-60.svg (cells on a log axis, a line per strategy).
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
. bench/lib.sh

OUT=build/bench
CSV=$OUT/item56-60.csv
mkdir -p "$OUT"
rm -f "$OUT"/plot-*.dat
PLOT=1
echo "strategy,cells,seconds_per_generation,first_generation,limit,x_limit,status" >"$CSV"

# gen_stats: read a program's stderr; print "STEADY FIRST": the mean of the
# "Generation N: Took X seconds" lines for N >= 2 (generation 1's if it is
# the only one), and generation 1's.
gen_stats() {
    awk '/^Generation [0-9]+: Took / { n = $2 + 0; t = $(NF - 1)
             if (n == 1) first = t; else { sum += t; k++ } }
         END { if (k) printf "%.4f %.4f\n", sum / k, first; else printf "%.4f %.4f\n", first, first }'
}

# measure PROG ARGS...: run RUNS times through lib.sh's quiet-machine gate;
# set $steady and $first to the medians of
# gen_stats, $bytes to the median "Resident memory per suspended task" (empty
# if not reported), $failure to what a failed run said (its first stderr line
# that is not a timing).
measure() {
    local steadies=() firsts=() bytes_runs=() err s f
    failure=""
    for _ in $(seq "$RUNS"); do
        if ! gated "item56-60/$1" "${@:2}" --final; then
            failure=$(grep -v -e '^Generation ' -e '^Peak threads' "$bench_err" | head -n 1)
            return
        fi
        err=$(cat "$bench_err")
        read -r s f < <(gen_stats <<<"$err")
        steadies+=("$s")
        firsts+=("$f")
        bytes_runs+=("$(awk '/^Resident memory per suspended task:/ { print $6 }' <<<"$err")")
    done
    steady=$(median "${steadies[@]}")
    first=$(median "${firsts[@]}")
    bytes=$(median "${bytes_runs[@]}")
}

fan_header() {
    printf '| %-22s | %7s | %9s | %9s | %9s | %8s | %-40s |\n' strategy cells "s / gen" "gen 1" \
        limit "x limit" note
    printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..24})" "$(printf -- '-%.0s' {1..9})" \
        "$(printf -- '-%.0s' {1..11})" "$(printf -- '-%.0s' {1..11})" "$(printf -- '-%.0s' {1..11})" \
        "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..42})"
}

# fan_row STRATEGY CELLS SECONDS FIRST LIMIT STATUS NOTE: a table row and a CSV line.
fan_row() {
    awk -v n="$1" -v c="$2" -v m="$3" -v f="$4" -v l="$5" -v note="$7" 'BEGIN {
        ms = (m == "" ? "-" : sprintf("%.4g", m)); fs = (f == "" ? "-" : sprintf("%.4g", f))
        xs = (m == "" || !l ? "-" : sprintf("%.3f", m / l))
        printf "| %-22s | %7d | %9s | %9s | %9.4g | %8s | %-40s |\n", n, c, ms, fs, l, xs, note }'
    awk -v n="$1" -v c="$2" -v m="$3" -v f="$4" -v l="$5" -v s="$6" \
        'BEGIN { printf "\"%s\",%d,%s,%s,%s,%s,%s\n", n, c, m, f, l, (m == "" ? "" : sprintf("%.4f", m / l)), s }' >>"$CSV"
    # The main table's rows are plotted: cells, seconds, 1 if measured.
    [ "$PLOT" = 1 ] && [ -n "$3" ] && echo "$2 $3 $([ "$6" = measured ] && echo 1 || echo 0)" >>"$OUT/plot-${1%% *}.dat"
    return 0
}

IO=0.1 # --io-ms 100, in seconds
failures=()
# size CELLS: the grid flags for that many cells.
size() {
    case $1 in
    45) echo "--height 5 --width 9" ;;
    10000) echo "--height 100 --width 100" ;;
    100000) echo "--height 250 --width 400" ;;
    esac
}

# fan STRATEGY CELLS LIMIT GENERATIONS PROG ARGS...: measure and print one row,
# or the prediction (the limit) when 3 runs would take over a minute.
fan() {
    local name=$1 cells=$2 limit=$3 gens=$4
    shift 4
    if awk -v l="$limit" -v g="$gens" 'BEGIN { exit !(3 * l * g > 60) }'; then
        fan_row "$name" "$cells" "$limit" "" "$limit" predicted \
            "predicted: 3 runs would take $(awk -v l="$limit" -v g="$gens" 'BEGIN { printf "%.0f", 3 * l * g }') s"
        return
    fi
    measure "$@" $(size "$cells") --io-ms 100 --generations "$gens"
    if [ -n "$failure" ]; then
        fan_row "$name" "$cells" "" "" "$limit" failed "fails (below)"
        failures+=("$name at $cells cells: $failure")
        return
    fi
    fan_row "$name" "$cells" "$steady" "$first" "$limit" measured "${TARGETS["$name $cells"]:-}"
}

# The targets Items 56-60 set (s / gen; for coroutines at 100,000, the
# steady state, with the first generation reported apart).
declare -A TARGETS=(
    ["threaded 45"]="target <= 0.105 s" ["pipeline (5 workers) 45"]="target <= 0.91 s"
    ["pool (10 workers) 45"]="target <= 0.51 s" ["coroutines 45"]="target <= 0.102 s"
    ["coroutines 10000"]="target <= 0.105 s" ["coroutines 100000"]="target <= 0.13 s"
    ["stackless 100000"]="target <= 0.11 s"
)

waves() { awk -v c="$1" -v w="$2" -v io="$IO" 'BEGIN { printf "%.4g", int((c + w - 1) / w) * io }'; }

echo "Items 56-60: seconds per generation, each cell waits --io-ms 100 (median of $RUNS runs)"
fan_header
for cells in 45 10000 100000; do
    fan serial "$cells" "$(awk -v c="$cells" -v io="$IO" 'BEGIN { print c * io }')" 1 serial
    fan threaded "$cells" "$IO" 2 threaded
    fan "pipeline (5 workers)" "$cells" "$(waves "$cells" 5)" 2 pipeline
    fan "pool (10 workers)" "$cells" "$(waves "$cells" 10)" 2 pool
    fan coroutines "$cells" "$IO" 3 coroutines
    fan stackless "$cells" "$IO" 3 stackless
done

for f in "${failures[@]}"; do echo "Fails: $f"; done
echo "(runs: $(tries))"
PLOT=0
echo
echo "Variations (median of $RUNS runs; gen 1 apart as above)"
fan_header
fan "pipeline --phased" 45 0.9 2 pipeline --phased
measure pool --height 100 --width 100 --workers 100 --io-ms 10 --generations 1
fan_row "pool (100), --io-ms 10" 10000 "$steady" "$first" 1.0 measured "100 waves of 10 ms"
fan "coroutines, loop/gen" 100000 "$IO" 3 coroutines --loop-per-generation
fan "coroutines, async nbrs" 100000 "$IO" 3 coroutines --async-neighbors
fan "stackless, async nbrs" 100000 "$IO" 3 stackless --async-neighbors
echo "(runs: $(tries))"

echo
echo "What a waiting task costs"
header
measure coroutines --height 250 --width 400 --io-ms 100 --generations 1 --stats
row "coroutines: resident bytes per task, 100,000" "$bytes" 1288 "<= 4608 B"
measure stackless --height 250 --width 400 --io-ms 100 --generations 1 --stats
row "stackless: resident bytes per cell, 100,000" "$bytes" 1288 "<= 100 B"
# A thread: all 10,000 alive at once when each waits 2 s (starting them takes
# well under that); VmHWM growth over the same program with no generations.
base=$( { /usr/bin/time -f '%M' item56-60/threaded --height 100 --width 100 --generations 0 --final >/dev/null; } 2>&1 | tail -n 1)
err=$( { /usr/bin/time -f '%M' item56-60/threaded --height 100 --width 100 --io-ms 2000 --generations 1 --final >/dev/null; } 2>&1)
hwm=$(tail -n 1 <<<"$err")
alive=$(awk '/^Peak threads alive:/ { print $4 }' <<<"$err")
row "threaded: bytes per thread, $alive alive" "$(awk -v h="$hwm" -v b="$base" -v a="$alive" 'BEGIN { print (h - b) * 1024 / a }')" 1288 "(report)"
# ns per switch (one direction, loop -> task or task -> loop), from bench/aio_costs,
# built twice: with the assembly switch and with ucontext.
for sw in asm ucontext; do
    prog=bench/aio_costs
    [ $sw = ucontext ] && prog=bench/aio_costs_ucontext
    ns=$("$prog" --tasks 1000 --yields 20000 2>/dev/null | awk '/^switch / { print $3 }')
    row "switch, $sw (ns, median of 5)" "${ns:-0}" 14 "$([ $sw = asm ] && echo "<= 20 ns" || echo "(report)")"
done
echo "Limits: Python 3.11's 1,288 B per task waiting in asyncio.sleep (the book: \"less than 1 KB\");"
echo "for the switch, a hand-written x86-64 switch measured alone, 14 ns. A thread's kernel side (its"
echo "kernel stack, 16 KiB, and page tables) is not in VmRSS."

if command -v gnuplot >/dev/null; then
    plot=$OUT/item56-60.svg
    {
        echo "set terminal svg size 800,500 font 'sans,12'; set output '$plot'"
        echo "set logscale xy; set xlabel 'cells'; set ylabel 'seconds per generation (--io-ms 100)'"
        echo "set key top left; set grid; set xrange [30:150000]; set yrange [0.05:30000]; set format y '%g'"
        title="Items 56-60: seconds per generation, each cell waits 100 ms"
        for f in "${failures[@]}"; do title+="\\n${f%%: *}: fails"; done
        echo "set title \"$title\""
        printf "plot 0.1 title 'limit: one round trip (0.1 s)' dt 2 lc rgb 'black'"
        printf ", NaN with points pt 6 lc rgb 'gray' title 'predicted (not run)'"
        colours=(x '#7f7f7f' '#d62728' '#ff7f0e' '#9467bd' '#1f77b4' '#2ca02c')
        i=0
        for s in serial threaded pipeline pool coroutines stackless; do
            i=$((i + 1))
            [ -s "$OUT/plot-$s.dat" ] || continue
            printf ", '%s' using 1:2 with lines lw 2 lc rgb '%s' title '%s'" "$OUT/plot-$s.dat" "${colours[i]}" "$s"
            printf ", '' using 1:(\$3 == 1 ? \$2 : NaN) with points pt 7 lc rgb '%s' notitle" "${colours[i]}"
            printf ", '' using 1:(\$3 == 1 ? NaN : \$2) with points pt 6 ps 1.5 lc rgb '%s' notitle" "${colours[i]}"
        done
        echo
    } | gnuplot && echo "Plot: $plot; table: $CSV"
    rm -f "$OUT"/plot-*.dat
else
    echo "gnuplot is not installed: no plot (apt-get install gnuplot-nox); table: $CSV"
fi
echo "Python 3.11.7 on this machine kind: asyncio 0.101 s at 45 cells, 0.177 s at"
echo "10,000, 1.89 s at 100,000; threaded 0.111 / 5.03 s; pool 0.504 s at 45 cells."
