#!/usr/bin/env bats
# common/queue, common/futures and common/subprocess held to CPython's own
# tests: tests/unit/test_cpython_{queue,futures,subprocess}.c carry the
# applicable cases of Lib/test/test_queue.py, Lib/test/test_concurrent_futures/
# and Lib/test/test_subprocess.py, each named after the CPython test it
# checks. One case per process, each under `timeout`, so a hang fails.
bats_require_minimum_version 1.5.0
load helpers

# cpython PROGRAM CASE: run that case of tests/unit/PROGRAM, which must pass.
cpython() {
    run_unit 120 "$1" "$2"
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

@test "test_cpython_subprocess: this file runs every case, and an unknown case is an error" {
    every_case_is_run test_cpython_subprocess
}

@test "test_subprocess: test_call_seq" {
    cpython test_cpython_subprocess test_call_seq
}

@test "test_subprocess: test_call_timeout" {
    cpython test_cpython_subprocess test_call_timeout
}

@test "test_subprocess: test_check_call_zero" {
    cpython test_cpython_subprocess test_check_call_zero
}

@test "test_subprocess: test_check_call_nonzero" {
    cpython test_cpython_subprocess test_check_call_nonzero
}

@test "test_subprocess: test_check_output" {
    cpython test_cpython_subprocess test_check_output
}

@test "test_subprocess: test_check_output_nonzero" {
    cpython test_cpython_subprocess test_check_output_nonzero
}

@test "test_subprocess: test_check_output_stdin_arg" {
    cpython test_cpython_subprocess test_check_output_stdin_arg
}

@test "test_subprocess: test_check_output_input_arg" {
    cpython test_cpython_subprocess test_check_output_input_arg
}

@test "test_subprocess: test_check_output_timeout" {
    cpython test_cpython_subprocess test_check_output_timeout
}

@test "test_subprocess: test_call_kwargs" {
    cpython test_cpython_subprocess test_call_kwargs
}

@test "test_subprocess: test_stdin_none" {
    cpython test_cpython_subprocess test_stdin_none
}

@test "test_subprocess: test_stdout_none" {
    cpython test_cpython_subprocess test_stdout_none
}

@test "test_subprocess: test_stderr_none" {
    cpython test_cpython_subprocess test_stderr_none
}

@test "test_subprocess: test_stdin_pipe" {
    cpython test_cpython_subprocess test_stdin_pipe
}

@test "test_subprocess: test_stdin_filedes" {
    cpython test_cpython_subprocess test_stdin_filedes
}

@test "test_subprocess: test_stdout_pipe" {
    cpython test_cpython_subprocess test_stdout_pipe
}

@test "test_subprocess: test_stdout_filedes" {
    cpython test_cpython_subprocess test_stdout_filedes
}

@test "test_subprocess: test_stderr_pipe" {
    cpython test_cpython_subprocess test_stderr_pipe
}

@test "test_subprocess: test_stderr_filedes" {
    cpython test_cpython_subprocess test_stderr_filedes
}

@test "test_subprocess: test_stdout_devnull" {
    cpython test_cpython_subprocess test_stdout_devnull
}

@test "test_subprocess: test_stderr_devnull" {
    cpython test_cpython_subprocess test_stderr_devnull
}

@test "test_subprocess: test_stdin_devnull" {
    cpython test_cpython_subprocess test_stdin_devnull
}

@test "test_subprocess: test_env" {
    cpython test_cpython_subprocess test_env
}

@test "test_subprocess: test_empty_env" {
    cpython test_cpython_subprocess test_empty_env
}

@test "test_subprocess: test_communicate_stdin" {
    cpython test_cpython_subprocess test_communicate_stdin
}

@test "test_subprocess: test_communicate_stdout" {
    cpython test_cpython_subprocess test_communicate_stdout
}

@test "test_subprocess: test_communicate_stderr" {
    cpython test_cpython_subprocess test_communicate_stderr
}

@test "test_subprocess: test_communicate" {
    cpython test_cpython_subprocess test_communicate
}

@test "test_subprocess: test_communicate_timeout" {
    cpython test_cpython_subprocess test_communicate_timeout
}

@test "test_subprocess: test_communicate_timeout_large_output" {
    cpython test_cpython_subprocess test_communicate_timeout_large_output
}

@test "test_subprocess: test_communicate_pipe_fd_leak" {
    cpython test_cpython_subprocess test_communicate_pipe_fd_leak
}

@test "test_subprocess: test_communicate_returns" {
    cpython test_cpython_subprocess test_communicate_returns
}

@test "test_subprocess: test_communicate_pipe_buf" {
    cpython test_cpython_subprocess test_communicate_pipe_buf
}

@test "test_subprocess: test_writes_before_communicate" {
    cpython test_cpython_subprocess test_writes_before_communicate
}

@test "subprocess: communicate with new input after a TimeoutExpired is ValueError: Cannot send input after starting communication" {
    cpython test_cpython_subprocess input_after_starting_communication_is_refused
}

@test "test_subprocess: test_no_leaking" {
    cpython test_cpython_subprocess test_no_leaking
}

@test "test_subprocess: test_poll" {
    cpython test_cpython_subprocess test_poll
}

@test "test_subprocess: test_wait" {
    cpython test_cpython_subprocess test_wait
}

@test "test_subprocess: test_wait_timeout" {
    cpython test_cpython_subprocess test_wait_timeout
}

@test "subprocess: TimeoutExpired shows the timeout as Python's float repr (0.0, 1e-05, 0.30000000000000004)" {
    cpython test_cpython_subprocess timeout_shown_as_python_float_repr
}

@test "test_subprocess: test_leaking_fds_on_error" {
    cpython test_cpython_subprocess test_leaking_fds_on_error
}

@test "test_subprocess: test_communicate_epipe" {
    cpython test_cpython_subprocess test_communicate_epipe
}

@test "test_subprocess: test_communicate_epipe_only_stdin" {
    cpython test_cpython_subprocess test_communicate_epipe_only_stdin
}

@test "test_subprocess: test_communicate_eintr" {
    cpython test_cpython_subprocess test_communicate_eintr
}

@test "test_subprocess: test_failed_child_execute_fd_leak" {
    cpython test_cpython_subprocess test_failed_child_execute_fd_leak
}

@test "test_subprocess: test_file_not_found_includes_filename" {
    cpython test_cpython_subprocess test_file_not_found_includes_filename
}

@test "test_subprocess: test_returncode" {
    cpython test_cpython_subprocess test_returncode
}

@test "test_subprocess: test_timeout" {
    cpython test_cpython_subprocess test_timeout
}

@test "test_subprocess: test_capture_stdout" {
    cpython test_cpython_subprocess test_capture_stdout
}

@test "test_subprocess: test_capture_stderr" {
    cpython test_cpython_subprocess test_capture_stderr
}

@test "test_subprocess: test_capture_output" {
    cpython test_cpython_subprocess test_capture_output
}

@test "test_subprocess: test_run_with_shell_timeout_and_capture_output" {
    cpython test_cpython_subprocess test_run_with_shell_timeout_and_capture_output
}

@test "test_subprocess: test_exception_bad_args_0" {
    cpython test_cpython_subprocess test_exception_bad_args_0
}

@test "test_subprocess: test_restore_signals" {
    cpython test_cpython_subprocess test_restore_signals
}

@test "subprocess: a child keeps the parent's signal mask, as Python's children do" {
    cpython test_cpython_subprocess child_inherits_the_signal_mask
}

@test "test_subprocess: test_run_abort" {
    cpython test_cpython_subprocess test_run_abort
}

@test "test_subprocess: test_CalledProcessError_str_signal" {
    cpython test_cpython_subprocess test_CalledProcessError_str_signal
}

@test "test_subprocess: test_CalledProcessError_str_unknown_signal" {
    cpython test_cpython_subprocess test_CalledProcessError_str_unknown_signal
}

@test "test_subprocess: test_CalledProcessError_str_non_zero" {
    cpython test_cpython_subprocess test_CalledProcessError_str_non_zero
}

@test "subprocess: check_returncode names signals as Python does (SIGIO for 29, SIGRTMIN, SIGRTMAX) and says died with unknown signal N. where Python has no name" {
    cpython test_cpython_subprocess signal_names_as_python_names_them
}

@test "test_subprocess: test_send_signal" {
    cpython test_cpython_subprocess test_send_signal
}

@test "test_subprocess: test_kill" {
    cpython test_cpython_subprocess test_kill
}

@test "test_subprocess: test_terminate" {
    cpython test_cpython_subprocess test_terminate
}

@test "test_subprocess: test_send_signal_dead" {
    cpython test_cpython_subprocess test_send_signal_dead
}

@test "test_subprocess: test_kill_dead" {
    cpython test_cpython_subprocess test_kill_dead
}

@test "test_subprocess: test_terminate_dead" {
    cpython test_cpython_subprocess test_terminate_dead
}

@test "test_subprocess: test_send_signal_race" {
    cpython test_cpython_subprocess test_send_signal_race
}

@test "test_subprocess: test_close_fd_0" {
    cpython test_cpython_subprocess test_close_fd_0
}

@test "test_subprocess: test_close_fd_1" {
    cpython test_cpython_subprocess test_close_fd_1
}

@test "test_subprocess: test_close_fd_2" {
    cpython test_cpython_subprocess test_close_fd_2
}

@test "test_subprocess: test_close_fds_0_1" {
    cpython test_cpython_subprocess test_close_fds_0_1
}

@test "test_subprocess: test_close_fds_0_2" {
    cpython test_cpython_subprocess test_close_fds_0_2
}

@test "test_subprocess: test_close_fds_1_2" {
    cpython test_cpython_subprocess test_close_fds_1_2
}

@test "test_subprocess: test_close_fds_0_1_2" {
    cpython test_cpython_subprocess test_close_fds_0_1_2
}

@test "test_subprocess: test_small_errpipe_write_fd" {
    cpython test_cpython_subprocess test_small_errpipe_write_fd
}

@test "test_subprocess: test_swap_fds" {
    cpython test_cpython_subprocess test_swap_fds
}

@test "test_subprocess: test_remapping_std_fds" {
    cpython test_cpython_subprocess test_remapping_std_fds
}

@test "test_subprocess: test_stdout_stderr_file" {
    cpython test_cpython_subprocess test_stdout_stderr_file
}

@test "test_subprocess: test_stdout_filedes_of_stdout" {
    cpython test_cpython_subprocess test_stdout_filedes_of_stdout
}

@test "test_subprocess: test_stdout_stdin_are_single_inout_fd" {
    cpython test_cpython_subprocess test_stdout_stdin_are_single_inout_fd
}

@test "test_subprocess: test_stdout_stderr_are_single_inout_fd" {
    cpython test_cpython_subprocess test_stdout_stderr_are_single_inout_fd
}

@test "test_subprocess: test_stderr_stdin_are_single_inout_fd" {
    cpython test_cpython_subprocess test_stderr_stdin_are_single_inout_fd
}

@test "test_subprocess: test_swap_std_fds_with_one_closed" {
    cpython test_cpython_subprocess test_swap_std_fds_with_one_closed
}

@test "test_subprocess: test_double_close_on_error" {
    cpython test_cpython_subprocess test_double_close_on_error
}

@test "test_subprocess: test_close_fds_when_max_fd_is_lowered" {
    cpython test_cpython_subprocess test_close_fds_when_max_fd_is_lowered
}

@test "test_subprocess: test_args_string" {
    cpython test_cpython_subprocess test_args_string
}

@test "test_subprocess: test_undecodable_env" {
    cpython test_cpython_subprocess test_undecodable_env
}

@test "test_subprocess: test_run_kwargs" {
    cpython test_cpython_subprocess test_run_kwargs
}

@test "test_subprocess: test_pipe_cloexec" {
    cpython test_cpython_subprocess test_pipe_cloexec
}

@test "test_subprocess: test_pipe_cloexec_real_tools" {
    cpython test_cpython_subprocess test_pipe_cloexec_real_tools
}

@test "test_subprocess: test_close_fds" {
    cpython test_cpython_subprocess test_close_fds
}

@test "test_subprocess: test_wait_when_sigchild_ignored" {
    cpython test_cpython_subprocess test_wait_when_sigchild_ignored
}

@test "test_subprocess: test_communicate_repeated_call_after_stdout_close" {
    cpython test_cpython_subprocess test_communicate_repeated_call_after_stdout_close
}

@test "test_subprocess: ContextManagerTests.test_pipe" {
    cpython test_cpython_subprocess context_manager_test_pipe
}

@test "test_subprocess: ContextManagerTests.test_returncode" {
    cpython test_cpython_subprocess context_manager_test_returncode
}

@test "test_subprocess: ContextManagerTests.test_communicate_stdin" {
    cpython test_cpython_subprocess context_manager_test_communicate_stdin
}

@test "test_subprocess: ContextManagerTests.test_invalid_args" {
    cpython test_cpython_subprocess context_manager_test_invalid_args
}

@test "test_subprocess: ContextManagerTests.test_broken_pipe_cleanup" {
    cpython test_cpython_subprocess context_manager_test_broken_pipe_cleanup
}

@test "test_cpython_futures: this file runs every case, and an unknown case is an error" {
    every_case_is_run test_cpython_futures
}

@test "test_concurrent_futures: ThreadPoolExecutorTest.test_submit" {
    cpython test_cpython_futures thread_test_submit
}

@test "test_concurrent_futures: ThreadPoolExecutorTest.test_map" {
    cpython test_cpython_futures thread_test_map
}

@test "test_concurrent_futures: ThreadPoolExecutorTest.test_map_exception" {
    cpython test_cpython_futures thread_test_map_exception
}

@test "test_concurrent_futures: ThreadPoolExecutorTest.test_shutdown_race_issue12456" {
    cpython test_cpython_futures thread_test_shutdown_race_issue12456
}

@test "test_concurrent_futures: ThreadPoolExecutorTest.test_max_workers_negative" {
    cpython test_cpython_futures thread_test_max_workers_negative
}

@test "test_concurrent_futures: ThreadPoolExecutorTest.test_map_submits_without_iteration" {
    cpython test_cpython_futures thread_test_map_submits_without_iteration
}

@test "test_concurrent_futures: ThreadPoolExecutorTest.test_saturation" {
    cpython test_cpython_futures thread_test_saturation
}

@test "test_concurrent_futures: ThreadPoolShutdownTest.test_run_after_shutdown" {
    cpython test_cpython_futures thread_shutdown_test_run_after_shutdown
}

@test "test_concurrent_futures: ThreadPoolShutdownTest.test_hang_issue12364" {
    cpython test_cpython_futures thread_shutdown_test_hang_issue12364
}

@test "test_concurrent_futures: ThreadPoolShutdownTest.test_threads_terminate" {
    cpython test_cpython_futures thread_shutdown_test_threads_terminate
}

@test "test_concurrent_futures: ThreadPoolShutdownTest.test_context_manager_shutdown" {
    cpython test_cpython_futures thread_shutdown_test_context_manager_shutdown
}

@test "test_concurrent_futures: ThreadPoolShutdownTest.test_del_shutdown" {
    cpython test_cpython_futures thread_shutdown_test_del_shutdown
}

@test "test_concurrent_futures: ThreadPoolShutdownTest.test_shutdown_no_wait" {
    cpython test_cpython_futures thread_shutdown_test_shutdown_no_wait
}

@test "test_concurrent_futures: ProcessPoolExecutorTest.test_submit" {
    cpython test_cpython_futures process_test_submit
}

@test "test_concurrent_futures: ProcessPoolExecutorTest.test_map" {
    cpython test_cpython_futures process_test_map
}

@test "test_concurrent_futures: ProcessPoolExecutorTest.test_map_exception" {
    cpython test_cpython_futures process_test_map_exception
}

@test "test_concurrent_futures: ProcessPoolExecutorTest.test_shutdown_race_issue12456" {
    cpython test_cpython_futures process_test_shutdown_race_issue12456
}

@test "test_concurrent_futures: ProcessPoolExecutorTest.test_max_workers_negative" {
    cpython test_cpython_futures process_test_max_workers_negative
}

@test "test_concurrent_futures: ProcessPoolExecutorTest.test_killed_child" {
    cpython test_cpython_futures process_test_killed_child
}

@test "test_concurrent_futures: ProcessPoolExecutorTest.test_traceback" {
    cpython test_cpython_futures process_test_traceback
}

@test "test_concurrent_futures: ProcessPoolExecutorTest.test_traceback_when_child_process_terminates_abruptly" {
    cpython test_cpython_futures process_test_traceback_when_child_process_terminates_abruptly
}

@test "test_concurrent_futures: ProcessPoolExecutorTest.test_saturation" {
    cpython test_cpython_futures process_test_saturation
}

@test "test_concurrent_futures: ProcessPoolShutdownTest.test_run_after_shutdown" {
    cpython test_cpython_futures process_shutdown_test_run_after_shutdown
}

@test "test_concurrent_futures: ProcessPoolShutdownTest.test_hang_issue12364" {
    cpython test_cpython_futures process_shutdown_test_hang_issue12364
}

@test "test_concurrent_futures: ProcessPoolShutdownTest.test_processes_terminate" {
    cpython test_cpython_futures process_shutdown_test_processes_terminate
}

@test "test_concurrent_futures: ProcessPoolShutdownTest.test_context_manager_shutdown" {
    cpython test_cpython_futures process_shutdown_test_context_manager_shutdown
}

@test "test_concurrent_futures: ProcessPoolShutdownTest.test_del_shutdown" {
    cpython test_cpython_futures process_shutdown_test_del_shutdown
}

@test "test_concurrent_futures: ProcessPoolShutdownTest.test_shutdown_no_wait" {
    cpython test_cpython_futures process_shutdown_test_shutdown_no_wait
}

@test "test_concurrent_futures: ExecutorDeadlockTest.test_crash_during_func_exec_on_worker" {
    cpython test_cpython_futures deadlock_test_crash_during_func_exec_on_worker
}

@test "test_concurrent_futures: ExecutorDeadlockTest.test_exit_during_func_exec_on_worker" {
    cpython test_cpython_futures deadlock_test_exit_during_func_exec_on_worker
}

@test "test_concurrent_futures: ExecutorDeadlockTest.test_error_during_func_exec_on_worker" {
    cpython test_cpython_futures deadlock_test_error_during_func_exec_on_worker
}

@test "test_concurrent_futures: ExecutorDeadlockTest.test_shutdown_deadlock" {
    cpython test_cpython_futures deadlock_test_shutdown_deadlock
}

@test "test_concurrent_futures: ExecutorDeadlockTest.test_crash_big_data" {
    cpython test_cpython_futures deadlock_test_crash_big_data
}

@test "test_concurrent_futures: ExecutorDeadlockTest.test_gh105829_should_not_deadlock_if_wakeup_pipe_full" {
    cpython test_cpython_futures deadlock_test_gh105829_should_not_deadlock_if_wakeup_pipe_full
}

@test "test_concurrent_futures: FutureTests.test_done" {
    cpython test_cpython_futures future_test_done
}

@test "test_concurrent_futures: FutureTests.test_result_with_success" {
    cpython test_cpython_futures future_test_result_with_success
}

@test "test_concurrent_futures: FutureTests.test_exception_with_success" {
    cpython test_cpython_futures future_test_exception_with_success
}

@test "test_concurrent_futures: FutureTests.test_multiple_set_result (setting a done future dies, naming the call; the first result stands)" {
    cpython test_cpython_futures future_test_multiple_set_result
}

@test "test_concurrent_futures: FutureTests.test_multiple_set_exception (setting a done future dies, naming the call; the first error stands)" {
    cpython test_cpython_futures future_test_multiple_set_exception
}
