#!/usr/bin/env bats
# Item 55: Use Queue to Coordinate Work Between Threads.
# The library itself (common/queue, common/worker) is tested in lib_queue.bats.
bats_require_minimum_version 1.5.0
load helpers


# prog NAME ARGS...: run item55/NAME under timeout, stdout and stderr apart.
prog() {
    run --separate-stderr timeout 60 "$BIN/item55/$@"
}

peak_line='^(download|resize|upload)_queue peaked at ([0-9]+) items?$'

# ---- polling ----

@test "polling: prints 'Processed 1000 items after polling N times', N >= 3000, nothing else" {
    prog polling
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ ${lines[0]} =~ ^Processed\ 1000\ items\ after\ polling\ ([0-9]+)\ times$ ]]
    # 1000 successful gets in each of the 3 workers, plus the empty polls.
    [ "${BASH_REMATCH[1]}" -ge 3000 ]
    [ "$stderr" = "" ]
}

@test "polling: idle workers keep polling: 10 items past a slow upload cost far more than 30 polls" {
    prog polling --items 10 --slow-stage upload --slow-us 20000
    [ "$status" -eq 0 ]
    [[ ${lines[0]} =~ ^Processed\ 10\ items\ after\ polling\ ([0-9]+)\ times$ ]]
    echo "polled ${BASH_REMATCH[1]} times"
    # 30 gets; download and resize then poll every 10 ms for the 0.2 s upload takes
    [ "${BASH_REMATCH[1]}" -gt 40 ]
}

@test "polling --slow-stage resize: the queue in front of the slow stage grows with the input" {
    prog polling --slow-stage resize --slow-us 200 --items 2000
    [ "$status" -eq 0 ]
    [ "${lines[0]}" != "" ]
    [[ ${lines[0]} == "Processed 2000 items after polling "* ]]
    [[ ${lines[1]} =~ $peak_line ]]
    [ "${BASH_REMATCH[1]}" = resize ]
    echo "peak ${BASH_REMATCH[2]}"
    [ "${BASH_REMATCH[2]}" -gt 100 ]
    [ "${BASH_REMATCH[2]}" -le 2000 ]
}

# ---- blocking ----

book_blocking="Consumer waiting
Producer putting
Producer done
Consumer done
Producer put 1
Consumer got 1
Producer put 2
Producer done
Consumer got 2
Consumer done
Consumer waiting
Producer putting
Producer waiting
Consumer working
Consumer done
Producer done"

blocking_titles="== 1. get blocks until a put ==
== 2. Queue(1): the second put blocks until a get ==
== 3. task_done and join: waiting for the work to be done =="

@test "blocking: the book's 16 lines in the book's order, in 20 runs out of 20" {
    for i in $(seq 20); do
        prog blocking
        [ "$status" -eq 0 ]
        [ "$output" = "$book_blocking" ]
        [ "$stderr" = "$blocking_titles" ]
    done
}

@test "blocking: each demo's title on stderr, between the demos' lines when both go to one stream" {
    run timeout 60 "$BIN/item55/blocking" 2>&1
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "== 1. get blocks until a put ==" ]
    [ "${lines[5]}" = "== 2. Queue(1): the second put blocks until a get ==" ]
    [ "${lines[12]}" = "== 3. task_done and join: waiting for the work to be done ==" ]
    [ "${#lines[@]}" -eq 19 ]
}

@test "blocking: the book's order also pinned to one CPU, where the threads take turns (10 runs)" {
    command -v taskset >/dev/null || skip "taskset is not installed"
    for i in $(seq 10); do
        run --separate-stderr timeout 60 taskset -c 0 "$BIN/item55/blocking"
        [ "$status" -eq 0 ]
        [ "$output" = "$book_blocking" ]
    done
}

# index_of LINE FROM TO: the index of LINE among lines[FROM..TO], or fail.
index_of() {
    local i
    for ((i = $2; i <= $3; i++)); do
        if [ "${lines[i]}" = "$1" ]; then
            echo "$i"
            return 0
        fi
    done
    return 1
}

@test "blocking --free: the orders the book's code guarantees hold in 20 runs out of 20" {
    for i in $(seq 20); do
        prog blocking --free
        [ "$status" -eq 0 ]
        [ "${#lines[@]}" -eq 16 ]
        # Each demo's lines stay in its own block: the demos run one after another.
        [ "$(printf '%s\n' "${lines[@]:0:4}" | sort | tr '\n' '|')" = "Consumer done|Consumer waiting|Producer done|Producer putting|" ]
        [ "$(printf '%s\n' "${lines[@]:4:6}" | sort | tr '\n' '|')" = "Consumer done|Consumer got 1|Consumer got 2|Producer done|Producer put 1|Producer put 2|" ]
        [ "$(printf '%s\n' "${lines[@]:10:6}" | sort | tr '\n' '|')" = "Consumer done|Consumer waiting|Consumer working|Producer done|Producer putting|Producer waiting|" ]
        # 1: get returns only after the put.
        [ "$(index_of 'Producer putting' 0 3)" -lt "$(index_of 'Consumer done' 0 3)" ]
        # 2: the consumer gets only once the producer is stuck in its second put.
        [ "${lines[4]}" = "Producer put 1" ]
        [ "$(index_of 'Consumer got 1' 4 9)" -lt "$(index_of 'Consumer got 2' 4 9)" ]
        # 3: the consumer works only after the put; join returns only after task_done.
        [ "$(index_of 'Producer putting' 10 15)" -lt "$(index_of 'Consumer working' 10 15)" ]
        [ "${lines[15]}" = "Producer done" ]
    done
}

# ---- pipeline ----

@test "pipeline: '1000 items finished' and nothing else, in 20 runs out of 20" {
    for i in $(seq 20); do
        prog pipeline
        [ "$status" -eq 0 ]
        [ "$output" = "1000 items finished" ]
        [ "$stderr" = "" ]
    done
}

@test "pipeline --sentinel: the book's sentinel close ends the same way" {
    for i in $(seq 5); do
        prog pipeline --sentinel
        [ "$status" -eq 0 ]
        [ "$output" = "1000 items finished" ]
    done
    prog pipeline --sentinel --maxsize 1 --items 300
    [ "$output" = "300 items finished" ]
}

@test "pipeline --slow-stage resize: unbounded, the queue grows; --maxsize 10 holds it at 10" {
    prog pipeline --slow-stage resize --slow-us 200 --items 300
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "300 items finished" ]
    [[ ${lines[1]} =~ $peak_line ]]
    echo "unbounded peak ${BASH_REMATCH[2]}"
    [ "${BASH_REMATCH[2]}" -gt 10 ]

    for maxsize in 10 1; do
        prog pipeline --slow-stage resize --slow-us 200 --items 300 --maxsize $maxsize
        [ "$status" -eq 0 ]
        [ "${lines[0]}" = "300 items finished" ]
        [[ ${lines[1]} =~ $peak_line ]]
        echo "maxsize $maxsize: peak ${BASH_REMATCH[2]}"
        [ "${BASH_REMATCH[2]}" -le $maxsize ]
        [ "${BASH_REMATCH[2]}" -ge 1 ]
    done
    [ "${lines[1]}" = "resize_queue peaked at 1 item" ] # one item, not "1 items"
}

# ---- fan_out ----

@test "fan_out: '1000 items finished' with 3/4/5 workers, in 20 runs out of 20" {
    for i in $(seq 20); do
        prog fan_out
        [ "$status" -eq 0 ]
        [ "$output" = "1000 items finished" ]
        [ "$stderr" = "" ]
    done
}

@test "fan_out: the worker counts, --items and --maxsize are flags; every item still finishes" {
    prog fan_out --download-threads 1 --resize-threads 7 --upload-threads 2 --items 333
    [ "$output" = "333 items finished" ]
    prog fan_out --items 1 --maxsize 1
    [ "$output" = "1 items finished" ]
    prog fan_out --items 500 --maxsize 2 --slow-stage upload --slow-us 10
    [ "${lines[0]}" = "500 items finished" ]
    [[ ${lines[1]} =~ $peak_line ]]
    [ "${BASH_REMATCH[1]}" = upload ]
    [ "${BASH_REMATCH[2]}" -le 2 ]
}

@test "--time: wall and CPU time go to stderr; stdout keeps the book's line" {
    for p in polling pipeline fan_out; do
        prog $p --time --items 50
        [ "$status" -eq 0 ]
        [ "${#lines[@]}" -eq 1 ]
        [[ $stderr =~ ^Took\ [0-9]+\.[0-9]{3}\ seconds,\ CPU\ [0-9]+\.[0-9]{6}\ seconds$ ]]
    done
}

# ---- throughput ----

@test "throughput: every item put is got, for 1 and 2 producers/consumers" {
    for args in "--capacity 1 --items 2000" "--capacity 1024 --items 100000 --producers 2 --consumers 2" \
        "--capacity 0 --items 10000 --producers 3 --consumers 1"; do
        prog throughput $args
        [ "$status" -eq 0 ]
        [[ $output =~ ^capacity\ [0-9]+,\ [0-9]\ producer\(s\),\ [0-9]\ consumer\(s\):\ [0-9]+\ items\ in\ [0-9.]+\ s\ =\ [0-9.e+]+\ [kM]\ items/s$ ]]
    done
}

@test "throughput --stats: one line of KEY=VALUE on stderr for make bench, stdout unchanged" {
    prog throughput --capacity 16 --items 5000 --stats
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ $stderr =~ ^stats\ items=5000\ seconds=[0-9.]+\ items_per_second=[0-9]+$ ]]
}

# ---- command lines ----

@test "bad flags: exit 2, one line naming the flag, then the usage, nothing on stdout" {
    for p in polling pipeline fan_out; do
        for args in "--items 0" "--items abc" "--work-us -1" "--slow-stage nowhere" "--slow-us 1x" \
            "--slow-us 500" "--slow-stage"; do
            prog $p $args
            [ "$status" -eq 2 ]
            [ "$output" = "" ]
            flag=${args%% *}
            [[ ${stderr_lines[0]} == "$p: $flag: "* ]]
            [[ ${stderr_lines[1]} == "usage: $p "* ]]
        done
    done
    prog pipeline --slow-us 500
    [ "${stderr_lines[0]}" = "pipeline: --slow-us: needs --slow-stage, or no stage is slow" ]
    prog pipeline --slow-stage
    [ "${stderr_lines[0]}" = "pipeline: --slow-stage: missing value (expected download|resize|upload)" ]
    prog pipeline --maxsize -1
    [ "$status" -eq 2 ]
    [[ ${stderr_lines[0]} == "pipeline: --maxsize: "* ]]
    prog fan_out --resize-threads 0
    [ "$status" -eq 2 ]
    [[ ${stderr_lines[0]} == "fan_out: --resize-threads: "* ]]
    prog blocking --nope
    [ "$status" -eq 2 ]
    [ "$output" = "" ]
    [ "${stderr_lines[0]}" = "blocking: unknown flag '--nope'" ]
    prog throughput --capacity x
    [ "$status" -eq 2 ]
    [[ ${stderr_lines[0]} == "throughput: --capacity: "* ]]
}

@test "--help: usage and flags on stdout, exit 0" {
    for p in polling blocking pipeline fan_out throughput; do
        prog $p --help
        [ "$status" -eq 0 ]
        [[ ${lines[0]} == "usage: $p"* ]]
        [ "$stderr" = "" ]
    done
    prog fan_out --help
    [[ $output == *"--resize-threads"* ]]
}
