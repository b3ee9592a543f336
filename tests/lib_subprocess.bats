#!/usr/bin/env bats
# common/subprocess: the library's own tests (tests/unit/test_subprocess.c),
# one case per process. Each runs under `timeout`, so a deadlock or a hung
# pipeline fails the test instead of hanging the suite.
bats_require_minimum_version 1.5.0
load helpers


# unit CASE: run one case of the unit-test program; it prints "ok CASE".
unit() {
    run_unit 60 test_subprocess "$1"
}

@test "subprocess: the unit-test program knows every case this file runs" {
    run -0 "$BIN/tests/unit/test_subprocess" --list
    for name in $(grep -o '^ *unit [a-z_0-9]*' "$BATS_TEST_FILENAME" | awk '{ print $2 }'); do
        [[ $'\n'$output$'\n' == *$'\n'$name$'\n'* ]]
    done
    run -2 "$BIN/tests/unit/test_subprocess" no_such_case
}

@test "subprocess: communicate sends 8 MiB through cat and gets the same 8 MiB back, no deadlock" {
    unit communicate_8mib
}

@test "subprocess: communicate keeps stdout and stderr apart" {
    unit stdout_and_stderr_apart
}

@test "subprocess: communicate with input but no stdin pipe is a ValueError, on a retry too" {
    unit input_needs_a_stdin_pipe
}

@test "subprocess: a communicate timeout leaves the child running; terminate then wait gives -15" {
    unit timeout_then_terminate
}

@test "subprocess: kill gives return code -9" {
    unit kill_gives_minus_9
}

@test "subprocess: output read before a timeout is kept; the retry returns all of it" {
    unit timeout_keeps_output
}

@test "subprocess: exit codes 0 to 255 come back exactly" {
    unit exit_codes_exact
}

@test "subprocess: run captures output; check_returncode reports exit codes and signals as Python does" {
    unit run_and_check_returncode
}

@test "subprocess: run with a timeout kills and reaps the child" {
    unit run_timeout_kills
}

@test "subprocess: run with a timeout returns even when a grandchild keeps the pipes open" {
    unit run_timeout_ignores_grandchild
}

@test "subprocess: calls interrupted by a signal (EINTR) are retried: communicate and wait still succeed" {
    unit eintr_is_retried
}

@test "subprocess: a missing or non-executable command is an error naming it, leaving no child or descriptor" {
    unit missing_command_is_an_error
}

@test "subprocess: the child gets the given environment; the parent's is unchanged" {
    unit environment_reaches_child
}

@test "subprocess: /dev/null and an existing descriptor work as stdin and stdout" {
    unit devnull_and_fd
}

@test "subprocess: children start correctly when the parent's stdin and stdout are closed" {
    unit works_with_stdio_closed
}

@test "subprocess: writing to a child that exited is BrokenPipeError, not a SIGPIPE death" {
    unit write_to_exited_child
}

@test "subprocess: no child inherits another child's pipe (close-on-exec)" {
    unit no_inherited_pipes
}

@test "subprocess: a child inherits none of the parent's own descriptors (close_fds)" {
    unit no_inherited_descriptors
}

@test "subprocess: a chain of 3 whose last child exits early ends, upstream by SIGPIPE" {
    unit chain_ends_when_last_exits
}

@test "subprocess: PROC_STDOUT_OF without a pipe to hand on is a ValueError that starts nothing" {
    unit stdout_of_needs_a_pipe
}

@test "subprocess: after 100 children, no zombies and no more open descriptors than before" {
    unit hundred_children_leave_nothing
}

@test "pyrepr: bytes print as Python's print(bytes) does, quotes and backslashes included" {
    unit bytes_repr_like_python
}

@test "pyrepr: floats format as Python's f'{x:.3}' does" {
    unit float_format_like_python
}
