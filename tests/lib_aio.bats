#!/usr/bin/env bats
# common/aio: the loop layer, tasks, the bridges to threads, debug mode (tests/unit/test_aio.c).
# Cases named "test_xxx: test_yyy" carry CPython's Lib/test/test_asyncio case of that name.
bats_require_minimum_version 1.5.0

load helpers

cases() {
    run_unit 120 test_aio "$@"
}

@test "aio: --list names every case, and every case passes when run together" {
    run -0 timeout 10 "$BIN/tests/unit/test_aio" --list
    n=${#lines[@]}
    [ "$n" -ge 40 ]
    [[ $output == *"test_tasks: test_cancel_at_end"* ]]
    run -0 --separate-stderr timeout 300 "$BIN/tests/unit/test_aio"
    [ "${lines[-1]}" = "$n cases, 0 failed" ]
}

@test "aio loop: timers run in deadline order (cancelled ones never), equal deadlines and call_soon in scheduling order, negative delays as asyncio" {
    cases timers_run_in_deadline_order cancelled_timers_never_run equal_deadlines_run_in_scheduling_order \
        "test_events: test_call_soon" "test_base_events: test_call_later_negative_delays"
}

@test "aio loop: call_soon_threadsafe wakes the loop and runs in order on its thread; readers and writers fire; a regular file is an OSError" {
    cases "test_events: test_call_soon_threadsafe" "test_events: test_call_soon_threadsafe_same_thread" \
        "test_events: test_reader_callback" "test_events: test_writer_callback" \
        add_reader_regular_file_is_oserror
}

@test "aio tasks: 100,000 sleeping tasks (fewer under a sanitizer) all wake, none early, in deadline order" {
    cases many_sleeping_tasks_wake_in_deadline_order
    [[ $output =~ \ ([0-9]+)\ tasks:\ ([0-9]+)\ woke,\ 0\ early,\ 0\ out\ of\ order ]]
    [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]
}

@test "aio tasks: create_task does not run; gather keeps order and raises the first error with its message; sleep" {
    cases create_task_does_not_run gather_keeps_order_and_raises_first_error \
        "test_tasks: test_constructor_empty_sequence" "test_tasks: test_sleep" \
        "test_tasks: test_one_exception" \
        "test_events: test_run_until_complete_stopped" "test_events: test_run_until_complete_nesting" \
        task_awaiting_pipe_wakes_on_data second_waiter_on_a_descriptor_is_refused \
        task_stack_fits_printf_and_getaddrinfo
}

@test "aio descriptors: a descriptor stays registered between waits; after aio_forget_fd and close its number, reused, wakes the next waiter" {
    cases reused_descriptor_number_wakes_its_waiter
}

@test "aio tasks: cancel reaches a task in sleep, on a descriptor and in gather; a task cancelled before it starts never runs; a finished child of a waiting gather is unaffected" {
    cases cancel_reaches_sleep cancel_reaches_descriptor_wait cancel_reaches_gather \
        cancel_gather_before_children_start "test_tasks: test_cancel_gather_2" \
        gather_children_stay_valid_until_it_returns \
        "test_tasks: test_cancel_yield" "test_tasks: test_task_cancel_sleeping_task" \
        "test_tasks: test_cancel_task_catching" "test_tasks: test_cancel_task_ignoring" \
        "test_tasks: test_cancel_current_task" "test_tasks: test_cancel_at_end" \
        "test_tasks: test_sleep_cancel"
}

@test "aio run: returns main's value and error, refuses to nest, cancels tasks left hanging, reports an error never retrieved" {
    cases "test_runners: test_asyncio_run_return" "test_runners: test_asyncio_run_raises" \
        "test_runners: test_asyncio_run_from_running_loop" \
        "test_runners: test_asyncio_run_cancels_hanging_tasks" never_retrieved_error_is_reported \
        loop_closed_from_another_loops_task
}

@test "aio: a suspending call outside a task returns RuntimeError: no running event loop" {
    cases outside_loop_runtime_error suspending_in_callback_runtime_error
}

@test "aio bridges: run_in_executor returns value and error, and is cancellation-safe; await_future" {
    cases "test_events: test_run_in_executor" "test_events: test_run_in_executor_cancel" \
        await_future_from_thread await_future_cancelled "test_tasks: test_cancel_inner_future"
}

@test "aio bridges: run_coroutine_threadsafe from 8 threads x 1,000 calls runs each exactly once, on the loop's thread" {
    cases run_coroutine_threadsafe_8_threads_x_1000 "test_tasks: test_run_coroutine_threadsafe" \
        "test_tasks: test_run_coroutine_threadsafe_with_exception" \
        "test_tasks: test_run_coroutine_threadsafe_task_cancelled"
    [[ $output == *"8000 of 8000 calls ran exactly once"* ]]
}

@test "futures: add_done_callback runs in the resolving thread, or at once if done; in order; remove_done_callback" {
    cases "test_concurrent_futures: FutureTests.test_done_callback_with_result" "test_concurrent_futures: FutureTests.test_done_callback_with_exception" \
        "test_concurrent_futures: FutureTests.test_done_callback_already_successful" \
        "test_concurrent_futures: FutureTests.test_done_callback_already_failed" done_callbacks_in_order_and_removed
}

@test "aio debug: a task blocking 0.3 s is reported with where it was defined and created; a task sleeping 0.3 s is not" {
    cases debug_reports_blocking_task debug_quiet_for_sleeping_task \
        "test_base_events: test_log_slow_callbacks" debug_from_environment
    [[ $output =~ Executing\ \<Task\ finished\ name=\'Task-[0-9]+\'\ coro=\<blocking_main\(\)\ done,\ defined\ at\ tests/unit/test_aio.c:[0-9]+\>\ result=None\ created\ at\ tests/unit/test_aio.c:[0-9]+\>\ took\ [0-9]+\.[0-9]{3}\ seconds ]]
}

@test "aio stacks: callee-saved registers survive switches; an overflow dies on the guard page, or past the guard budget on the canary, naming the task" {
    cases switch_keeps_callee_saved_registers stack_overflow_guarded_is_sigsegv \
        stack_overflow_unguarded_is_caught_by_canary
}

@test "aio stacks: past the mprotect guard budget, a guard marker (Linux 6.13) still catches an overflow at the guard page; older kernels, the canary" {
    cases stack_overflow_past_budget_hits_a_guard_marker
}

@test "aio stacks: mmap refusing a stack is an OSError from create_task, and the loop goes on" {
    cases stack_mmap_failure_is_oserror
}
