#!/usr/bin/env bats
# Items 62 and 63: merging logs with threads and coroutines, and keeping the
# loop responsive (item61-63/merge_*, item61-63/slow_coroutine).
bats_require_minimum_version 1.5.0

setup() {
    BIN=${BIN:-$PWD}
    export TMPDIR=$BATS_TEST_TMPDIR # the demo's directory lands here, and nowhere else
    bg_pids=()
}

teardown() {
    for pid in "${bg_pids[@]}"; do
        kill -CONT "$pid" 2>/dev/null || true
        kill "$pid" 2>/dev/null || true
    done
}

MERGES="merge_threads"
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

@test "confirm_merge names the input and the missing line when the inputs are closed early (the book's timer)" {
    # --close-after closes every input as the book's close_all does, long
    # before the writers (0.5 s pauses) are done.
    for prog in $MERGES; do
        rm -rf "$TMPDIR"/merge-*
        run -1 --separate-stderr timeout 60 "$BIN/item61-63/$prog" --pause 0.5 --close-after 0.001
        [ "$output" = "" ]
        [[ ${stderr_lines[0]} =~ ^$prog:\ AssertionError:\ confirm_merge:\ input\ .*/merge-[A-Za-z0-9]{6}/[0-4]:\ line\ [0-9]+\ of\ 10\ \(.*\)\ is\ missing\ from\ the\ output$ ]]
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
