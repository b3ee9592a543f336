#!/usr/bin/env bash
# Items 61-63. Each item's part is a function; the end of the file calls them.
set -uo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

# ---- Item 61: the guessing-game servers under load ----
#
# Each server (--serve --quiet) against item61-63/guess_load: N clients, a
# thread each, all connected before any plays, each playing G of the book's
# games. Per run: games/s, the median and 99th-percentile round trip of one
# NUMBER, and the server's CPU time per 1,000 games (from /proc/PID/stat).
# Median of ITEM61_RUNS runs per cell. The fd soft limit is raised to the hard
# one first (1,000 clients need 1,000 descriptors in each process).

ITEM61_RUNS=${ITEM61_RUNS:-3}
ITEM61_GAMES=${ITEM61_GAMES:-20000} # games per run, split among the clients

# item61_start_server PROG: start it, set ITEM61_PID and ITEM61_PORT.
item61_start_server() {
    local fifo line
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    "item61-63/$1" --serve --port 0 --quiet >"$fifo" &
    ITEM61_PID=$!
    exec 4<"$fifo"
    read -r -t 60 line <&4
    exec 4<&-
    rm -f "$fifo"
    ITEM61_PORT=${line##*:}
}

# item61_cpu PID: the process's user + system CPU time so far, in seconds.
item61_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat"
}

# item61_cell PROG CLIENTS [GAMES THINK_MS]: "games/s median_ms p99_ms
# cpu_ms_per_1000_games", each the median over the runs, against a fresh
# server. Without GAMES, about ITEM61_GAMES games a run, back to back.
item61_cell() {
    local prog=$1 clients=$2 games=${3:-} think=${4:-0} rates=() medians=() p99s=() cpus=() i out c0 c1
    if [ -z "$games" ]; then
        games=$((ITEM61_GAMES / clients))
        [ "$games" -ge 5 ] || games=5
    fi
    item61_start_server "$prog"
    for i in $(seq "$ITEM61_RUNS"); do
        c0=$(item61_cpu "$ITEM61_PID")
        out=$(timeout 600 item61-63/guess_load --connect "127.0.0.1:$ITEM61_PORT" \
            --clients "$clients" --games "$games" --think-ms "$think") || { echo "guess_load failed: $out" >&2; break; }
        c1=$(item61_cpu "$ITEM61_PID")
        # "N clients, G games in S seconds: R games/s; NUMBER round trip: median M ms, p99 P ms (...)"
        rates+=("$(awk "{ print \$8 }" <<<"$out")")
        medians+=("$(awk "{ print \$14 }" <<<"$out")")
        p99s+=("$(awk "{ print \$17 }" <<<"$out")")
        cpus+=("$(awk -v a="$c0" -v b="$c1" -v g="$((clients * games))" \
            'BEGIN { printf "%.1f\n", (b - a) * 1e6 / g }')")
    done
    kill -TERM "$ITEM61_PID"
    wait "$ITEM61_PID"
    echo "$(median "${rates[@]}") $(median "${medians[@]}") $(median "${p99s[@]}") $(median "${cpus[@]}")"
}

item61_bench() {
    ulimit -n "$(ulimit -Hn)" || echo "item61: could not raise the fd limit" >&2
    local prog clients games_s median p99 cpu
    declare -A rate p99_at
    echo "## Item 61: the guessing game under load ($(nproc) CPUs, load average" \
        "$(cut -d' ' -f1-3 /proc/loadavg); fd limit $(ulimit -n); median of $ITEM61_RUNS runs;" \
        "about $ITEM61_GAMES games a run)"
    echo
    printf '| %-13s | %7s | %9s | %13s | %10s | %19s |\n' server clients games/s \
        "median RTT ms" "p99 RTT ms" "server CPU ms/1000g"
    printf '|%s|%s|%s|%s|%s|%s|\n' "---------------" "---------" "-----------" \
        "---------------" "------------" "---------------------"
    for prog in guess_threads guess_async; do
        for clients in 1 10 100 1000; do
            read -r games_s median p99 cpu < <(item61_cell "$prog" "$clients")
            rate[$prog.$clients]=$games_s
            p99_at[$prog.$clients]=$p99
            printf '| %-13s | %7s | %9s | %13s | %10s | %19s |\n' "$prog" "$clients" "$games_s" \
                "$median" "$p99" "$cpu"
        done
    done
    # Paced: 1,000 clients connected, each pausing 0.25-0.75 s before each of
    # its games, so the server is offered about 2,000 games/s, not all it can
    # take: the round trip of a server holding 1,000 clients, not a queue's.
    for prog in guess_threads guess_async; do
        read -r games_s median p99 cpu < <(item61_cell "$prog" 1000 6 500)
        p99_at[$prog.paced]=$p99
        printf '| %-13s | %7s | %9s | %13s | %10s | %19s |\n' "$prog" "1000 p" "$games_s" \
            "$median" "$p99" "$cpu"
    done
    echo
    echo "(1000 p: paced, each client pausing about 0.5 s before each game)"
    echo
    header
    row "async, 1000 clients paced: p99 round trip (ms)" "${p99_at[guess_async.paced]}" 10 "< 10 ms"
    row "threads, 1000 clients paced: p99 round trip (ms)" "${p99_at[guess_threads.paced]}" 10 "report"
    row "async, 1000 back to back: p99 round trip (ms)" "${p99_at[guess_async.1000]}" 10 "report"
    row "async / threads games/s at 1000 clients (x)" \
        "$(awk -v a="${rate[guess_async.1000]}" -v t="${rate[guess_threads.1000]}" \
            'BEGIN { print (t ? a / t : 0) }')" 1 ">= 1x"
    row "threads: games/s at 1000 / at 10 clients (x)" \
        "$(awk -v a="${rate[guess_threads.1000]}" -v t="${rate[guess_threads.10]}" \
            'BEGIN { print (t ? a / t : 0) }')" 1 "report"
}

item61_bench
