#!/usr/bin/env bats
# Item 53: Use Threads for Blocking I/O, Avoid for Parallelism.
bats_require_minimum_version 1.5.0
load helpers


took='Took [0-9]+\.[0-9]{3} seconds'

# took_ms LINE: the X.XXX of "...: Took X.XXX seconds", in whole milliseconds.
took_ms() {
    [[ $1 =~ Took\ ([0-9]+)\.([0-9]{3})\ seconds$ ]]
    echo $((10#${BASH_REMATCH[1]} * 1000 + 10#${BASH_REMATCH[2]}))
}

@test "factorize: prints the serial, GIL and free-thread lines, in that order, and nothing else" {
    run -0 --separate-stderr timeout 60 "$BIN/item53/factorize" --repeat 1
    [ "${#lines[@]}" -eq 3 ]
    [[ ${lines[0]} =~ ^serial:\ $took$ ]]
    [[ ${lines[1]} =~ ^threads\ under\ the\ GIL:\ $took$ ]]
    [[ ${lines[2]} =~ ^free\ threads:\ $took$ ]]
    [ "$stderr" = "" ]
}

@test "factorize: with no --repeat, it repeats the book's work and says how often, on stderr" {
    run -0 --separate-stderr timeout 120 "$BIN/item53/factorize"
    [ "${#lines[@]}" -eq 3 ]
    [[ ${lines[0]} =~ ^serial:\ $took$ ]]
    [[ $stderr =~ ^factorize:\ the\ work\ ([0-9]+)\ times\ over,\ so\ that\ the\ serial\ run\ takes\ about\ as\ long\ as\ the\ book\'s\ \(--repeat\ 1:\ once\)$ ]]
    [ "${BASH_REMATCH[1]}" -ge 1 ]
    [ "${BASH_REMATCH[1]}" -le 10000 ]
}

@test "factorize --show: the book's four numbers have exactly their known divisors" {
    run -0 --separate-stderr timeout 60 "$BIN/item53/factorize" --show --repeat 1
    [ "${#lines[@]}" -eq 7 ]
    [ "${lines[3]}" = "2139079: [1, 101, 21179, 2139079]" ]
    [ "${lines[4]}" = "1214759: [1, 7, 13, 49, 91, 637, 1907, 13349, 24791, 93443, 173537, 1214759]" ]
    [ "${lines[5]}" = "1516637: [1, 19, 79823, 1516637]" ]
    [ "${lines[6]}" = "1852285: [1, 5, 271, 1355, 1367, 6835, 370457, 1852285]" ]
}

@test "factorize: --numbers, --repeat; every threaded run finds the serial run's factors" {
    # The program exits 1 if a threaded run's factors differ from the serial run's.
    run -0 --separate-stderr timeout 60 "$BIN/item53/factorize" --numbers 12,97,1,360 \
        --repeat 3 --show --switch-interval-ms 0.01
    [ "${#lines[@]}" -eq 7 ]
    [ "${lines[3]}" = "12: [1, 2, 3, 4, 6, 12]" ]
    [ "${lines[4]}" = "97: [1, 97]" ]
    [ "${lines[5]}" = "1: [1]" ]
    [ "${lines[6]}" = "360: [1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 15, 18, 20, 24, 30, 36, 40, 45, 60, 72, 90, 120, 180, 360]" ]
}

@test "factorize: --gil runs only the GIL threads, --no-gil only the free ones" {
    run -0 --separate-stderr timeout 60 "$BIN/item53/factorize" --gil --repeat 1
    [ "${#lines[@]}" -eq 2 ]
    [[ ${lines[0]} =~ ^serial:\ $took$ ]]
    [[ ${lines[1]} =~ ^threads\ under\ the\ GIL:\ $took$ ]]
    run -0 --separate-stderr timeout 60 "$BIN/item53/factorize" --no-gil --repeat 1
    [ "${#lines[@]}" -eq 2 ]
    [[ ${lines[1]} =~ ^free\ threads:\ $took$ ]]
}

@test "syscalls: prints the serial line, then the threads-under-the-GIL line, and nothing else" {
    run -0 --separate-stderr timeout 60 "$BIN/item53/syscalls"
    [ "${#lines[@]}" -eq 2 ]
    [[ ${lines[0]} =~ ^serial:\ $took$ ]]
    [[ ${lines[1]} =~ ^threads\ under\ the\ GIL:\ $took$ ]]
    [ "$stderr" = "" ]
    # Not a speed claim: poll() never returns before its timeout on a pipe
    # nobody writes to, so five calls cannot take less than 5 x 100 ms, and
    # the threads not less than 100 ms (the book's socket returned at once).
    [ "$(took_ms "${lines[0]}")" -ge 500 ]
    [ "$(took_ms "${lines[1]}")" -ge 100 ]
}

@test "syscalls: --no-gil runs free threads; --threads, --call-ms, --compute-ms work" {
    run -0 --separate-stderr timeout 60 "$BIN/item53/syscalls" --no-gil --threads 3 --call-ms 20
    [ "${#lines[@]}" -eq 2 ]
    [[ ${lines[0]} =~ ^serial:\ $took$ ]]
    [[ ${lines[1]} =~ ^free\ threads:\ $took$ ]]
    [ "$(took_ms "${lines[0]}")" -ge 60 ]
    run -0 --separate-stderr timeout 60 "$BIN/item53/syscalls" --threads 2 --call-ms 10 \
        --compute-ms 5 --switch-interval-ms 1
    [[ ${lines[1]} =~ ^threads\ under\ the\ GIL:\ $took$ ]]
    # the main thread computes 2 x 5 ms and the calls block 10 ms: at least 10 ms either way
    [ "$(took_ms "${lines[1]}")" -ge 10 ]
}

@test "syscalls --no-serial: only the threaded line, so many threads need not wait for the serial run" {
    run -0 --separate-stderr timeout 60 "$BIN/item53/syscalls" --threads 200 --call-ms 50 --no-serial
    [ "${#lines[@]}" -eq 1 ]
    [[ ${lines[0]} =~ ^threads\ under\ the\ GIL:\ $took$ ]]
}

@test "--gil and --no-gil: the same words in every program that has them (items 53 and 54)" {
    for prog in item53/factorize item53/syscalls item53/convoy item54/race item54/locked item54/atomic; do
        run -0 --separate-stderr timeout 10 "$BIN/$prog" --help
        [[ $output == *$'\n  --gil                    run the threads under the emulated GIL only\n'* ]]
        [[ $output == *$'\n  --no-gil                 run the threads free (no GIL) only\n'* ]]
        run -2 --separate-stderr timeout 10 "$BIN/$prog" --gil --no-gil
        [[ ${stderr_lines[0]} == *": --gil and --no-gil: choose one" ]]
    done
}

@test "syscalls: many threads blocking at once need no descriptor each (one never-ready pipe)" {
    # 20 overlapping calls with a descriptor each would need 20 or more; the
    # limit of 16 leaves room for the standard ones and one pipe.
    run -0 --separate-stderr bash -c "ulimit -n 16 && timeout 60 '$BIN/item53/syscalls' --no-gil --threads 20 --call-ms 50"
    [[ ${lines[1]} =~ ^free\ threads:\ $took$ ]]
    [ "$stderr" = "" ]
}

convoy_lines=(
    "^I/O alone: $took$"
    "^I/O beside a CPU-bound thread, under the GIL: $took$"
    "^I/O beside a CPU-bound thread, free threads: $took$"
    "^slowdown under the GIL: [0-9]+\.[0-9]x \([0-9]+\.[0-9]{2} ms more per operation; switch interval [0-9.]+ ms; the GIL changed hands [0-9]+ times\)$"
    "^slowdown with free threads: [0-9]+\.[0-9]x$"
)

@test "convoy: prints the three times and the two slowdown ratios, in order" {
    run -0 --separate-stderr timeout 60 "$BIN/item53/convoy" --ops 20
    [ "${#lines[@]}" -eq 5 ]
    for i in 0 1 2 3 4; do
        [[ ${lines[$i]} =~ ${convoy_lines[$i]} ]]
    done
    [ "$stderr" = "" ]
}

@test "convoy --io-us 0: no ratio of two times under a millisecond, no negative time" {
    run -0 --separate-stderr timeout 60 "$BIN/item53/convoy" --io-us 0
    [ "${#lines[@]}" -eq 5 ]
    [[ $output != *-0.00* ]]
    # Not measured when the I/O alone took under 1 ms; "Took 0.000" is surely that.
    # (On a busy machine it can take longer, and then the ratios are printed.)
    if [ "${lines[0]}" = "I/O alone: Took 0.000 seconds" ]; then
        [[ ${lines[3]} =~ ^slowdown\ under\ the\ GIL:\ not\ measured\ \([0-9]+\.[0-9]{2}\ ms\ more ]]
        [ "${lines[4]}" = "slowdown with free threads: not measured" ]
    else
        [[ ${lines[3]} =~ ^slowdown\ under\ the\ GIL:\ (not\ measured|[0-9]+\.[0-9]x)\  ]]
    fi
}

@test "convoy: --gil and --no-gil select one run; --switch-interval-ms is reported" {
    run -0 --separate-stderr timeout 60 "$BIN/item53/convoy" --ops 10 --gil --switch-interval-ms 2
    [ "${#lines[@]}" -eq 3 ]
    [[ ${lines[0]} =~ ${convoy_lines[0]} ]]
    [[ ${lines[1]} =~ ${convoy_lines[1]} ]]
    [[ ${lines[2]} =~ ${convoy_lines[3]} ]]
    [[ ${lines[2]} == *"switch interval 2 ms; the GIL changed hands "*" times)" ]]
    run -0 --separate-stderr timeout 60 "$BIN/item53/convoy" --ops 10 --no-gil --io-us 50
    [ "${#lines[@]}" -eq 3 ]
    [[ ${lines[1]} =~ ${convoy_lines[2]} ]]
    [[ ${lines[2]} =~ ${convoy_lines[4]} ]]
}

@test "bad flags: exit 2, one line naming the flag, then the usage, nothing on stdout" {
    for args in "factorize --repeat -1" "factorize --repeat 10001" "factorize --numbers 10000000001" \
        "factorize --numbers 12,abc" "factorize --numbers 0" \
        "factorize --numbers 1,,2" "factorize --numbers -5" "factorize --numbers 99999999999999999999" \
        "factorize --switch-interval-ms 0" "syscalls --threads 0" "syscalls --call-ms x" \
        "convoy --ops 0" "convoy --io-us -1"; do
        prog=${args%% *}
        flags=${args#* }
        run -2 --separate-stderr timeout 10 "$BIN/item53/$prog" $flags
        [ "$output" = "" ]
        flag=${flags%% *}
        [[ ${stderr_lines[0]} == "$prog: $flag: "* ]]
        [[ ${stderr_lines[1]} == "usage: $prog "* ]]
    done
    for prog in factorize syscalls convoy; do
        run -2 --separate-stderr timeout 10 "$BIN/item53/$prog" --gil --no-gil
        [ "$output" = "" ]
        [[ ${stderr_lines[0]} == "$prog: --gil and --no-gil"* ]]
    done
    run -2 --separate-stderr timeout 10 "$BIN/item53/syscalls" --nope
    [ "${stderr_lines[0]}" = "syscalls: unknown flag '--nope'" ]
}

@test "--help: usage and flags on stdout, exit 0" {
    for prog in factorize syscalls convoy; do
        run -0 --separate-stderr timeout 10 "$BIN/item53/$prog" --help
        [[ ${lines[0]} == "usage: $prog"* ]]
        [[ $output == *"--switch-interval-ms"* ]]
        [ "$stderr" = "" ]
    done
}
