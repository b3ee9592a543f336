#!/usr/bin/env bats
# Items 62 and 63: merging logs with threads and coroutines, and keeping the
# loop responsive (item61-63/merge_*, item61-63/slow_coroutine).
bats_require_minimum_version 1.5.0
load helpers

setup() {
    export TMPDIR=$BATS_TEST_TMPDIR # the demo's directory lands here, and nowhere else
    bg_pids=()
}

teardown() {
    for pid in "${bg_pids[@]}"; do
        kill -CONT "$pid" 2>/dev/null || true
        kill "$pid" 2>/dev/null || true
    done
}

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
        local status=0
        wait "$pid" || status=$?
        cat "$BATS_TEST_TMPDIR/err"
        [ "$status" -eq 0 ]
        [ "$(cat "$BATS_TEST_TMPDIR/out")" = "merged 200 lines from 5 inputs: OK" ]
        [ ! -s "$BATS_TEST_TMPDIR/err" ]
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
        local status=0
        wait "$pid" || status=$?
        cat "$BATS_TEST_TMPDIR/err"
        [ "$status" -eq 0 ]
        [ "$(cat "$BATS_TEST_TMPDIR/out")" = "merged 800 lines from 40 inputs: OK" ]
        [ ! -s "$BATS_TEST_TMPDIR/err" ]
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
