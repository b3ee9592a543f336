#!/usr/bin/env bats
# common/aio streams over TCP (tests/unit/test_aio_stream.c); every socket is on 127.0.0.1.
# Cases named test_* carry CPython's Lib/test/test_asyncio/test_streams.py case of that name.
bats_require_minimum_version 1.5.0
load helpers

@test "readline joins a line split across writes and keeps what follows it (test_readline, test_readline_nolimit_nowait)" {
    run_unit 30 test_aio_stream test_readline test_readline_nolimit_nowait
}

@test "readline past its limit is ValueError with asyncio's LimitOverrunError message; only that line is dropped; a 1 MiB line against 1 KiB fails at once (test_readline_limit, test_readline_limit_with_existing_data)" {
    run_unit 30 test_aio_stream test_readline_limit test_readline_limit_with_existing_data \
        readline_past_1k_limit
}

@test "EOF mid-line gives the partial line, then \"\" (test_readline_eof, test_readline_empty_eof)" {
    run_unit 30 test_aio_stream test_readline_eof test_readline_empty_eof
}

@test "a peer that resets (SO_LINGER 0) is ConnectionResetError for readline, write and drain, also for a readline already waiting (test_readline_exception)" {
    run_unit 30 test_aio_stream test_readline_exception peer_reset_wakes_a_waiting_readline
}

@test "a cancelled readline returns CancelledError and loses no byte; a second reader is refused by readline, readexactly and readuntil, each naming itself (test_exception_cancel)" {
    run_unit 30 test_aio_stream test_exception_cancel a_second_reader_is_refused
}

@test "readexactly(n) returns n bytes however they arrive, past the line limit too, and at EOF is IncompleteReadError with the partial bytes (test_readexactly*)" {
    run_unit 30 test_aio_stream test_readexactly_zero_or_less test_readexactly \
        test_readexactly_limit test_readexactly_eof test_readexactly_exception
}

@test "readuntil(sep) returns through the separator, split across recvs too; at EOF IncompleteReadError with the partial bytes; past the limit LimitOverrunError, keeping the bytes (test_readuntil_*)" {
    run_unit 30 test_aio_stream test_readuntil_separator test_readuntil_multi_chunks \
        test_readuntil_multi_chunks_1 test_readuntil_eof test_readuntil_limit_found_sep
}

@test "write + drain of 16 MiB to a slow reader: every byte arrives in order, drain bounds the queue to 64 KiB" {
    run_unit 60 test_aio_stream write_drain_to_a_slow_reader
}

@test "write + drain to a peer that closed ends in an error, not a loop, and no SIGPIPE (test_drain_raises)" {
    run_unit 30 test_aio_stream test_drain_raises
}

@test "start_server on port 0 echoes a line to open_connection, by address and by localhost (test_start_server, test_open_connection)" {
    run_unit 30 test_aio_stream test_start_server test_open_connection
}

@test "a connection callback's error is logged as 'Unhandled exception in client_connected_cb' and its connection closed (test_unhandled_exceptions)" {
    run_unit 30 test_aio_stream test_unhandled_exceptions
}

@test "a server on port 0 holds 1,000 clients at once, and its descriptors return to their count" {
    run_unit 120 test_aio_stream server_port_0_with_1000_concurrent_clients
    [[ $output == *"1000 clients connected at once, 1000 got go, 1000 said bye"* ]]
}

@test "clients that vanish mid-line (FIN or RST) end their own connection only; the others keep being served; no descriptor left" {
    run_unit 60 test_aio_stream clients_that_vanish_leave_the_others_served
}

@test "server close cancels every connection task, waits for them, stops listening, leaves /proc/self/fd as before" {
    run_unit 60 test_aio_stream server_close_cancels_connection_tasks server_close_when_never_served \
        serve_forever_cancelled a_callback_may_close_its_stream
}

@test "connection refused is ConnectionRefusedError with asyncio's message; a cancelled connect closes its socket; names are not looked up; calls outside a loop are RuntimeError" {
    run_unit 30 test_aio_stream connection_refused a_cancelled_connect_closes_its_socket \
        names_are_not_looked_up calls_outside_a_loop
}

@test "accept failing with EMFILE is logged and retried after a pause; the client is then served" {
    run_unit 30 test_aio_stream accept_emfile_is_logged_and_retried
}

@test "readline at the limit's edges (exactly limit bytes, one more, with and without the newline, at EOF); an 8 MiB line at an 8 MiB limit arrives whole" {
    run_unit 60 test_aio_stream readline_limit_edges readline_of_a_huge_line_at_its_limit
}

@test "server close while every connection is mid-drain, or flushing what its callback left queued, returns; aio_run returns with a connection mid-drain to a client who never reads (no flush after a cancel)" {
    run_unit 90 test_aio_stream server_close_while_connections_drain \
        server_close_while_connections_flush_on_return aio_run_returns_with_a_connection_mid_drain
}

@test "a callback that queues a 4 MiB reply and then fails: the reply still arrives whole, then EOF (asyncio's transport.close() flushes)" {
    run_unit 60 test_aio_stream a_failing_callbacks_reply_is_still_sent
    [[ $stderr == *"Unhandled exception in client_connected_cb: Exception: after the reply"* ]]
}

@test "a cancelled drain keeps its queue: every byte arrives once the peer reads; refused connections leave no descriptor" {
    run_unit 60 test_aio_stream a_cancelled_drain_keeps_its_queue \
        refused_connections_leave_no_descriptor
}

@test "every case in the unit program is run by one of the tests above" {
    run -0 "$BIN/tests/unit/test_aio_stream" --list
    listed=$(printf '%s\n' "${lines[@]}" | sort)
    mentioned=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$BATS_TEST_FILENAME" |
        awk '$1 == "run_unit" { for (i = 4; i <= NF; i++) print $i }' | sort -u)
    [ "$listed" = "$mentioned" ]
}
