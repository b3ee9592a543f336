#!/usr/bin/env bats
# A review of common/aio's loop and task layers (tests/unit/test_aio_review.c): edges where
# aio.h, the implementation notes or asyncio say one thing and the code could do another.
# A test skipped with "defect: ..." fails today because of the defect it names, in
# common/aio_loop.c or common/aio_task.c; remove the skip when it is fixed.
bats_require_minimum_version 1.5.0
load helpers

review() {
    run_unit 120 test_aio_review "$@"
}

@test "aio loop: due timers run in (deadline, scheduling) order whatever order they were made in, cancelled ones never; each thread's call_soon_threadsafe calls run in its order" {
    review due_timers_run_in_deadline_then_scheduling_order threadsafe_calls_keep_each_threads_order
}

@test "aio loop: a task sleeping for ever (INFINITY, 1e20 s) does not kill the loop" {
    skip "defect: aio_loop.c epoll_wait_ns turns a deadline past 2^63 s into an invalid timespec; epoll_pwait2 says EINVAL and the loop dies ('aio: epoll_wait: Invalid argument')"
    review sleep_forever_does_not_kill_the_loop
}

@test "aio close: a task that a cancelled task starts while the loop closes does not keep aio_run from returning" {
    skip "defect: aio_task.c aio_tasks_close cancels only the tasks alive when it starts, then runs the loop until every task is done: a task made meanwhile is never cancelled (hang)"
    review close_cancels_tasks_made_while_closing
}

@test "aio close: run_coroutine_threadsafe reaching a loop while it closes resolves its future" {
    skip "defect: aio_task.c threadsafe_start makes a task during aio_tasks_close's last rounds, which then stop: the task never runs, its future never resolves, task and stack leak"
    review threadsafe_call_while_closing_resolves_its_future
}

@test "aio cancel: a task cancelled after its awaited task finished, before it resumed, gets CancelledError from that await (aio.h; asyncio's _must_cancel)" {
    skip "defect: aio_task.c aio_cancel on a woken task sets cancel_pending only: aio_await returns the child's result and the code after it runs"
    review cancel_after_wake_ends_the_wait_cancelled
}

@test "aio cancel: a task awaiting a child that has not started, and a gather of such children, end cancelled and no child runs" {
    review cancel_reaches_children_that_have_not_started
}

@test "aio bridges: aio_await_future cancelled while another thread resolves the future ends each wait once (value or CancelledError), nothing freed twice" {
    review await_future_cancel_races_its_resolution
}

@test "aio run: 300 aio_runs one after another (Item 60's --loop-per-generation), each with 100 tasks and a refused nested aio_run, leave no descriptor" {
    review aio_run_once_per_generation_leaves_nothing
}

@test "aio stacks: a frame bigger than the guard page faults instead of writing into the stack below" {
    review frame_bigger_than_guard_page_faults
}

@test "aio stacks: an overflow that hits the guard page says which task overflowed" {
    skip "defect: aio_task.c dies of a bare SIGSEGV on the guard page (nothing on stderr), while the canary path names the task"
    review guarded_overflow_names_the_task
}

@test "aio close: 20,000 tasks (2,000 under a sanitizer) left yielding when main returns all end cancelled" {
    review yielding_tasks_left_at_close_are_cancelled
}

@test "every case in the review program is run by one of the tests above" {
    run -0 "$BIN/tests/unit/test_aio_review" --list
    listed=$(printf '%s\n' "${lines[@]}" | sort)
    mentioned=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$BATS_TEST_FILENAME" |
        awk '$1 == "review" { for (i = 2; i <= NF; i++) print $i }' | sort -u)
    [ "$listed" = "$mentioned" ]
}
