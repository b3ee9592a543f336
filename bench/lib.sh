# Helpers for bench/itemNN.sh (sourced, not run).
#
#   RUNS                  how many runs a figure is the median of: 5, or RUNS=N in the
#                         environment (make bench RUNS=3 ...); a script that needs fewer
#                         sets RUNS=${RUNS:-3} before sourcing this
#   quiet CMD...          run CMD on a quiet machine (the gate below): its stdout, and its
#                         stderr on stderr, from the run that was kept
#   seconds CMD...        the wall time of a quiet run of CMD
#   tries                 how the runs since the last call were made: "5 quiet runs (7 made)"
#   stat KEY              from a program's --stats line ("stats items=1000 seconds=0.2"), read
#                         on stdin, the value of KEY
#   median, took_seconds, header, row: the figures and the table
#   $bench_dir            a directory for the script's temporary files, removed at exit
#
# The gate: the machine is shared, so a run starts once the other processes use less than
# 5% of the CPUs (waiting up to 5 s), and is made again (up to 5 times) if they used more
# while it ran; after 100 s in one script the gate stops waiting, so the bench ends. A
# run kept on a busy machine is counted as such by `tries`, which each table heading quotes.

RUNS=${RUNS:-5}
bench_hz=$(getconf CLK_TCK)
bench_dir=$(mktemp -d) # a script's temporary files go here too (no EXIT trap of its own)
trap 'rm -rf "$bench_dir"' EXIT
bench_tally=$bench_dir/tally # "made" per run made; "quiet" or "busy" per run kept
bench_out=$bench_dir/out bench_err=$bench_dir/err bench_time=$bench_dir/time
: >"$bench_tally"
bench_gate_until=$((SECONDS + 100))

# cpu_jiffies: "busy total" CPU time of the whole machine so far (all CPUs, steal counts as busy).
cpu_jiffies() {
    awk '/^cpu / { for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat
}

# wait_idle: wait (up to 5 s) until the other processes use less than 5% of the CPUs.
wait_idle() {
    local b0 t0 b1 t1
    for _ in $(seq 25); do
        if [ "$SECONDS" -ge "$bench_gate_until" ]; then return; fi
        read -r b0 t0 < <(cpu_jiffies)
        sleep 0.2
        read -r b1 t1 < <(cpu_jiffies)
        if [ $(((b1 - b0) * 20)) -lt $((t1 - t0)) ]; then return; fi
    done
}

# gated CMD...: the gate itself. The kept run's stdout and stderr are left in
# $bench_out and $bench_err, its wall seconds in $bench_wall; returns CMD's status.
gated() {
    local b0 t0 b1 t1 ours w0 status verdict=busy
    for _ in $(seq 5); do
        wait_idle
        read -r b0 t0 < <(cpu_jiffies)
        w0=$(date +%s.%N)
        /usr/bin/time -o "$bench_time" -f '%U %S' "$@" >"$bench_out" 2>"$bench_err"
        status=$?
        bench_wall=$(awk -v a="$w0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.4f\n", b - a }')
        read -r b1 t1 < <(cpu_jiffies)
        echo made >>"$bench_tally"
        # CPU time of CMD and its children: the last line (a failed CMD adds one before it)
        ours=$(awk -v hz="$bench_hz" 'END { printf "%d\n", ($1 + $2) * hz }' "$bench_time")
        if [ $(((b1 - b0 - ours) * 20)) -lt $((t1 - t0)) ]; then
            verdict=quiet
            break
        fi
        if [ "$SECONDS" -ge "$bench_gate_until" ]; then break; fi
    done
    echo "$verdict" >>"$bench_tally"
    return $status
}

quiet() {
    local status
    gated "$@"
    status=$?
    cat "$bench_out"
    cat "$bench_err" >&2
    return $status
}

# tries: see the top. Resets the count for the next table.
tries() {
    awk '
        $1 == "made" { made++ }
        $1 == "quiet" { runs++; quiet++ }
        $1 == "busy" { runs++ }
        END {
            if (runs == quiet) printf "%d quiet runs (%d made)\n", runs, made
            else printf "%d runs, %d of them on a busy machine (%d made)\n", runs, runs - quiet, made
        }' "$bench_tally"
    : >"$bench_tally"
}

# stat KEY: see the top.
stat() {
    awk -v k="$1" '$1 == "stats" { for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }'
}

# median N1 N2 ...: the median of the numbers given (the lower middle for an even count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# seconds CMD...: see the top (CMD's output is discarded).
seconds() {
    gated "$@"
    echo "$bench_wall"
}

# took_seconds LABEL: read a program's "LABEL: Took X.XXX seconds" line from stdin, print X.
took_seconds() {
    local label=$1
    awk -v l="$label: Took " 'index($0, l) == 1 { print $(NF - 1) }'
}

# row NAME MEASURED LIMIT TARGET: one table row with the "x limit" ratio.
row() {
    awk -v n="$1" -v m="$2" -v l="$3" -v t="$4" \
        'BEGIN { printf "| %-44s | %10.4g | %10.4g | %7.3f | %-14s |\n", n, m, l, (l ? m / l : 0), t }'
}

header() {
    printf '| %-44s | %10s | %10s | %7s | %-14s |\n' "measurement" "measured" "limit" "x limit" "target"
    printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..12})" \
        "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..9})" "$(printf -- '-%.0s' {1..16})"
}
