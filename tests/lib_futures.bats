#!/usr/bin/env bats
# common/futures: ThreadPoolExecutor and ProcessPoolExecutor (tests/unit/test_futures.c).
bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BIN/tests/unit/test_futures
}

@test "thread pool: map keeps order, errors reach result() with their message, max_workers holds, shutdown waits" {
    run -0 timeout 30 "$T" threads
    [[ ${lines[-1]} =~ ^[0-9]+\ cases,\ 0\ failed$ ]]
}

@test "process pool: map keeps submission order, errors and their causes cross the socket, 1,000 small tasks all complete, shutdown reaps every worker" {
    run -0 timeout 60 "$T" processes
    [[ $output == *"1000 of 1000 small tasks came back right"* ]]
    [[ ${lines[-1]} =~ ^[0-9]+\ cases,\ 0\ failed$ ]]
}

@test "process pool: a worker killed with SIGKILL mid-task fails its future and all pending ones with BrokenProcessPool, no hang, no child left" {
    run -0 timeout 60 "$T" kill
    [[ $output == *"cause: _RemoteTraceback: Process "*" terminated abruptly with exit code -9"* ]]
    [[ $output == *"5 of the other 5 futures failed with BrokenProcessPool"* ]]
    [[ ${lines[-1]} =~ ^[0-9]+\ cases,\ 0\ failed$ ]]
}

@test "process pool: a task that segfaults breaks the pool, not the parent; no child left" {
    run -0 timeout 60 "$T" crash
    [[ $output == *"cause: _RemoteTraceback: Process "*" terminated abruptly with exit code "* ]]
    [[ ${lines[-1]} =~ ^[0-9]+\ cases,\ 0\ failed$ ]]
}

@test "process pool: a worker killed by signal 29 is named as Python names it, SIGIO (not glibc's SIGPOLL)" {
    run_unit 60 test_futures killed_by_sigio
    [[ $output == *"(killed by SIGIO)"* ]]
}

@test "process pool: each worker holds only fds 0-2 and its own socket, no other worker's, even with stdin closed" {
    run -0 timeout 60 "$T" fds
    [[ $output == *"stdin open: 3 of 3 workers have only fds 0-2 and their own socket"* ]]
    [[ $output == *"stdin closed: 3 of 3 workers have only fds 0-2 and their own socket"* ]]
    [[ ${lines[-1]} =~ ^[0-9]+\ cases,\ 0\ failed$ ]]
}

@test "process pool: creating one while another thread runs is refused with EBUSY (fork would be unsafe), and works once it is joined" {
    run -0 timeout 60 "$T" alone
    [[ ${lines[-1]} =~ ^[0-9]+\ cases,\ 0\ failed$ ]]
}
