#!/usr/bin/env bats
# Items 56-60: the Game of Life, serial and fanned out with threads, a queue
# pipeline, a thread pool and coroutines, stackful and stackless
# (item56-60/*.c, tests/unit/test_life.c).
bats_require_minimum_version 1.5.0
load helpers

setup() {
    L=$BIN/item56-60
    P=$PWD/item56-60/patterns
    VARIANTS=(threaded pipeline "pipeline --phased" pool)
    # Item 60: stackful tasks on common/aio, and stackless frames on its loop layer.
    COROUTINES=(coroutines "coroutines --async-neighbors" "coroutines --loop-per-generation"
        stackless "stackless --async-neighbors")
}

# The book's five columns (identical in Items 56-60).
book_columns() {
    cat <<'TXT'
    0     |     1     |     2     |     3     |     4    
---*----- | --------- | --------- | --------- | ---------
----*---- | --*-*---- | ----*---- | ---*----- | ----*----
--***---- | ---**---- | --*-*---- | ----**--- | -----*---
--------- | ---*----- | ---**---- | ---**---- | ---***---
--------- | --------- | --------- | --------- | ---------
TXT
}

# soup FILE ROWS COLS SEED: a random pattern, about a third of it alive.
soup() {
    awk -v r="$2" -v c="$3" -v seed="$4" 'BEGIN {
        srand(seed)
        print "!random soup, seed " seed
        for (y = 0; y < r; y++) { l = ""; for (x = 0; x < c; x++) l = l (rand() < 0.35 ? "O" : "."); print l }
    }' >"$1"
}

# final VARIANT ARGS...: print the variant's --final grid. Use it as
# got=$(final ...): the assignment fails the test if the program fails.
final() {
    local prog=$1
    shift
    timeout 30 "$L/$prog" --final "$@"
}

# ---- the book's output ----

@test "serial: with no flags prints the book's glider, a blank line, then the book's five columns, byte for byte" {
    # print(grid) ends with the grid's newline and its own; compared with cmp,
    # since $output would hide a missing or extra newline at the end.
    { printf '%s\n' '---*-----' '----*----' '--***----' '---------' '---------' ''; book_columns; } >"$BATS_TEST_TMPDIR/want"
    timeout 10 "$L/serial" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
    cmp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/want"
    [ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "threaded, pipeline, pool, coroutines, stackless (each way): with no flags print the book's five columns, byte for byte" {
    book_columns >"$BATS_TEST_TMPDIR/want"
    for v in "${VARIANTS[@]}" "${COROUTINES[@]}"; do
        timeout 10 "$L/"$v >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
        cmp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/want"
        [ ! -s "$BATS_TEST_TMPDIR/err" ]
    done
}

@test "the header keeps its trailing spaces, as the book's ColumnPrinter does" {
    run -0 timeout 10 "$L/pool"
    [ "${lines[0]}" = "    0     |     1     |     2     |     3     |     4    " ]
}

@test "--generations N simulates exactly N steps (no wasted fifth) and prints columns 0..N" {
    run -0 --separate-stderr timeout 10 "$L/serial" --time
    [ "${#stderr_lines[@]}" -eq 5 ]
    [[ ${stderr_lines[3]} =~ ^Generation\ 4:\ Took\ [0-9]+\.[0-9]{3}\ seconds$ ]]
    [[ ${stderr_lines[4]} =~ ^Per\ generation:\ Took\ [0-9]+\.[0-9]{3}\ seconds$ ]]
    run -0 timeout 10 "$L/threaded" --generations 1
    [ "${lines[0]}" = "    0     |     1    " ]
    run -0 timeout 10 "$L/pool" --generations 0
    [ "$output" = "$(printf '%s\n' '    0    ' '---*-----' '----*----' '--***----' '---------' '---------')" ]
}

# expect_aligned ROW...: every row as long as the first, with " | " at
# exactly the offsets where the first row (the header) has it.
expect_aligned() {
    local header=$1 row i
    for row in "$@"; do
        [ "${#row}" -eq "${#header}" ]
        for ((i = 0; i + 3 <= ${#header}; i++)); do
            [ "$([ "${header:i:3}" = " | " ] && echo 1)" = "$([ "${row:i:3}" = " | " ] && echo 1)" ]
        done
    done
}

@test "columns stay aligned for even widths and two-digit indices, in every variant" {
    for v in serial threaded pool pipeline coroutines stackless; do
        run -0 timeout 10 "$L/$v" --pattern "$P/blinker.cells" --height 4 --width 6 --at 1,1 --generations 11
        rows=("${lines[@]: -5}") # serial prints the starting grid first
        [ "${rows[0]}" = "  0    |   1    |   2    |   3    |   4    |   5    |   6    |   7    |   8    |   9    |   10   |   11  " ]
        [ "${rows[1]}" = "------ | --*--- | ------ | --*--- | ------ | --*--- | ------ | --*--- | ------ | --*--- | ------ | --*---" ]
        expect_aligned "${rows[@]}"
    done
    # The book's odd width 9, past index 9: "    9    " then "   10    ".
    run -0 timeout 10 "$L/pool" --generations 10
    [[ ${lines[0]} == "    0     |"*"|     9     |    10    " ]]
    expect_aligned "${lines[@]}"
}

# ---- the book's assert-only examples (Item 56), as unit tests ----

@test "count_neighbors reads exactly the 8 neighbours in the book's order (N, NE, E, SE, S, SW, W, NW) and counts 2" {
    run_unit 10 test_life count_neighbors count_neighbors_all
}

@test "game_logic: die with < 2 or > 3 neighbours, live on with 2 or 3, regenerate with exactly 3" {
    run_unit 10 test_life game_logic
}

@test "step_cell: stay alive, stay dead, regenerate (fake get/set functions)" {
    run_unit 10 test_life step_cell
}

@test "game_logic's simulated I/O blocks for --io-ms and fails only at --fail-at; a failed cell is not set" {
    run_unit 10 test_life io_failure io_latency
}

@test "Grid wraps around like Python's modulo; LockingGrid serialises get, set and str across threads" {
    run_unit 20 test_life grid_wraps locking_grid
}

@test "ColumnPrinter: the book's layout for width 9, aligned for even widths and indices >= 10, padded for ragged columns" {
    run_unit 10 test_life columns_book columns_aligned columns_ragged
}

# ---- every variant computes the same game ----

@test "every variant agrees with serial on --final: blinker, toad, beacon, glider, several sizes" {
    for case in "blinker 5 5 1,1 3" "toad 6 6 1,1 5" "beacon 6 7 1,1 4" "glider 5 9 0,0 7" \
        "glider 8 8 2,3 13" "glider 4 4 0,0 3" "blinker 1 3 0,0 2"; do
        read -r name h w at n <<<"$case"
        args=(--pattern "$P/$name.cells" --height "$h" --width "$w" --at "$at" --generations "$n")
        want=$(final serial "${args[@]}")
        for v in "${VARIANTS[@]}" "${COROUTINES[@]}"; do
            got=$(final $v "${args[@]}")
            [ "$got" = "$want" ] || {
                echo "$v ${args[*]}: got"$'\n'"$got"$'\n'"want"$'\n'"$want"
                false
            }
        done
    done
}

@test "every variant agrees with serial on --final for random soups (1x1 up to 13x17)" {
    for case in "1 1 1" "2 7 2" "7 11 3" "13 17 4" "10 10 5"; do
        read -r h w seed <<<"$case"
        soup "$BATS_TEST_TMPDIR/soup.cells" "$h" "$w" "$seed"
        args=(--pattern "$BATS_TEST_TMPDIR/soup.cells" --height "$h" --width "$w" --generations 6)
        want=$(final serial "${args[@]}")
        [[ $want == *"*"* ]] || [ "$h" -lt 3 ] # a real soup keeps something alive
        for v in "${VARIANTS[@]}" "${COROUTINES[@]}"; do
            [[ $v == pool* || $v == pipeline* ]] && workers=(--workers 3) || workers=()
            got=$(final $v "${args[@]}" "${workers[@]}")
            [ "$got" = "$want" ]
        done
    done
}

@test "oscillators come back after a full period in every variant: blinker, toad, beacon after 2, pulsar after 3" {
    for case in "blinker 5 5 2" "toad 6 6 2" "beacon 6 6 2" "pulsar 17 17 3"; do
        read -r name h w period <<<"$case"
        args=(--pattern "$P/$name.cells" --height "$h" --width "$w" --at 1,1)
        start=$(final serial "${args[@]}" --generations 0)
        for v in serial "${VARIANTS[@]}" "${COROUTINES[@]}"; do
            got=$(final $v "${args[@]}" --generations "$period")
            [ "$got" = "$start" ]
            got=$(final $v "${args[@]}" --generations 1)
            [ "$got" != "$start" ]
        done
    done
}

@test "a glider crosses an 8x8 torus and comes back to where it started after 32 steps" {
    start=$(final serial --pattern "$P/glider.cells" --height 8 --width 8 --generations 0)
    for v in serial threaded pool coroutines stackless; do
        got=$(final $v --pattern "$P/glider.cells" --height 8 --width 8 --generations 32)
        [ "$got" = "$start" ]
    done
}

# ---- how each variant's errors travel (--fail-at) ----

@test "serial --fail-at: the error leaves simulate at once: OSError on stderr, exit 1" {
    run -1 --separate-stderr timeout 10 "$L/serial" --fail-at 2,3
    [ "$stderr" = "OSError: Problem with I/O" ]
}

@test "threaded --fail-at: the thread prints its error, join() never sees it, the program carries on and exits 0" {
    run -0 --separate-stderr timeout 10 "$L/threaded" --fail-at 2,3
    # Thread-22 is cell (2,3) of generation 1: Python numbers threads as they start.
    [ "${stderr_lines[0]}" = "Exception in thread Thread-22 (step_cell):" ]
    [ "${stderr_lines[1]}" = "OSError: Problem with I/O" ]
    [ "${stderr_lines[2]}" = "Exception in thread Thread-67 (step_cell):" ]
    [ "${#stderr_lines[@]}" -eq 8 ] # once per generation
    # The columns are printed, but cell (2,3) of generation 1 silently stayed empty.
    [ "${#lines[@]}" -eq 6 ]
    [ "${lines[3]:12:9}" = "----*----" ]
    run -0 timeout 10 "$L/threaded"
    [ "${lines[3]:12:9}" = "---**----" ]
}

@test "pipeline --fail-at: the error travels through the queue and is re-raised as SimulationError from OSError, exit 1" {
    for stage in game_logic count_neighbors; do
        args=(--fail-at 2,3)
        [ "$stage" = game_logic ] || args+=(--phased) # --phased: count_neighbors' I/O fails first
        run -1 --separate-stderr timeout 10 "$L/pipeline" "${args[@]}"
        [ "$output" = "" ]
        want=$(printf '%s\n' "OSError: Problem with I/O in $stage" "" \
            "The above exception was the direct cause of the following exception:" "" \
            "SimulationError: (2, 3)")
        [ "$stderr" = "$want" ]
    done
}

@test "pipeline: the book's simulate_pipeline(Grid(1, 1)) runs: an empty 1x1 grid, SimulationError: (0, 0), exit 1" {
    run -1 --separate-stderr timeout 10 "$L/pipeline" --height 1 --width 1 --fail-at 0,0
    [ "$output" = "" ]
    want=$(printf '%s\n' "OSError: Problem with I/O in game_logic" "" \
        "The above exception was the direct cause of the following exception:" "" \
        "SimulationError: (0, 0)")
    [ "$stderr" = "$want" ]
}

@test "pipeline --after-error: the Grid(1, 1) failure, then the same drained queues and workers print the book's columns" {
    for i in $(seq 5); do
        run -0 --separate-stderr timeout 10 "$L/pipeline" --after-error
        [ "$output" = "$(book_columns)" ]
        [ "${stderr_lines[-1]}" = "SimulationError: (0, 0)" ]
        [ "${#stderr_lines[@]}" -eq 3 ] # the chain's three lines (bats drops the blank ones)
    done
    run -0 --separate-stderr timeout 10 "$L/pipeline" --after-error --workers 1 --io-ms 1 --generations 2
    [ "${#lines[@]}" -eq 6 ]
    run -2 --separate-stderr timeout 10 "$L/pipeline" --after-error --phased
    [ "$output" = "" ]
    [[ ${stderr_lines[0]} == "pipeline: --after-error: "* ]]
}

@test "pipeline --help: --fail-at and --io-ms say what they do with and without --phased" {
    run -0 --separate-stderr timeout 10 "$L/pipeline" --help
    [[ $output == *'Problem with I/O in game_logic'*'with --phased'*'in count_neighbors'* ]]
    [[ $output == *'--io-ms MS '*'in game_logic'*'with --phased, in count_neighbors too'* ]]
}

@test "make item56 ... make item60 build the item56-60 directory" {
    for n in 56 57 58 59 60; do
        run -0 make -n item$n # a dry run: it only reads the Makefile
        make -pn item$n 2>/dev/null | grep -qx "item$n: item56-60"
    done
    run make -n item99
    [ "$status" -ne 0 ]
}

@test "pipeline --fail-at: the queues are drained and the workers stopped, also when other cells are still queued" {
    # A big grid with a slow round trip and one worker: most cells are still
    # queued when the failure surfaces; the program must still exit promptly
    # with every thread stopped (ASan's leak check sees anything left queued).
    run -1 --separate-stderr timeout 20 "$L/pipeline" --height 20 --width 20 --workers 1 --fail-at 0,0
    [ "${stderr_lines[-1]}" = "SimulationError: (0, 0)" ]
    run -1 --separate-stderr timeout 20 "$L/pipeline" --phased --height 20 --width 20 --workers 2 --fail-at 19,19
    [ "${stderr_lines[-1]}" = "SimulationError: (19, 19)" ]
}

@test "pool --fail-at: result() re-raises the worker's error in the caller: OSError on stderr, exit 1" {
    run -1 --separate-stderr timeout 10 "$L/pool" --fail-at 2,3
    [ "$output" = "" ]
    [ "$stderr" = "OSError: Problem with I/O" ]
    run -1 --separate-stderr timeout 10 "$L/pool" --fail-at 0,0 --workers 1 --height 10 --width 10
    [ "$stderr" = "OSError: Problem with I/O" ]
}

# ---- cost reports ----

@test "--io-ms: each variant reports the time per generation on stderr; threaded also the peak threads alive" {
    for v in serial threaded pipeline pool; do
        run -0 --separate-stderr timeout 20 "$L/$v" --io-ms 1 --generations 2 --final
        [[ ${stderr_lines[0]} =~ ^Generation\ 1:\ Took\ [0-9]+\.[0-9]{3}\ seconds$ ]]
        [[ ${stderr_lines[-1]} =~ ^Per\ generation:\ Took\ [0-9]+\.[0-9]{3}\ seconds$ ]]
        [ "${#lines[@]}" -eq 5 ]
    done
    run -0 --separate-stderr timeout 20 "$L/threaded" --io-ms 5 --generations 1
    [[ $stderr =~ Peak\ threads\ alive:\ ([0-9]+) ]]
    [ "${BASH_REMATCH[1]}" -ge 1 ]
    [ "${BASH_REMATCH[1]}" -le 45 ]
}

@test "threaded: when the system cannot start another thread it says so and exits 1" {
    [ "${SANITIZED:-0}" = 1 ] && skip "sanitizers reserve terabytes of address space: ulimit -v cannot apply"
    # 10,000 threads x 64 KiB stacks do not fit in 200 MB of address space.
    run -1 --separate-stderr timeout 30 bash -c "ulimit -v 200000 && exec '$L/threaded' --height 100 --width 100"
    [ "$output" = "" ]
    [[ ${stderr_lines[0]} =~ ^threaded:\ cannot\ start\ thread\ [0-9]+\ of\ 10000\ \(cell\ [0-9]+,[0-9]+\)\ in\ generation\ 1:\ pthread_create:\ EAGAIN ]]
    # Not "out of memory": the README names the real ceilings, and so does the program.
    [[ ${stderr_lines[1]} == "threaded: one thread per cell does not scale: the system's ceilings are kernel.pid_max ("* ]]
    [[ ${stderr_lines[1]} == *"vm.max_map_count ("* ]]
}

# ---- Item 60: coroutines (a task per cell) and stackless (a frame per cell) ----

@test "coroutines: when address space runs out for task stacks it says OSError and exits 1, at every limit tried" {
    [ "${SANITIZED:-0}" = 1 ] && skip "sanitizers reserve terabytes of address space: ulimit -v cannot apply"
    # 100,000 tasks reserve about 13 GB of address space (132 KiB a stack).
    # Wherever the limit falls, the error is the stack's OSError, never
    # "out of memory" from an allocation made after the last stack fitted.
    for kb in 200000 1000000 4000000 10000000; do
        run -1 --separate-stderr timeout 60 bash -c "ulimit -v $kb && exec '$L/coroutines' --height 250 --width 400 --io-ms 10 --generations 1 --final"
        echo "ulimit -v $kb: ${stderr_lines[*]}"
        [ "$output" = "" ]
        [[ ${stderr_lines[0]} =~ ^OSError:\ mmap\ of\ a\ [0-9]+\ KiB\ task\ stack:\ Cannot\ allocate\ memory$ ]]
    done
}

@test "coroutines and stackless agree with serial on --final for larger soups (2,400 and 10,000 cells), awaited neighbours or not" {
    cases=("40 60 11 3" "100 100 12 2")
    # Under a sanitizer a task's stack costs far more (TSan: about 850 KB of
    # shadow and fiber state per live task), so the soup is smaller there.
    [ "${SANITIZED:-0}" = 1 ] && cases=("16 20 11 3")
    for case in "${cases[@]}"; do
        read -r h w seed n <<<"$case"
        soup "$BATS_TEST_TMPDIR/soup.cells" "$h" "$w" "$seed"
        args=(--pattern "$BATS_TEST_TMPDIR/soup.cells" --height "$h" --width "$w" --generations "$n")
        want=$(final serial "${args[@]}")
        for v in "${COROUTINES[@]}"; do
            got=$(final $v "${args[@]}")
            [ "$got" = "$want" ] || {
                echo "$v ${args[*]} differs from serial"
                false
            }
        done
    done
}

@test "coroutines --fail-at: the error comes out of gather and out of aio_run: OSError on stderr, nothing on stdout, exit 1" {
    for v in coroutines "coroutines --async-neighbors" "coroutines --loop-per-generation"; do
        run -1 --separate-stderr timeout 10 "$L/"$v --fail-at 2,3
        [ "$output" = "" ]
        [ "$stderr" = "OSError: Problem with I/O" ]
    done
}

@test "stackless --fail-at: the first error ends the run the same way: OSError on stderr, nothing on stdout, exit 1" {
    for v in stackless "stackless --async-neighbors"; do
        run -1 --separate-stderr timeout 10 "$L/"$v --fail-at 2,3
        [ "$output" = "" ]
        [ "$stderr" = "OSError: Problem with I/O" ]
    done
}

@test "coroutines, stackless --fail-at on a 16x16 grid: the first, last or middle cell fails, the other 255 still finish, exit 1" {
    # With a round trip to wait for, the failing cell's error arrives while
    # the others are suspended: they must still be waited for and freed
    # (ASan's leak check sees any task or frame left behind).
    for v in "${COROUTINES[@]}"; do
        for at in 0,0 15,15 8,7; do
            run -1 --separate-stderr timeout 20 "$L/"$v --height 16 --width 16 --io-ms 1 --fail-at $at --final
            [ "$output" = "" ]
            [ "${stderr_lines[-1]}" = "OSError: Problem with I/O" ]
        done
    done
}

@test "--stats: time per generation and resident bytes per suspended task on stderr; stdout unchanged" {
    for v in "${COROUTINES[@]}"; do
        want=$(final $v --height 16 --width 16 --generations 2)
        run -0 --separate-stderr timeout 20 "$L/"$v --height 16 --width 16 --generations 2 --final --stats
        [ "$output" = "$want" ]
        [[ ${stderr_lines[0]} =~ ^Resident\ memory\ per\ suspended\ task:\ -?[0-9]+\ bytes\ \(256\ tasks,\ VmRSS\ [+-][0-9]+\.[0-9]\ MiB\)$ ]]
        [[ ${stderr_lines[1]} =~ ^Generation\ 1:\ Took\ [0-9]+\.[0-9]{3}\ seconds$ ]]
        [[ ${stderr_lines[3]} =~ ^Per\ generation:\ Took\ [0-9]+\.[0-9]{3}\ seconds$ ]]
        [ "${#stderr_lines[@]}" -eq 4 ]
    done
}

@test "coroutines, stackless --io-ms: the time per generation on stderr, the columns on stdout" {
    for v in coroutines stackless; do
        run -0 --separate-stderr timeout 20 "$L/$v" --io-ms 1 --generations 2
        [ "${#lines[@]}" -eq 6 ]
        [ "${lines[0]}" = "    0     |     1     |     2    " ]
        [[ ${stderr_lines[0]} =~ ^Generation\ 1:\ Took\ [0-9]+\.[0-9]{3}\ seconds$ ]]
        [[ ${stderr_lines[-1]} =~ ^Per\ generation:\ Took\ [0-9]+\.[0-9]{3}\ seconds$ ]]
    done
}

@test "coroutines, stackless: --generations 0 prints the starting grid alone and runs no loop" {
    for v in "${COROUTINES[@]}"; do
        run -0 timeout 10 "$L/"$v --generations 0
        [ "$output" = "$(printf '%s\n' '    0    ' '---*-----' '----*----' '--***----' '---------' '---------')" ]
    done
}

# ---- bad input ----

# bad_pattern PROG FILE MESSAGE ARGS...: PROG --pattern FILE exits 2, prints
# nothing on stdout, and on stderr exactly "PROG: --pattern FILE: MESSAGE"
# and the usage line.
bad_pattern() {
    local prog=$1 file=$2 message=$3
    shift 3
    run -2 --separate-stderr timeout 10 "$L/$prog" --pattern "$file" "$@"
    [ "$output" = "" ]
    [ "${stderr_lines[0]}" = "$prog: --pattern $file: $message" ] || {
        echo "got: ${stderr_lines[0]}"
        false
    }
    [[ ${stderr_lines[1]} == "usage: $prog "* ]]
    [ "${#stderr_lines[@]}" -eq 2 ]
}

@test "a pattern with a character other than 'O', '*' and '.' exits 2 with one line naming the file, line and character" {
    printf '!ok\n.O.\nOxO\n' >"$BATS_TEST_TMPDIR/bad.cells"
    for v in serial threaded pipeline pool; do
        bad_pattern $v "$BATS_TEST_TMPDIR/bad.cells" "line 3: unexpected character 'x' (alive is 'O' or '*', dead is '.')"
    done
    printf 'O.\n.O!\n' >"$BATS_TEST_TMPDIR/bang.cells" # '!' starts a comment only at the start of a line
    bad_pattern serial "$BATS_TEST_TMPDIR/bang.cells" "line 2: unexpected character '!' (alive is 'O' or '*', dead is '.')"
    printf 'O\rO\n' >"$BATS_TEST_TMPDIR/cr.cells" # a CR is a line end only before LF
    bad_pattern serial "$BATS_TEST_TMPDIR/cr.cells" "line 1: unexpected byte 0x0d (alive is 'O' or '*', dead is '.')"
}

@test "binary junk, NUL bytes and a directory are errors (exit 2), never a crash" {
    printf 'O\001\n' >"$BATS_TEST_TMPDIR/ctrl.cells"
    bad_pattern serial "$BATS_TEST_TMPDIR/ctrl.cells" "line 1: unexpected byte 0x01 (alive is 'O' or '*', dead is '.')"
    printf '..O\n\000O\n' >"$BATS_TEST_TMPDIR/nul.cells"
    bad_pattern pool "$BATS_TEST_TMPDIR/nul.cells" "line 2: unexpected byte 0x00 (alive is 'O' or '*', dead is '.')"
    printf '\xff\xd8\xff\xe0JFIF\n' >"$BATS_TEST_TMPDIR/photo.cells"
    bad_pattern threaded "$BATS_TEST_TMPDIR/photo.cells" "line 1: unexpected byte 0xff (alive is 'O' or '*', dead is '.')"
    bad_pattern serial /dev/zero "line 1: unexpected byte 0x00 (alive is 'O' or '*', dead is '.')"
    bad_pattern serial "$BATS_TEST_TMPDIR/missing.cells" "cannot open: No such file or directory"
    bad_pattern serial "$BATS_TEST_TMPDIR" "cannot read: Is a directory"
}

@test "an empty pattern file, or one with only comments and blank lines, is an error (exit 2)" {
    : >"$BATS_TEST_TMPDIR/empty.cells"
    printf '!Name: nothing\n\n\r\n!\n' >"$BATS_TEST_TMPDIR/comments.cells"
    for f in empty comments; do
        bad_pattern pipeline "$BATS_TEST_TMPDIR/$f.cells" "no pattern in it (no line of 'O', '*' or '.')"
    done
    # A line of dead cells is a pattern: an empty world.
    printf '...\n' >"$BATS_TEST_TMPDIR/dead.cells"
    run -0 timeout 10 "$L/serial" --pattern "$BATS_TEST_TMPDIR/dead.cells" --height 1 --width 3 --final
    [ "$output" = "---" ]
}

@test "a pattern that does not fit the grid at --at exits 2 naming its size and the grid's" {
    bad_pattern serial "$P/toad.cells" "2 x 4 cells at 4,0 do not fit the 5 x 9 grid" --at 4,0
    bad_pattern threaded "$P/toad.cells" "2 x 4 cells at 0,6 do not fit the 5 x 9 grid" --at 0,6
    run -0 timeout 10 "$L/threaded" --pattern "$P/toad.cells" --at 3,5 --final --generations 0 # just fits
    [ "${lines[4]}" = "-----***-" ]
    run -2 --separate-stderr timeout 10 "$L/pool" --height 2
    [ "${stderr_lines[0]}" = "pool: the book's glider: 3 x 5 cells at 0,0 do not fit the 2 x 9 grid" ]
    run -0 --separate-stderr timeout 10 "$L/pool" --height 1 --width 1 --final # Grid(1, 1): empty
    [ "$output" = "-" ]
    run -2 --separate-stderr timeout 10 "$L/pool" --at 999,999
    [ "${stderr_lines[0]}" = "pool: the book's glider: 3 x 5 cells at 999,999 do not fit the 5 x 9 grid" ]
    run -2 --separate-stderr timeout 10 "$L/pool" --at 1000,0 # beyond any grid: a bad flag value
    [ "${stderr_lines[0]}" = "pool: --at: expected Y,X with integers from 0 to 999, got '1000,0'" ]
}

@test "a huge pattern (a 16 MB line, a million rows) is rejected in bounded memory, naming its full size" {
    head -c 16777216 /dev/zero | tr '\0' . >"$BATS_TEST_TMPDIR/long.cells"
    yes O | head -n 1000000 >"$BATS_TEST_TMPDIR/tall.cells"
    # 30 MB of address space: reading either file whole would not fit, and
    # must not end as a silently truncated pattern.
    limit="ulimit -v 30000;"
    [ "${SANITIZED:-0}" = 1 ] && limit="" # sanitizers reserve terabytes: ulimit -v cannot apply
    for f in long tall; do
        run -2 --separate-stderr timeout 20 bash -c "$limit exec '$L/serial' --pattern '$BATS_TEST_TMPDIR/$f.cells'"
        [ "$output" = "" ]
        [ "${#stderr_lines[@]}" -eq 2 ]
        [[ ${stderr_lines[0]} == *": $([ $f = long ] && echo "1 x 16777216" || echo "1000000 x 1") cells at 0,0 do not fit the 5 x 9 grid" ]]
    done
}

@test "a pattern may use '*', comments, CRLF line ends and short lines" {
    printf '!a comment\r\n*\r\n.O\r\n\r\n' >"$BATS_TEST_TMPDIR/loose.cells"
    run -0 timeout 10 "$L/serial" --pattern "$BATS_TEST_TMPDIR/loose.cells" --height 3 --width 3 --at 1,1 --generations 0 --final
    [ "$output" = "$(printf '%s\n' '---' '-*-' '--*')" ]
}

@test "bad flags exit 2 with one line naming the flag, then the usage, nothing on stdout" {
    for args in "--height 0" "--width abc" "--at 1" "--fail-at x,1" "--generations -1" \
        "--io-ms -5" "--height 1001" "--at 1,-2" "--io-ms"; do
        for v in serial threaded coroutines stackless; do
            run -2 --separate-stderr timeout 10 "$L/$v" $args
            [ "$output" = "" ]
            [[ ${stderr_lines[0]} == "$v: ${args%% *}: "* ]]
            [[ ${stderr_lines[1]} == "usage: $v "* ]]
        done
    done
    run -2 --separate-stderr timeout 10 "$L/serial" --fail-at 5,0
    [ "${stderr_lines[0]}" = "serial: --fail-at: 5,0 is outside the 5 x 9 grid" ]
    run -2 --separate-stderr timeout 10 "$L/serial" --workers 3
    [ "${stderr_lines[0]}" = "serial: unknown flag '--workers'" ]
    run -2 --separate-stderr timeout 10 "$L/threaded" --phased
    [ "${stderr_lines[0]}" = "threaded: unknown flag '--phased'" ]
    for v in coroutines stackless; do # one thread, no workers: --workers is not theirs
        run -2 --separate-stderr timeout 10 "$L/$v" --workers 3
        [ "$output" = "" ]
        [ "${stderr_lines[0]}" = "$v: unknown flag '--workers'" ]
        [[ ${stderr_lines[1]} == "usage: $v "* ]]
        run -2 --separate-stderr timeout 10 "$L/$v" --fail-at 2,9
        [ "${stderr_lines[0]}" = "$v: --fail-at: 2,9 is outside the 5 x 9 grid" ]
        run -2 --separate-stderr timeout 10 "$L/$v" --stats=yes
        [[ ${stderr_lines[0]} == "$v: --stats"* ]]
    done
    run -2 --separate-stderr timeout 10 "$L/stackless" --loop-per-generation
    [ "${stderr_lines[0]}" = "stackless: unknown flag '--loop-per-generation'" ]
    run -2 --separate-stderr timeout 10 "$L/serial" --async-neighbors
    [ "${stderr_lines[0]}" = "serial: unknown flag '--async-neighbors'" ]
    for v in pool pipeline; do
        run -2 --separate-stderr timeout 10 "$L/$v" --workers 0
        [ "${stderr_lines[0]}" = "$v: --workers: expected an integer from 1 to 1024, got '0'" ]
    done
}

@test "--help: usage and every flag on stdout, exit 0" {
    for v in serial threaded pipeline pool coroutines stackless; do
        run -0 --separate-stderr timeout 10 "$L/$v" --help
        [[ ${lines[0]} == "usage: $v [--height H] [--width W] [--pattern FILE] [--at Y,X] [--generations N]"* ]]
        [[ $output == *"--fail-at Y,X"* ]]
        [ "$stderr" = "" ]
    done
    run -0 timeout 10 "$L/pipeline" --help
    [[ $output == *"--phased"* && $output == *"--workers N"*"(default 5)"* ]]
    run -0 timeout 10 "$L/pool" --help
    [[ $output == *"--workers N"*"(default 10)"* ]]
    run -0 timeout 10 "$L/coroutines" --help
    [[ $output == *"--async-neighbors"* && $output == *"--loop-per-generation"* && $output == *"--stats"* ]]
    [[ $output == *"--io-ms MS"*"an awaited sleep"* && $output != *"--workers"* ]]
    run -0 timeout 10 "$L/stackless" --help
    [[ $output == *"--async-neighbors"* && $output == *"--stats"* && $output != *"--workers"* ]]
}
