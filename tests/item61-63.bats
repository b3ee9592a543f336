#!/usr/bin/env bats
# Items 61-63 (item61-63/).
#   Item 61: the guessing game on threads and on common/aio (guess_threads.c,
#     guess_async.c, guess.c), and CPython's random (pyrandom.c, tests/unit/test_pyrandom.c).
#   Items 62 and 63: merging logs with threads and coroutines, and keeping the loop
#     responsive (merge_*, slow_coroutine; tests/unit/test_merge.c).
bats_require_minimum_version 1.5.0

load helpers

setup() {
    export TMPDIR=$BATS_TEST_TMPDIR # a merge demo's directory lands here, and nowhere else
    bg_pids=()                      # Items 62-63: merges a test left in the background
}

teardown() {
    # Only what this test started: the servers themselves (not the timeout
    # around each, which would pass SIGTERM on and also send it to its whole
    # process group: the server would get it twice), then the timeouts and
    # the cats draining the servers' output end by themselves.
    local pid
    for pid in "${SERVERS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${STARTED[@]}"; do wait "$pid" 2>/dev/null || true; done
    # Items 62-63: a merge left in the background, stopped (SIGSTOP) or not.
    for pid in "${bg_pids[@]}"; do
        kill -CONT "$pid" 2>/dev/null || true
        kill "$pid" 2>/dev/null || true
    done
}

# ---- Item 61: pyrandom is CPython's random, bit for bit ----

@test "pyrandom: after seed(1234) the first five getrandbits(32) are CPython's" {
    run_unit 30 test_pyrandom getrandbits_32
}

@test "pyrandom: after seed(1234) the first twelve randint(1, 5) are 4,1,1,1,5,1,1,1,3,2,1,1" {
    run_unit 30 test_pyrandom randint_1_5
}

@test "pyrandom: wide draws (40 and 64 bits) and negative bounds match CPython" {
    run_unit 30 test_pyrandom getrandbits_wide
}

@test "pyrandom: seeds 0 and 2**32-1, randint(7, 7) and getrandbits(0) match CPython" {
    run_unit 30 test_pyrandom other_seeds edges
}

# ---- Item 61: the guessing game ----

G=$BIN/item61-63
STARTED=() SERVERS=() # the teardown ends these


# The book's threaded transcript (lines 1-16 of the reference run).
threaded_transcript="Guess a number between 1 and 5! Shhhhh, it's 3.
Server: 4 is Unsure
Server: 1 is Colder
Server: 5 is Unsure
Server: 3 is Correct
Guess a number between 10 and 15! Shhhhh, it's 12.
Server: 11 is Unsure
Server: 10 is Colder
Server: 12 is Correct
Client: 4 is Unsure
Client: 1 is Colder
Client: 5 is Unsure
Client: 3 is Correct
Client: 11 is Unsure
Client: 10 is Colder
Client: 12 is Correct"

# The book's async transcript (lines 17-36).
async_transcript="Guess a number between 1 and 5! Shhhhh, it's 3.
Server: 5 is Unsure
Server: 4 is Warmer
Server: 2 is Unsure
Server: 1 is Colder
Server: 3 is Correct
Guess a number between 10 and 15! Shhhhh, it's 12.
Server: 14 is Unsure
Server: 10 is Unsure
Server: 15 is Colder
Server: 12 is Correct
Client: 5 is Unsure
Client: 4 is Warmer
Client: 2 is Unsure
Client: 1 is Colder
Client: 3 is Correct
Client: 14 is Unsure
Client: 10 is Unsure
Client: 15 is Colder
Client: 12 is Correct"

# only LINES PATTERN: the lines of LINES that match the extended regex PATTERN.
only() { grep -E "$2" <<<"$1" || true; }

# start_server PROG ARGS...: PROG --serve --port 0 ARGS in the background.
# Sets PORT (read from its "Listening on" line, which is waited for, not
# slept for), SERVER (the timeout process), SPID (the server itself), and
# OUT and ERR (files with the rest of its stdout and its stderr).
start_server() {
    local fifo=$BATS_TEST_TMPDIR/$1.fifo line
    OUT=$BATS_TEST_TMPDIR/$1.out ERR=$BATS_TEST_TMPDIR/$1.err
    rm -f "$fifo"
    mkfifo "$fifo"
    timeout 600 "$G/$1" --serve --port 0 "${@:2}" >"$fifo" 2>"$ERR" 3>&- &
    SERVER=$!
    STARTED+=("$SERVER")
    exec 4<"$fifo"
    read -r -t 60 line <&4
    [[ $line =~ ^Listening\ on\ 127\.0\.0\.1:([0-9]+)$ ]]
    PORT=${BASH_REMATCH[1]}
    cat <&4 >"$OUT" 3>&- &
    STARTED+=("$!")
    exec 4<&-
    SPID=$(cat "/proc/$SERVER/task/$SERVER/children")
    SPID=${SPID%% *}
    [[ $SPID =~ ^[0-9]+$ ]]
    SERVERS+=("$SPID")
}

# wait_until SECONDS CMD...: run CMD until it succeeds, at most SECONDS; for
# what the server does after a client has gone (a log line, a closed socket).
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

fds() { ls "/proc/$SPID/fd" | wc -l; }
threads() { awk '/^Threads:/ { print $2 }' "/proc/$SPID/status"; }
logged() { grep -qE "$1" "$ERR"; }

# say LINE / hear: one line to and from the connection on fd 5.
say() { printf '%s\n' "$1" >&5; }
hear() {
    REPLY=
    read -r -t 30 REPLY <&5
}

# play_on_fd5 LOWER UPPER SECRET: play a game by the book's client rule on
# fd 5, checking the server's side: each guess in range and new, and once
# Correct, NUMBER keeps answering the secret.
play_on_fd5() {
    local lower=$1 upper=$2 secret=$3 last='' seen=' ' guess d decision
    say "PARAMS $lower $upper"
    while :; do
        say NUMBER
        hear
        guess=$REPLY
        [[ $guess =~ ^-?[0-9]+$ ]]
        [ "$guess" -ge "$lower" ] && [ "$guess" -le "$upper" ]
        [[ $seen != *" $guess "* ]]
        seen+="$guess "
        d=$((guess > secret ? guess - secret : secret - guess))
        if [ "$d" -eq 0 ]; then decision=Correct
        elif [ -z "$last" ] || [ "$d" -eq "$last" ]; then decision=Unsure
        elif [ "$d" -lt "$last" ]; then decision=Warmer
        else decision=Colder; fi
        say "REPORT $decision"
        last=$d
        [ "$decision" != Correct ] || break
    done
    say NUMBER
    hear
    [ "$REPLY" = "$secret" ]
    say "PARAMS 0 -1"
}

# bad_line LINE EXPECTED: LINE gets the answer "ERROR EXPECTED".
bad_line() {
    say "$1"
    hear
    echo "sent '$1', got '$REPLY'"
    [ "$REPLY" = "ERROR $2" ]
}

# every_bad_line PROG: the robust server's answers, on one connection, then a
# good game on it; one log line per bad line.
every_bad_line() {
    start_server "$1" --seed 1234
    exec 5<>"/dev/tcp/127.0.0.1/$PORT"
    bad_line FOO "unknown command 'FOO'"
    bad_line "" "unknown command ''"
    bad_line "PARAMS 1" "PARAMS takes 2 arguments, got 1"
    bad_line "PARAMS 1 5 7" "PARAMS takes 2 arguments, got 3"
    bad_line "NUMBER 5" "NUMBER takes 0 arguments, got 1"
    bad_line "PARAMS 1 x" "not a number: 'x'"
    bad_line "PARAMS 1 99999999999" "out of range: 99999999999 (from -1000000000 to 1000000000)"
    bad_line "PARAMS 5 1" "lower > upper: 5 > 1"
    bad_line NUMBER "no game: send PARAMS lower upper first"
    say "PARAMS 1 2"
    bad_line "REPORT Unsure" "nothing to report: send NUMBER first"
    say NUMBER
    hear
    first=$REPLY
    bad_line "REPORT Hotter" "unknown decision 'Hotter' (Warmer, Colder, Unsure, Correct)"
    say NUMBER
    hear
    [ "$REPLY" -eq $((3 - first)) ] # the other of 1 and 2
    bad_line NUMBER "every number from 1 to 2 was guessed"
    say "PARAMS 0 -1"
    bad_line NUMBER "no game: send PARAMS lower upper first"
    bad_line "REPORT" "REPORT takes 1 argument, got 0"
    # a NUL byte is not the end of the line, and what is quoted back is escaped
    printf 'PARAMS 1\0 5\n' >&5
    hear
    [ "$REPLY" = "ERROR a NUL byte in the line" ]
    printf 'FOO\033[2J\377\n' >&5
    hear
    [ "$REPLY" = "ERROR unknown command 'FOO\\x1b[2J\\xff'" ]
    # a line in many tiny writes is one line
    local ch
    for ch in P A R A M S ' ' 1 ' ' 5 $'\n' N U M B E R; do printf %s "$ch" >&5; done
    printf '\n' >&5
    hear
    [[ $REPLY =~ ^[1-5]$ ]]
    play_on_fd5 1 5 3
    play_on_fd5 -3 3 -2
    exec 5>&-
    # one log line per bad line (the server logs before it answers)
    cat "$ERR"
    [ "$(grep -c ': ERROR ' "$ERR")" -eq 16 ]
    [ "$(grep -vc ': ERROR ' "$ERR")" -eq 0 ]
    ! grep -q $'\033' "$ERR" # no client's bytes reach the operator's terminal
}

# long_line_and_vanished PROG: a 1 MiB line and a client killed mid-line each
# lose their own connection only; a client already playing plays on.
long_line_and_vanished() {
    start_server "$1" --seed 1234
    local fds0 threads0
    fds0=$(fds) threads0=$(threads)
    exec 5<>"/dev/tcp/127.0.0.1/$PORT" # the bystander
    say "PARAMS 1 5"
    say NUMBER
    hear
    [[ $REPLY =~ ^[1-5]$ ]]
    exec 6<>"/dev/tcp/127.0.0.1/$PORT"
    timeout 60 bash -c 'head -c 1048576 /dev/zero | tr "\0" x >&6' 2>/dev/null || true
    ! read -r -t 60 line <&6 # the server has closed it
    exec 6>&-
    wait_until 60 logged ': dropped: (LimitOverrunError|ValueError)'
    timeout 60 bash -c 'exec 7<>"/dev/tcp/127.0.0.1/$1"; printf "PARAMS 1" >&7; kill -KILL $$' _ "$PORT" ||
        true
    wait_until 60 logged ': dropped: IncompleteReadError'
    # a client that resets (closes with replies unread) and one that connects and vanishes
    timeout 60 bash -c 'exec 7<>"/dev/tcp/127.0.0.1/$1"; printf "PARAMS 1 5\nNUMBER\nNUMBER\nNUMBER\n" >&7
        read -r x <&7' _ "$PORT" || true
    timeout 60 bash -c 'exec 7<>"/dev/tcp/127.0.0.1/$1"' _ "$PORT" || true
    say "REPORT Unsure"
    say NUMBER
    hear
    [[ $REPLY =~ ^[1-5]$ ]]
    exec 5>&-
    # and a whole new client still gets its games
    run -0 --separate-stderr timeout 60 "$G/guess_threads" --connect "127.0.0.1:$PORT"
    [ "${lines[0]}" = "Guess a number between 1 and 5! Shhhhh, it's 3." ]
    [[ ${lines[-1]} =~ ^Client:\ 1[0-5]\ is ]]
    wait_until 120 eval '[ "$(fds)" -eq "$fds0" ] && [ "$(threads)" -eq "$threads0" ]' || {
        echo "fds $(fds) (before: $fds0), threads $(threads) (before: $threads0)"
        false
    }
}

# load_200 PROG: 200 clients connected at once all finish their games, then
# the server's descriptors and threads return to their count before the load.
load_200() {
    start_server "$1" --quiet
    local fds0 threads0
    fds0=$(fds) threads0=$(threads)
    run -0 --separate-stderr timeout 300 "$G/guess_load" --connect "127.0.0.1:$PORT" --clients 200 \
        --games 3
    echo "$output $stderr"
    [[ $output =~ ^200\ clients,\ 600\ games\ in ]]
    # and 200 more as tasks on one loop (guess_load --tasks)
    run -0 --separate-stderr timeout 300 "$G/guess_load" --connect "127.0.0.1:$PORT" --clients 200 \
        --games 2 --tasks
    echo "$output $stderr"
    [[ $output =~ ^200\ clients,\ 400\ games\ in ]]
    wait_until 120 eval '[ "$(fds)" -eq "$fds0" ] && [ "$(threads)" -eq "$threads0" ]' || {
        echo "fds $(fds) (before: $fds0), threads $(threads) (before: $threads0)"
        false
    }
}

# sigterm PROG: --serve ends on SIGTERM with exit 0, closing a connected
# client's connection, and leaves no process behind.
sigterm() {
    start_server "$1"
    local fds0 idle=() fd i
    fds0=$(fds)
    exec 5<>"/dev/tcp/127.0.0.1/$PORT"
    say "PARAMS 1 5"
    say NUMBER
    hear
    [[ $REPLY =~ ^[1-5]$ ]]
    # 50 idle clients, one halfway through a line, one flooding NUMBERs it never reads
    for i in $(seq 50); do
        exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
        idle+=("$fd")
    done
    printf 'PARAMS 1' >&"${idle[0]}"
    timeout 120 bash -c 'exec 7<>"/dev/tcp/127.0.0.1/$1"; printf "PARAMS 1 1000000\n" >&7
        yes NUMBER >&7' _ "$PORT" 2>/dev/null 3>&- &
    STARTED+=("$!")
    wait_until 60 eval '[ "$(fds)" -ge $((fds0 + 52)) ]'
    kill -TERM "$SPID"
    local status=0
    wait "$SERVER" || status=$?
    [ "$status" -eq 0 ]
    ! kill -0 "$SPID" 2>/dev/null
    ! read -r -t 30 line <&5 # its connection was closed
    exec 5>&-
    for fd in "${idle[@]}"; do
        ! read -r -t 30 line <&"$fd"
        exec {fd}>&-
    done
    cat "$ERR"
    [ ! -s "$ERR" ] # the server's own closing is not logged as clients dropping out
}

# load_1000 PROG: 1,000 clients connected at once all finish their games.
load_1000() {
    ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    [ "$(ulimit -n)" -ge 2100 ] ||
        skip "1,000 clients need about 1,050 descriptors in each process; ulimit -Hn is $(ulimit -Hn)"
    start_server "$1" --quiet
    local fds0 threads0
    fds0=$(fds) threads0=$(threads)
    run -0 --separate-stderr timeout 300 "$G/guess_load" --connect "127.0.0.1:$PORT" --clients 1000 \
        --games 2
    echo "$output $stderr"
    [[ $output =~ ^1000\ clients,\ 2000\ games\ in ]]
    wait_until 120 eval '[ "$(fds)" -eq "$fds0" ] && [ "$(threads)" -eq "$threads0" ]' || {
        echo "fds $(fds) (before: $fds0), threads $(threads) (before: $threads0)"
        false
    }
}

@test "guess_threads: the book's 16-line transcript, in the book's order, every run" {
    for run in 1 2 3 4 5; do
        run -0 --separate-stderr timeout 60 "$G/guess_threads" --port 0
        [ "$output" = "$threaded_transcript" ]
        [ "$stderr" = "" ]
    done
}

@test "guess_threads: --port 1234 (the book's) by default; --seed changes the guesses" {
    run -0 --separate-stderr timeout 60 "$G/guess_threads" --port 0 --seed 7
    [ "${#lines[@]}" -ge 9 ]
    [ "$output" != "$threaded_transcript" ]
    run -0 timeout 60 "$G/guess_threads" --help
    [[ $output =~ --port\ P.*1234 ]]
}

@test "guess_threads --serve: Listening on 127.0.0.1:PORT; its own client plays the book's game against it" {
    start_server guess_threads
    run -0 --separate-stderr timeout 60 "$G/guess_threads" --connect "127.0.0.1:$PORT"
    [ "$output" = "$(only "$threaded_transcript" '^(Guess|Client)')" ]
    wait_until 60 grep -q 'Server: 12 is Correct' "$OUT"
    [ "$(cat "$OUT")" = "$(only "$threaded_transcript" '^Server')" ]
}

@test "guess_threads: every bad line gets its ERROR, the connection plays on, one log line each" {
    every_bad_line guess_threads
}

@test "guess_threads: a 1 MiB line and a client killed mid-line drop only their own connections" {
    long_line_and_vanished guess_threads
}

@test "guess_threads: 200 clients at once (threads, then tasks) finish; fds and threads return to their count" {
    load_200 guess_threads
}

@test "guess_threads: 1,000 clients at once finish; fds and threads return to their count" {
    load_1000 guess_threads
}

@test "guess_threads --serve: SIGTERM with 52 clients connected closes them all and exits 0, nothing left behind" {
    sigterm guess_threads
}

@test "guess_threads: bad flags exit 2 naming the flag; an unreachable server exits 1" {
    run -2 --separate-stderr timeout 10 "$G/guess_threads" --port abc
    [[ ${stderr_lines[0]} =~ --port ]]
    run -2 --separate-stderr timeout 10 "$G/guess_threads" --serve --connect 127.0.0.1:1
    [[ ${stderr_lines[0]} =~ --serve\ and\ --connect ]]
    run -2 --separate-stderr timeout 10 "$G/guess_threads" --connect nowhere
    [[ ${stderr_lines[0]} =~ --connect ]]
    run -2 --separate-stderr timeout 10 "$G/guess_load"
    [[ ${stderr_lines[0]} =~ --connect ]]
    # port 1 on 127.0.0.1: nobody listens there
    run -1 --separate-stderr timeout 10 "$G/guess_threads" --connect 127.0.0.1:1
    [[ $stderr =~ ConnectionRefusedError ]]
    [ "$output" = "" ]
}

@test "guess_async: the book's 20-line async transcript, the same every run" {
    for run in 1 2 3 4 5; do
        run -0 --separate-stderr timeout 60 "$G/guess_async" --port 0
        [ "$output" = "$async_transcript" ]
        [ "$stderr" = "" ]
    done
}

@test "guess_async --seed 1234: seeded afresh, it makes the threaded game's guesses" {
    run -0 --separate-stderr timeout 60 "$G/guess_async" --port 0 --seed 1234
    [ "$output" = "$threaded_transcript" ]
    run -0 timeout 60 "$G/guess_async" --help
    [[ $output =~ --port\ P.*4321 ]]
}

@test "each client against each server on --port 0: the guesses are the server's, the lines the book's" {
    local server client
    for server in guess_threads guess_async; do
        for client in guess_threads guess_async; do
            start_server "$server" --seed 1234
            run -0 --separate-stderr timeout 60 "$G/$client" --connect "127.0.0.1:$PORT"
            echo "$client against $server: $output"
            [ "$output" = "$(only "$threaded_transcript" '^(Guess|Client)')" ]
            wait_until 60 grep -q 'Server: 12 is Correct' "$OUT"
            [ "$(cat "$OUT")" = "$(only "$threaded_transcript" '^Server')" ]
            kill -TERM "$SPID"
            wait "$SERVER"
        done
    done
    # with no --seed, guess_async's server stands where the book's async game began
    start_server guess_async
    run -0 --separate-stderr timeout 60 "$G/guess_threads" --connect "127.0.0.1:$PORT"
    [ "$output" = "$(only "$async_transcript" '^(Guess|Client)')" ]
}

@test "guess_async: every bad line gets its ERROR, the connection plays on, one log line each" {
    every_bad_line guess_async
}

@test "guess_async: a 1 MiB line and a client killed mid-line drop only their own connections" {
    long_line_and_vanished guess_async
}

@test "guess_async: 200 clients at once (threads, then tasks) finish; fds and threads return to their count" {
    load_200 guess_async
}

@test "guess_async: 1,000 clients at once finish; fds and threads return to their count" {
    load_1000 guess_async
}

@test "guess_async --serve: SIGTERM with 52 clients connected closes them all and exits 0, nothing left behind" {
    sigterm guess_async
}

@test "guess_async: bad flags exit 2 naming the flag; an unreachable server exits 1" {
    run -2 --separate-stderr timeout 10 "$G/guess_async" --seed -5
    [[ ${stderr_lines[0]} =~ --seed ]]
    run -2 --separate-stderr timeout 10 "$G/guess_async" --serve --connect 127.0.0.1:1
    [[ ${stderr_lines[0]} =~ --serve\ and\ --connect ]]
    run -1 --separate-stderr timeout 10 "$G/guess_async" --connect 127.0.0.1:1
    [[ $stderr =~ ConnectionRefusedError ]]
    [ "$output" = "" ]
}

# ---- Items 62 and 63: merging logs ----

MERGES="merge_threads merge_mixed merge_async merge_bottom_up merge_write_thread"
ok_line='^merged ([0-9]+) lines from ([0-9]+) inputs: OK$'

# merge_ok PROG LINES INPUTS ARGS...: one OK line with those counts, nothing on stderr.
merge_ok() {
    local prog=$1 nlines=$2 inputs=$3
    shift 3
    run -0 --separate-stderr timeout 120 "$BIN/item61-63/$prog" "$@"
    echo "$prog $*: $output / $stderr"
    [ "$stderr" = "" ]
    [ "${#lines[@]}" -eq 1 ]
    [ "${lines[0]}" = "merged $nlines lines from $inputs inputs: OK" ]
    # The temporary directory is removed after a good run.
    [ -z "$(compgen -G "$TMPDIR/merge-*")" ]
}

# merged_ok PID LINE: the merge program started in the background as PID,
# with its stdout and stderr in $BATS_TEST_TMPDIR/out and err, exits 0
# having printed LINE and nothing on stderr.
merged_ok() {
    local status=0
    wait "$1" || status=$?
    cat "$BATS_TEST_TMPDIR/err"
    [ "$status" -eq 0 ]
    [ "$(cat "$BATS_TEST_TMPDIR/out")" = "$2" ]
    [ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "readline holds part of a line until its newline, hands on a last line once ended, drains before it ends" {
    run_unit 20 test_merge readline_holds_part_of_a_line readline_last_line_without_newline_once_ended \
        readline_drains_before_it_ends readline_long_line readline_book_hands_on_half_lines \
        readline_closed_stops_at_once
}

@test "confirm_merge: any interleaving passes; a missing, reordered, extra or torn line is named; names match exactly" {
    run_unit 20 test_merge confirm_merge_accepts_any_interleaving confirm_merge_names_what_differs \
        confirm_merge_matches_exact_names
}

@test "every merge program, run as the book does, prints 'merged 50 lines from 5 inputs: OK'" {
    for prog in $MERGES; do merge_ok "$prog" 50 5; done
}

@test "every merge program: 16 inputs of 200 lines, each line written in three pieces, merged whole" {
    # --split pauses inside lines; no part of a line may be handed on alone.
    # (Short pauses keep it quick; the book's are up to 0.1 s.)
    for prog in $MERGES; do
        merge_ok "$prog" 3200 16 --inputs 16 --lines 200 --split --pause 0.01 --interval 0.01
    done
}

@test "every merge program: 40 inputs (more than a default executor's threads), nothing lost" {
    for prog in $MERGES; do merge_ok "$prog" 400 40 --inputs 40; done
}

@test "a merge stopped (SIGSTOP) mid-run and continued still finds every line" {
    for prog in $MERGES; do
        rm -rf "$TMPDIR"/merge-*
        "$BIN/item61-63/$prog" --lines 40 >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
        local pid=$!
        bg_pids+=("$pid")
        # Wait for the merge to be under way: its output has lines in it.
        for _ in $(seq 600); do
            if [ -s "$(echo "$TMPDIR"/merge-*/merged)" ]; then break; fi
            sleep 0.05
        done
        [ -s "$(echo "$TMPDIR"/merge-*/merged)" ]
        kill -STOP "$pid"
        sleep 1 # stopped: the writers, the tailers and any timer all fall behind
        kill -CONT "$pid"
        merged_ok "$pid" "merged 200 lines from 5 inputs: OK"
    done
}

@test "every merge program: 100 and 200 inputs, and SIGSTOP/SIGCONT at random points of a split run, lose nothing" {
    for prog in $MERGES; do
        merge_ok "$prog" 200 100 --inputs 100 --lines 2
        merge_ok "$prog" 400 200 --inputs 200 --lines 2
        rm -rf "$TMPDIR"/merge-*
        "$BIN/item61-63/$prog" --inputs 40 --lines 20 --split >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
        local pid=$!
        bg_pids+=("$pid")
        # Stop and continue it at random points until it has finished.
        for _ in $(seq 3000); do
            kill -STOP "$pid" 2>/dev/null || break
            sleep "0.0$((RANDOM % 10))"
            kill -CONT "$pid" 2>/dev/null || true
            sleep "0.0$((RANDOM % 10))"
        done
        kill -CONT "$pid" 2>/dev/null || true
        merged_ok "$pid" "merged 800 lines from 40 inputs: OK"
    done
}

@test "confirm_merge names the input and the missing line when the inputs are closed early (the book's timer)" {
    # --close-after closes every input as the book's close_all does, long
    # before the writers (0.5 s pauses) are done.
    for prog in $MERGES; do
        rm -rf "$TMPDIR"/merge-*
        run -1 --separate-stderr timeout 60 "$BIN/item61-63/$prog" --lines 3 --pause 0.5 --close-after 0.001
        [ "$output" = "" ]
        [[ ${stderr_lines[0]} =~ ^$prog:\ AssertionError:\ confirm_merge:\ input\ .*/merge-[A-Za-z0-9]{6}/[0-4]:\ line\ [0-9]+\ of\ 3\ \(.*\)\ is\ missing\ from\ the\ output$ ]]
        [[ ${stderr_lines[1]} == "$prog: the inputs and the merged output are kept in $TMPDIR/merge-"* ]]
    done
}

@test "external mode merges real files written by another process, until it exits and all is drained" {
    cd "$BATS_TEST_TMPDIR"
    for prog in $MERGES; do
        rm -f a b c out done
        : >a
        : >b
        : >c
        # The writer: whole lines, a line in three pieces, and a last line
        # without a newline; it exits a little after its last write.
        (
            echo a-one >>a
            printf 'c-in-' >>c
            sleep 0.3
            echo b-one >>b
            printf 'three-' >>c
            sleep 0.3
            printf 'pieces\n' >>c
            echo a-two >>a
            printf 'b-last-without-newline' >>b
            sleep 0.3
            touch done
        ) 3>&- &
        local wpid=$!
        bg_pids+=("$wpid")
        run -0 --separate-stderr timeout 60 "$BIN/item61-63/$prog" --output out --until-pid "$wpid" a b c
        [ "$output" = "" ]
        [ "$stderr" = "" ]
        [ -e done ] # it waited for the writer to exit
        cat out
        [ "$(wc -l <out)" -eq 5 ]
        [ "$(grep -c . out)" -eq 5 ]
        [ "$(grep '^a-' out | tr '\n' ' ')" = "a-one a-two " ]
        grep -qx 'b-one' out
        grep -qx 'b-last-without-newline' out
        grep -qx 'c-in-three-pieces' out
        [ "$(grep -n b- out | cut -d: -f2 | tr '\n' ' ')" = "b-one b-last-without-newline " ]
    done
}

@test "external mode: a failed write (a full disk) ends every tailer at once, exit 1 naming the output" {
    cd "$BATS_TEST_TMPDIR"
    echo a-one >a
    : >b # an input with nothing to read: its tailer must not wait for the PID
    sleep 1000 &
    local spid=$!
    bg_pids+=("$spid")
    for prog in $MERGES; do
        run -1 --separate-stderr timeout 60 "$BIN/item61-63/$prog" --output /dev/full --until-pid "$spid" a b
        echo "$prog: $stderr"
        [[ "$stderr" == *"/dev/full: No space left on device"* ]]
    done
}

@test "external mode: an input truncated while tailed is read again from its start, as tail -f does" {
    cd "$BATS_TEST_TMPDIR"
    for prog in $MERGES; do
        rm -f a out
        : >a
        (
            echo a-before-the-truncation >>a
            until grep -q before out 2>/dev/null; do sleep 0.05; done
            : >a
            echo a-after >>a
        ) 3>&- &
        local wpid=$!
        bg_pids+=("$wpid")
        run -0 --separate-stderr timeout 60 "$BIN/item61-63/$prog" --output out --until-pid "$wpid" a
        echo "$prog: $stderr"
        cat out
        [ "$stderr" = "$prog: a: file truncated" ]
        [ "$(cat out)" = "$(printf 'a-before-the-truncation\na-after')" ]
    done
}

@test "external mode: a missing input or a directory is an error naming it (exit 2)" {
    cd "$BATS_TEST_TMPDIR"
    : >a
    for prog in $MERGES; do
        run -2 --separate-stderr "$BIN/item61-63/$prog" --output out --until-pid $$ a missing
        [ "$output" = "" ]
        [ "${stderr_lines[0]}" = "$prog: missing: No such file or directory" ]
        [[ ${stderr_lines[1]} == "usage: $prog "* ]]
        run -2 --separate-stderr "$BIN/item61-63/$prog" --output out --until-pid $$ a "$BATS_TEST_TMPDIR"
        [ "${stderr_lines[0]}" = "$prog: $BATS_TEST_TMPDIR: Is a directory" ]
        run -2 --separate-stderr "$BIN/item61-63/$prog" --output out a
        [[ ${stderr_lines[0]} == "$prog: merging real files needs --output OUT, --until-pid PID and INPUT..." ]]
    done
}

@test "merge programs: a bad flag is one line naming it, then the usage (exit 2)" {
    for prog in $MERGES; do
        run -2 --separate-stderr "$BIN/item61-63/$prog" --inputs 0
        [ "$output" = "" ]
        [ "${stderr_lines[0]}" = "$prog: --inputs: expected an integer from 1 to 1000, got '0'" ]
        [ "${#stderr_lines[@]}" -eq 2 ]
        run -2 --separate-stderr "$BIN/item61-63/$prog" --interval abc
        [[ ${stderr_lines[0]} == "$prog: --interval: expected "* ]]
    done
}

@test "merge_mixed --workers 2: fewer executor threads than inputs delays tailers but loses nothing" {
    # The book's default executor (6 threads) loses lines past 6 inputs; here
    # a tailer that waits for a thread still reads its input to the end.
    merge_ok merge_mixed 80 8 --inputs 8 --workers 2
}

@test "merge_write_thread: the WriteThread is joined, none left behind, and the output is whole" {
    # main checks /proc/self/task/TID of the write thread after the merge
    # and fails (exit 1) if it is still there.
    merge_ok merge_write_thread 50 5
    merge_ok merge_write_thread 800 16 --inputs 16 --lines 50 --pause 0.01 --interval 0.01
}

slow_line="^Executing <Task finished name='Task-1' coro=<slow_coroutine\(\) done, defined at item61-63/slow_coroutine.c:([0-9]+)> result=None created at item61-63/slow_coroutine.c:([0-9]+)> took ([0-9]+\.[0-9]{3}) seconds$"

@test "slow_coroutine: debug mode prints the one 'Executing <Task finished ...> took 0.5NN seconds' line" {
    run -0 --separate-stderr timeout 60 "$BIN/item61-63/slow_coroutine"
    echo "$stderr"
    [ "$output" = "" ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ ${stderr_lines[0]} =~ $slow_line ]]
    local defined=${BASH_REMATCH[1]} created=${BASH_REMATCH[2]} took=${BASH_REMATCH[3]}
    # defined at: the line of the function; created at: the aio_run_debug call.
    [ "$(sed -n "${defined}p" item61-63/slow_coroutine.c)" = "static struct error *slow_coroutine(void *arg, void **result)" ]
    [[ $(sed -n "${created}p" item61-63/slow_coroutine.c) == *"aio_run_debug(slow_coroutine"* ]]
    awk -v t="$took" 'BEGIN { exit !(t >= 0.5) }'
}

@test "slow_coroutine --fixed and --executor: the loop is never held, debug mode is silent" {
    for fix in --fixed --executor; do
        run -0 --separate-stderr timeout 60 "$BIN/item61-63/slow_coroutine" $fix
        echo "$fix: $stderr"
        [ "$output" = "" ]
        [ "$stderr" = "" ]
    done
    run -2 --separate-stderr "$BIN/item61-63/slow_coroutine" --fixed --executor
    [ "${stderr_lines[0]}" = "slow_coroutine: --fixed and --executor are two different fixes: pick one" ]
}

@test "AIO_DEBUG=1: a blocking write holds merge_async's loop (tail_async reported); merge_write_thread's only on its write thread" {
    async_line="^Executing <Task pending name='Task-[0-9]+' coro=<tail_async\(\) running, defined at item61-63/merge.c:[0-9]+> created at item61-63/merge_async.c:[0-9]+> took [0-9.]+ seconds$"
    wt_line="^Executing <Task finished name='Task-[0-9]+' coro=<real_write\(\) done, defined at item61-63/merge_write_thread.c:[0-9]+> result=None created at item61-63/merge_write_thread.c:[0-9]+> took [0-9.]+ seconds$"
    AIO_DEBUG=1 run -0 --separate-stderr timeout 60 "$BIN/item61-63/merge_async" --inputs 2 --lines 2 --blocking-write 0.2
    echo "$stderr"
    [ "$output" = "merged 4 lines from 2 inputs: OK" ]
    [ "${#stderr_lines[@]}" -ge 4 ] # every one of the 4 writes held the loop
    [ "$(printf '%s\n' "${stderr_lines[@]}" | grep -cE "$async_line")" -ge 4 ]
    AIO_DEBUG=1 run -0 --separate-stderr timeout 60 "$BIN/item61-63/merge_write_thread" --inputs 2 --lines 2 --blocking-write 0.2
    echo "$stderr"
    [ "$output" = "merged 4 lines from 2 inputs: OK" ]
    [ "$(printf '%s\n' "${stderr_lines[@]}" | grep -cE "$wt_line")" -ge 4 ]
}
