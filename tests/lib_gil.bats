#!/usr/bin/env bats
# common/gil: the emulated GIL's promises (tests/unit/test_gil.c).
bats_require_minimum_version 1.5.0
load helpers


gil_test() {
    run_unit 90 test_gil "$@"
}

@test "gil: mutual exclusion: 4 threads ticking between increments never overlap, count exact" {
    gil_test mutual_exclusion
    [[ $output == *"counter 800000 of 800000, 0 overlaps"* ]]
}

@test "gil: the mutual-exclusion check fails when the GIL is off (it can detect a broken GIL)" {
    [ "$(nproc)" -gt 1 ] || skip "needs two cores for free threads to overlap"
    caught=0
    for i in 1 2 3 4 5; do
        run timeout 90 "$BIN/tests/unit/test_gil" mutual_exclusion --off
        [ "$status" -le 1 ]
        if [ "$status" -eq 1 ] && [[ $output == *FAIL* ]]; then caught=1; break; fi
    done
    [ "$caught" -eq 1 ]
}

@test "gil: a thread blocked in a wrapped call (read, gil_mutex_lock) does not hold the GIL" {
    gil_test blocking_releases
    [[ $output == *"ok: a thread blocked in GIL_ALLOW_THREADS(read(...)) let another take the GIL"* ]]
    [[ $output == *"ok: a thread waiting in gil_mutex_lock let another take the GIL"* ]]
}

@test "gil: a thread that blocks while asked to let go waits until the asker has the GIL" {
    gil_test blocking_hands_over
    [[ $output == *"ok: blocking on request"* ]]
}

@test "gil: a waiting thread gets the GIL while the holder keeps ticking (no starvation)" {
    gil_test no_starvation
    [[ $output =~ the\ waiter\ ran\ after\ [0-9]+\ ticks ]]
}

@test "gil: switched off, every call is a no-op" {
    gil_test off_is_noop
}

@test "gil: gil_init refuses while held and resets the count; GIL_ALLOW_THREADS keeps errno" {
    gil_test init
}

@test "gil: test_gil rejects an unknown test" {
    run -2 timeout 10 "$BIN/tests/unit/test_gil" nope
}
