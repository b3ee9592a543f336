#!/usr/bin/env bats
# common/futures: ThreadPoolExecutor and ProcessPoolExecutor (tests/unit/test_futures.c).
bats_require_minimum_version 1.5.0

setup() {
    BIN=${BIN:-$PWD}
    T=$BIN/tests/unit/test_futures
}

@test "thread pool: map keeps order, errors reach result() with their message, max_workers holds, shutdown waits" {
    run -0 timeout 30 "$T" threads
    [[ ${lines[-1]} =~ ^[0-9]+\ cases,\ 0\ failed$ ]]
}
