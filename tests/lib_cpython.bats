#!/usr/bin/env bats
# common/queue, common/futures and common/subprocess held to CPython's own
# tests: tests/unit/test_cpython_{queue,futures,subprocess}.c carry the
# applicable cases of Lib/test/test_queue.py, Lib/test/test_concurrent_futures/
# and Lib/test/test_subprocess.py, each named after the CPython test it
# checks. One case per process, each under `timeout`, so a hang fails.
bats_require_minimum_version 1.5.0

setup() {
    BIN=${BIN:-$PWD}
}

# cpython PROGRAM CASE: run one case; it must end with "ok CASE" and exit 0.
cpython() {
    run --separate-stderr timeout 120 "$BIN/tests/unit/$1" "$2"
    echo "$output"
    echo "$stderr"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "ok $2" ]
}

# Every case a program has is run by this file, and nothing else is named.
every_case_is_run() {
    run -0 "$BIN/tests/unit/$1" --list
    [ "${#lines[@]}" -gt 0 ]
    listed=$(printf '%s\n' "${lines[@]}" | sort)
    named=$(grep -o "cpython $1 [A-Za-z_0-9]*" "$BATS_TEST_FILENAME" | awk '{ print $3 }' | sort)
    [ "$listed" = "$named" ]
    run -2 "$BIN/tests/unit/$1" no_such_case
}

@test "test_cpython_queue: this file runs every case, and an unknown case is an error" {
    every_case_is_run test_cpython_queue
}

@test "test_queue: test_basic" {
    cpython test_cpython_queue test_basic
}

@test "test_queue: test_nowait" {
    cpython test_cpython_queue test_nowait
}

@test "test_queue: test_queue_task_done" {
    cpython test_cpython_queue test_queue_task_done
}

@test "test_queue: test_queue_join" {
    cpython test_cpython_queue test_queue_join
}

@test "test_queue: test_shutdown_empty" {
    cpython test_cpython_queue test_shutdown_empty
}

@test "test_queue: test_shutdown_nonempty" {
    cpython test_cpython_queue test_shutdown_nonempty
}

@test "test_queue: test_shutdown_allowed_transitions" {
    cpython test_cpython_queue test_shutdown_allowed_transitions
}

@test "test_queue: test_shutdown_all_methods_in_one_thread" {
    cpython test_cpython_queue test_shutdown_all_methods_in_one_thread
}

@test "test_queue: test_shutdown_all_methods_in_many_threads" {
    cpython test_cpython_queue test_shutdown_all_methods_in_many_threads
}

@test "test_queue: test_shutdown_get" {
    cpython test_cpython_queue test_shutdown_get
}

@test "test_queue: test_shutdown_put" {
    cpython test_cpython_queue test_shutdown_put
}

@test "test_queue: test_shutdown_join" {
    cpython test_cpython_queue test_shutdown_join
}

@test "test_queue: test_shutdown_put_join" {
    cpython test_cpython_queue test_shutdown_put_join
}

@test "test_queue: test_shutdown_get_task_done_join" {
    cpython test_cpython_queue test_shutdown_get_task_done_join
}

@test "test_queue: test_shutdown_pending_get" {
    cpython test_cpython_queue test_shutdown_pending_get
}

@test "test_queue: test_order" {
    cpython test_cpython_queue test_order
}

@test "test_queue: test_many_threads" {
    cpython test_cpython_queue test_many_threads
}

@test "test_queue: test_many_threads_nonblock" {
    cpython test_cpython_queue test_many_threads_nonblock
}

@test "queue: a huge maxsize (1 << 61, SIZE_MAX) reserves nothing; a bound of 100 still holds as the ring grows and wraps" {
    cpython test_cpython_queue huge_maxsize_reserves_nothing
}
