#!/usr/bin/env bash
# Items 61-63. Each item's part is a function; the end of the file calls them.
set -uo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

# ---- Item 61: the guessing-game servers under load ----
#
# Each server (--serve --quiet) against item61-63/guess_load --tasks: N
# clients, each a task on one common/aio loop, all connected before any
# plays, each playing G of the book's games. A load client must cost the
# machine less than the server it measures, or it measures itself: with a
# thread per client (guess_load's default), 1,000 client threads spend the
# two cores the server needs on their own wakeups, for either server alike,
# and part of every figure is their scheduling, not the server's. On one
# loop the client costs about what guess_async does (the client CPU column).
# The rows "1000 t" keep the thread-per-client driver, to show the effect.
#
# The two servers of a cell run at once, the one not measured idle, and
# their runs alternate, so that what else the shared machine does falls on
# both alike; each run waits first for the machine to be quiet (bench/lib.sh's
# wait_idle), and the table says how much of the CPUs others took meanwhile.
#
# Per run: games/s, NUMBER round trips per second, the median and
# 99th-percentile round trip of one NUMBER, and the CPU time per 1,000 games
# of the server (from /proc/PID/stat) and of the load client (from
# /usr/bin/time). Median of ITEM61_RUNS runs per cell.
#
# Little's law: N clients that each always wait for an answer keep N
# requests in the system, so the mean round trip is N / (round trips per
# second), whatever the server: 1,000 / 30,000 per s = 33 ms. The column
# "N/rate" is that bound, next to the median measured. Back to back at 1,000
# clients the round trip measures the queue, not the server; the p99 target
# (under 10 ms with 1,000 clients) is the paced rows': 1,000 clients
# connected, each pausing about 0.5 s before each game.
#
# Server and client share the machine's cores, so games/s can reach at most
# cores / (server's + client's CPU per game): the "CPU bound" limit rows.
#
# The fd soft limit is raised to the hard one first (1,000 clients need
# 1,000 descriptors in each process).

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

# item61_cpu PID: the process's user + system CPU time so far, in jiffies.
item61_cpu() {
    awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# item61_run PROG PID PORT DRIVER CLIENTS GAMES THINK_MS: one guess_load run
# against the server PID: "games/s round_trips/s median_ms little_ms p99_ms
# server_cpu client_cpu others" (CPU in ms per 1,000 games; others: the
# percentage of the machine's CPUs that other processes took meanwhile, also
# appended to $item61_others).
item61_others=$bench_dir/item61_others
item61_run() {
    local prog=$1 pid=$2 port=$3 driver=$4 clients=$5 games=$6 think=$7 out s0 s1 b0 t0 b1 t1 f
    local tasks=()
    [ "$driver" = tasks ] && tasks=(--tasks)
    wait_idle # bench/lib.sh: until the others use under 5% of the CPUs (at most 5 s)
    s0=$(item61_cpu "$pid")
    read -r b0 t0 < <(cpu_jiffies)
    out=$(timeout 600 /usr/bin/time -o "$bench_time" -f '%U %S' item61-63/guess_load \
        --connect "127.0.0.1:$port" --clients "$clients" --games "$games" \
        --think-ms "$think" "${tasks[@]}") || {
        echo "$prog: guess_load failed: $out" >&2
        return 1
    }
    read -r b1 t1 < <(cpu_jiffies)
    s1=$(item61_cpu "$pid")
    # "N clients, G games in S seconds: R games/s; NUMBER round trip:
    #  median M ms, p99 P ms (K round trips)"
    read -r -a f <<<"$out"
    awk -v hz="$bench_hz" -v b="$((b1 - b0))" -v t="$((t1 - t0))" -v s="$((s1 - s0))" \
        'END { c = ($1 + $2) * hz; o = t ? 100 * (b - s - c) / t : 0
               printf "%.0f\n", (o > 0 ? o : 0) }' \
        "$bench_time" >>"$item61_others"
    awk -v n="$clients" -v sec="${f[5]}" -v rate="${f[7]}" -v med="${f[13]}" -v p99="${f[16]}" \
        -v k="${f[18]#(}" -v g="$((clients * games))" -v s="$((s1 - s0))" -v hz="$bench_hz" \
        -v others="$(tail -n 1 "$item61_others")" \
        'END { printf "%s %.0f %s %.3g %s %.1f %.1f %s\n", rate, k / sec, med, n * sec * 1e3 / k,
                      p99, s * 1e6 / hz / g, ($1 + $2) * 1e6 / g, others }' "$bench_time"
}

# item61_cells DRIVER CLIENTS [GAMES THINK_MS]: for each server, a line
# "PROG games/s round_trips/s median_ms little_ms p99_ms server_cpu
# client_cpu others", each the median of ITEM61_RUNS runs. Both servers run at once
# (the one not measured is idle) and their runs alternate, so that what else
# the machine does meanwhile falls on both alike. DRIVER: tasks (guess_load
# --tasks) or threads (a thread per client). Without GAMES, about
# ITEM61_GAMES games a run, back to back.
item61_cells() {
    local driver=$1 clients=$2 games=${3:-} think=${4:-0} i j prog v
    local progs=(guess_threads guess_async) order
    declare -A pid port results
    if [ -z "$games" ]; then
        games=$((ITEM61_GAMES / clients))
        [ "$games" -ge 5 ] || games=5
    fi
    for prog in "${progs[@]}"; do
        item61_start_server "$prog"
        pid[$prog]=$ITEM61_PID port[$prog]=$ITEM61_PORT results[$prog]=
    done
    for i in $(seq "$ITEM61_RUNS"); do
        order=("${progs[@]}")
        [ $((i % 2)) -eq 0 ] && order=("${progs[1]}" "${progs[0]}")
        for prog in "${order[@]}"; do
            results[$prog]+="$(item61_run "$prog" "${pid[$prog]}" "${port[$prog]}" "$driver" \
                "$clients" "$games" "$think")"$'\n'
        done
    done
    for prog in "${progs[@]}"; do
        kill -TERM "${pid[$prog]}"
        wait "${pid[$prog]}"
        v=()
        for j in 1 2 3 4 5 6 7 8; do
            # shellcheck disable=SC2046 # one number per word
            v+=("$(median $(awk -v j="$j" 'NF { print $j }' <<<"${results[$prog]}"))")
        done
        echo "$prog ${v[*]}"
    done
}

item61_row() { # item61_row SERVER CLIENTS GAMES/S RTS/S MEDIAN LITTLE P99 CPU CLIENT_CPU OTHERS
    printf '| %-13s | %7s | %7s | %6s | %9s | %9s | %8s | %10s | %10s | %6s |\n' "$@"
}

item61_bench() {
    ulimit -n "$(ulimit -Hn)" || echo "item61: could not raise the fd limit" >&2
    local prog clients key games_s rtt_s median little p99 cpu ccpu others
    declare -A rate p99_at median_at little_at cpu_limit line
    : >"$item61_others"
    echo "## Item 61: the guessing game under load ($(nproc) CPUs, load average" \
        "$(cut -d' ' -f1-3 /proc/loadavg); fd limit $(ulimit -n); median of $ITEM61_RUNS runs;" \
        "about $ITEM61_GAMES games a run)"
    echo
    item61_row server clients games/s "RTs/s" "median ms" "N/rate ms" "p99 ms" "server CPU" \
        "client CPU" "others"
    printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' "---------------" "---------" "---------" \
        "--------" "-----------" "-----------" "----------" "------------" "------------" \
        "--------"
    # Each cell's two servers are measured together (item61_cells); the table
    # shows one server's rows, then the other's.
    for clients in 1 10 100 1000; do
        while read -r prog games_s rtt_s median little p99 cpu ccpu others; do
            rate[$prog.$clients]=$games_s p99_at[$prog.$clients]=$p99
            median_at[$prog.$clients]=$median little_at[$prog.$clients]=$little
            cpu_limit[$prog.$clients]=$(awk -v s="$cpu" -v c="$ccpu" -v n="$(nproc)" \
                'BEGIN { print (s + c ? n * 1e6 / (s + c) : 0) }')
            line[$prog.$clients]=$(item61_row "$prog" "$clients" "$games_s" "$rtt_s" "$median" \
                "$little" "$p99" "$cpu" "$ccpu" "$others")
        done < <(item61_cells tasks "$clients")
    done
    # Paced: 1,000 clients connected, each pausing 0.25-0.75 s before each of
    # its games, so the server is offered about 2,000 games/s, not all it can
    # take: the round trip of a server holding 1,000 clients, not a queue's.
    while read -r prog games_s rtt_s median little p99 cpu ccpu others; do
        p99_at[$prog.paced]=$p99
        line[$prog.paced]=$(item61_row "$prog" "1000 p" "$games_s" "$rtt_s" "$median" "-" "$p99" \
            "$cpu" "$ccpu" "$others")
    done < <(item61_cells tasks 1000 6 500)
    # The same back-to-back load from a thread per client.
    while read -r prog games_s rtt_s median little p99 cpu ccpu others; do
        rate[$prog.threads]=$games_s
        line[$prog.threads]=$(item61_row "$prog" "1000 t" "$games_s" "$rtt_s" "$median" "$little" \
            "$p99" "$cpu" "$ccpu" "$others")
    done < <(item61_cells threads 1000)
    for prog in guess_threads guess_async; do
        for key in 1 10 100 1000; do echo "${line[$prog.$key]}"; done
    done
    for key in paced threads; do
        for prog in guess_threads guess_async; do echo "${line[$prog.$key]}"; done
    done
    echo
    echo "(driver guess_load --tasks; 1000 p: paced, each client pausing about 0.5 s before each"
    echo "game; 1000 t: guess_load with a thread per client. RTs/s: NUMBER round trips per second;"
    echo "N/rate: clients / RTs/s, Little's law's round trip for clients that never pause;"
    echo "CPU: user + system ms per 1,000 games. CPU bound: the most games/s the machine's $(nproc)"
    echo "cores allow at that CPU per game, server's and client's together. others: the % of the"
    echo "CPUs that other processes and kernel threads took during the runs)"
    echo
    sort -n "$item61_others" | awk '{ v[NR] = $1 } END {
        printf "Other processes and kernel threads took a median %d%% (at most %d%%) of the CPUs",
            v[int((NR + 1) / 2)], v[NR]
        printf " in the %d runs.\n", NR }'
    echo
    header
    row "async, 1000 paced: p99 RTT (ms)" "${p99_at[guess_async.paced]}" 10 "< 10 ms"
    row "threads, 1000 paced: p99 RTT (ms)" "${p99_at[guess_threads.paced]}" 10 "report"
    row "async, 1000 back to back: median RTT (ms)" "${median_at[guess_async.1000]}" \
        "${little_at[guess_async.1000]}" "~ N/rate"
    row "threads, 1000 back to back: median RTT (ms)" "${median_at[guess_threads.1000]}" \
        "${little_at[guess_threads.1000]}" "~ N/rate"
    row "async, 1000 back to back: p99 RTT (ms)" "${p99_at[guess_async.1000]}" \
        "${little_at[guess_async.1000]}" "report"
    row "async, 1000 back to back: games/s" "${rate[guess_async.1000]}" \
        "${cpu_limit[guess_async.1000]}" "~ CPU bound"
    row "threads, 1000 back to back: games/s" "${rate[guess_threads.1000]}" \
        "${cpu_limit[guess_threads.1000]}" "~ CPU bound"
    row "async / threads games/s at 1000 clients (x)" \
        "$(awk -v a="${rate[guess_async.1000]}" -v t="${rate[guess_threads.1000]}" \
            'BEGIN { print (t ? a / t : 0) }')" 1 ">= 1x"
    row "the same, driven by a thread per client (x)" \
        "$(awk -v a="${rate[guess_async.threads]}" -v t="${rate[guess_threads.threads]}" \
            'BEGIN { print (t ? a / t : 0) }')" 1 "report"
    row "threads: games/s at 1000 / at 10 clients (x)" \
        "$(awk -v a="${rate[guess_threads.1000]}" -v t="${rate[guess_threads.10]}" \
            'BEGIN { print (t ? a / t : 0) }')" 1 "report"
    row "async: games/s at 1000 / at 10 clients (x)" \
        "$(awk -v a="${rate[guess_async.1000]}" -v t="${rate[guess_async.10]}" \
            'BEGIN { print (t ? a / t : 0) }')" 1 "report"
}

item61_bench
