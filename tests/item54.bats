#!/usr/bin/env bats
# Item 54: Use Lock to Prevent Data Races in Threads.
bats_require_minimum_version 1.5.0
load helpers


counter_line='^Counter should be ([0-9]+), got ([0-9]+)$'

# run_counter PROG ARGS...: run it, check it printed exactly one counter line, set $got.
run_counter() {
    run --separate-stderr timeout 60 "$BIN/item54/$@"
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ ${lines[0]} =~ $counter_line ]]
    expected=${BASH_REMATCH[1]}
    got=${BASH_REMATCH[2]}
}

@test "race: prints 'Counter should be 500000, got N' and nothing else, with N <= 500000" {
    run_counter race
    [ "$expected" -eq 500000 ]
    [ "$got" -le 500000 ]
}

@test "race: unsynchronised increments lose updates (a short run within 30 tries)" {
    [ "$(nproc)" -gt 1 ] || skip "needs two cores for the threads to overlap"
    # On an idle machine every run is short. When other jobs hold the cores,
    # the threads seldom overlap and only about a third of the runs are short
    # (6 of 20 at load average 41), so 10 runs would miss ~3% of the time.
    # Stop at the first short run; give up after 30 (a miss then: ~2e-5).
    for i in $(seq 30); do
        run_counter race
        [ "$got" -le 500000 ]
        if [ "$got" -lt 500000 ]; then break; fi
    done
    echo "first short run: $i (got $got)"
    [ "$got" -lt 500000 ]
}

@test "race --gil: the GIL does not protect you: every one of 5 runs loses updates" {
    # The README promises a short count every run under --gil, busy machine or
    # not: the GIL changes hands dozens of times a run, and a switch between
    # the read and the write loses the others' increments.
    for i in $(seq 5); do
        run_counter race --gil
        echo "run $i: got $got"
        [ "$got" -lt 500000 ]
    done
}

@test "race --gil: updates are lost even pinned to one core (taskset -c 0)" {
    command -v taskset >/dev/null || skip "taskset is not installed"
    short=0
    for i in $(seq 5); do
        run --separate-stderr timeout 60 taskset -c 0 "$BIN/item54/race" --gil
        [ "$status" -eq 0 ]
        [[ $output =~ $counter_line ]]
        if [ "${BASH_REMATCH[2]}" -lt 500000 ]; then short=$((short + 1)); fi
    done
    echo "short in $short of 5 pinned runs"
    [ "$short" -ge 1 ]
}

@test "race --gil --time: the GIL changes hands during the run, not only at start and exit" {
    # Starting 5 threads through the barrier and letting each finish accounts
    # for at most 10 hand-overs; more means running threads were switched out.
    run -0 --separate-stderr timeout 60 "$BIN/item54/race" --gil --time
    [[ $stderr =~ The\ GIL\ changed\ hands\ ([0-9]+)\ times ]]
    echo "${BASH_REMATCH[1]} hand-overs"
    [ "${BASH_REMATCH[1]}" -gt 10 ]
}

@test "race --gil --switch-interval-ms 1000 (exercise 3): no switch mid-run, nothing lost" {
    # Each thread's 100,000 increments end well inside one 1 s interval, so the
    # GIL changes hands only at the start barrier and at thread exit.
    run -0 --separate-stderr timeout 60 "$BIN/item54/race" --gil --switch-interval-ms 1000 --time
    [ "$output" = "Counter should be 500000, got 500000" ]
    [[ $stderr =~ The\ GIL\ changed\ hands\ ([0-9]+)\ times ]]
    echo "${BASH_REMATCH[1]} hand-overs"
    [ "${BASH_REMATCH[1]}" -le 10 ]
}

@test "locked --gil --time: waiting for the mutex hands the GIL over, not only at start and exit" {
    run -0 --separate-stderr timeout 60 "$BIN/item54/locked" --gil --time
    [[ $stderr =~ The\ GIL\ changed\ hands\ ([0-9]+)\ times ]]
    echo "${BASH_REMATCH[1]} hand-overs"
    [ "${BASH_REMATCH[1]}" -gt 10 ]
}

@test "locked: exactly 500000 in 10 runs" {
    for i in $(seq 10); do
        run_counter locked
        [ "$got" -eq 500000 ]
    done
}

@test "locked --gil: exactly 500000 in 10 runs under the GIL" {
    for i in $(seq 10); do
        run_counter locked --gil
        [ "$got" -eq 500000 ]
    done
}

@test "atomic: exactly 500000 in 10 runs, with and without the GIL" {
    for i in $(seq 10); do
        run_counter atomic
        [ "$got" -eq 500000 ]
        run_counter atomic --gil
        [ "$got" -eq 500000 ]
    done
}

@test "counters: --threads and --count change the expected total" {
    run_counter locked --threads 3 --count 1000
    [ "$expected" -eq 3000 ]
    [ "$got" -eq 3000 ]
    run_counter atomic --threads 7 --count 10 --gil
    [ "$got" -eq 70 ]
}

@test "interleave: the book's schedule, step by step, every run; the counter ends at 1" {
    want=$(cat <<'TXT'
# Running in Thread A
value_a = getattr(counter, 'count')    # value_a = 0
# Context switch to Thread B
value_b = getattr(counter, 'count')    # value_b = 0
result_b = value_b + 1                 # result_b = 1
setattr(counter, 'count', result_b)    # counter.count = 1
# Context switch back to Thread A
result_a = value_a + 1                 # result_a = 1
setattr(counter, 'count', result_a)    # counter.count = 1
Counter should be 2, got 1
TXT
)
    for i in $(seq 20); do
        run -0 --separate-stderr timeout 10 "$BIN/item54/interleave"
        [ "$output" = "$want" ]
        [ "$stderr" = "" ]
    done
}

@test "bad flags: exit 2, one line naming the flag, then the usage, nothing on stdout" {
    for args in "--threads abc" "--threads 0" "--count -1" "--count 99999999999999999999" \
        "--threads 12abc" "--switch-interval-ms 0" "--threads" "--threads --gil" "--count="; do
        run -2 --separate-stderr timeout 10 "$BIN/item54/race" $args
        [ "$output" = "" ]
        flag=${args%% *} flag=${flag%=}
        [[ ${stderr_lines[0]} == "race: $flag: "* ]]
        [[ ${stderr_lines[1]} == "usage: race "* ]]
    done
    run -2 --separate-stderr timeout 10 "$BIN/item54/race" --gil --no-gil
    [ "$output" = "" ]
    [ "${stderr_lines[0]}" = "race: --gil and --no-gil: choose one" ]
    run -2 --separate-stderr timeout 10 "$BIN/item54/locked" --nope
    [ "$output" = "" ]
    [ "${stderr_lines[0]}" = "locked: unknown flag '--nope'" ]
    run -2 --separate-stderr timeout 10 "$BIN/item54/interleave" --threads 2
    [ "${stderr_lines[0]}" = "interleave: unknown flag '--threads'" ]
}

@test "--help: usage and flags on stdout, exit 0" {
    for prog in race locked atomic interleave; do
        run -0 --separate-stderr timeout 10 "$BIN/item54/$prog" --help
        [[ ${lines[0]} == "usage: $prog"* ]]
        [ "$stderr" = "" ]
    done
    run -0 timeout 10 "$BIN/item54/race" --help
    [[ $output == *"--gil"* ]]
}
