#!/usr/bin/env bats
# common/queue and common/worker: the library tests in tests/unit/test_queue.c,
# one @test per claim. make check runs them again under ASan+UBSan and TSan.
bats_require_minimum_version 1.5.0
load helpers


# unit NAME: run one case of tests/unit/test_queue; it must print "ok NAME" and pass.
unit() {
    run_unit 120 test_queue "$1"
}

@test "queue: FIFO order through a wrapping ring, bounded and unbounded; nowait reports EMPTY and FULL" {
    unit fifo
}

@test "queue: one task_done too many is an error (task_done counts puts, as in Python)" {
    unit task_done_too_many
}

@test "queue: put after close fails; get drains what is left, then reports closed" {
    unit put_after_close
}

@test "queue: a get blocked on an empty queue returns the item put later" {
    unit get_blocks_until_put
}

@test "queue: a put blocked on a full queue wakes on get, and the bound holds meanwhile" {
    unit put_blocks_until_get
}

@test "queue: close wakes every blocked getter (6 of them), each told the queue is closed" {
    unit close_wakes_every_getter
}

@test "queue: close wakes a put blocked on a full queue, which fails" {
    unit close_wakes_blocked_putter
}

@test "queue: join returns only after the last task_done (300 rounds)" {
    unit join_waits_for_last_task_done
}

@test "queue: 4 producers x 4 consumers x 100,000 items through maxsize 8: each arrives once, in order per producer, never over the bound" {
    unit stress
    [[ $output == *"missing 0, duplicated 0, over the bound 0, out of order 0"* ]]
}

@test "worker: start_threads/stop_threads pass every item through exactly once and close the in-queue" {
    unit worker_threads
}

@test "test_queue: an unknown test name is an error, so a typo cannot pass" {
    run --separate-stderr timeout 10 "$BIN/tests/unit/test_queue" no_such_test
    [ "$status" -eq 2 ]
    [ "$output" = "" ]
}
