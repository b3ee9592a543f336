#!/usr/bin/env bats
# The shared library's plumbing: common/check, cli and clock (tests/unit/test_common.c).
bats_require_minimum_version 1.5.0
load helpers

setup() {
    T=$BIN/tests/unit/test_common
}

@test "cli: every parser case (kinds, bounds, junk, overflow, --, unknown flags) passes" {
    run_unit 10 test_common cli
}

@test "cli: flag groups: a program's own flags and a shared table are parsed and listed as one" {
    run_unit 10 test_common cli_groups
}

@test "cli: a program sees the parsed values and the arguments after --" {
    run -0 timeout 10 "$T" demo --n 3 --ms=0.25 --on --no-off --name hi --at 1,2 -- echo a b
    [ "$output" = "n=3 ms=0.25 on=1 off=0 name=hi at=1,2 rest=3" ]
}

@test "cli: a bad value is one line naming the flag, then the usage, exit 2, nothing on stdout" {
    run -2 --separate-stderr timeout 10 "$T" demo --at 1,x
    [ "$output" = "" ]
    [ "${#stderr_lines[@]}" -eq 2 ]
    [ "${stderr_lines[0]}" = "test_common: --at: expected Y,X with integers from 0 to 99, got '1,x'" ]
    [[ ${stderr_lines[1]} == "usage: test_common [--n N] [--ms MS] [--on] [--no-off]"* ]]
}

@test "cli: --help lists every flag with its default on stdout and exits 0" {
    run -0 --separate-stderr timeout 10 "$T" demo --help
    [ "$stderr" = "" ]
    [[ $output == *"--n N"*"(default 5)"* ]]
    [[ $output == *"--ms MS"*"(default 1.5)"* ]]
    [[ $output == *"--name TEXT"*"(default default)"* ]]
}

@test "cli: --help shows every number's range, and a default no value can give as none" {
    run -0 --separate-stderr timeout 10 "$T" demo --help
    [[ $output == *"--n N "*"an integer, 1 to 1024 (default 5)"* ]]
    [[ $output == *"--ms MS "*"a number, 0 to 1000 (default 1.5)"* ]]
    [[ $output == *"--at Y,X "*"a pair, each 0 to 99"* ]]
    run -0 timeout 10 "$BIN/item52/run" --help
    [[ $output == *"--timeout S"*"0 to 1000000 (default: none)"* ]]
}

@test "cli: --help=VALUE is refused as a value given to a switch, exit 2" {
    run -2 --separate-stderr timeout 10 "$T" demo --help=1
    [ "$output" = "" ]
    [ "${stderr_lines[0]}" = "test_common: --help: takes no value, got '1'" ]
}

@test "clock: monotonic, and clock_sleep sleeps at least as long as asked, even through signals" {
    run_unit 20 test_common clock
}

@test "clock: clock_resident_bytes reads VmRSS in bytes, and it grows by the pages written, not those only mapped" {
    run_unit 20 test_common resident
}

@test "check: CHECK_SYS names the call, the place and the error, and exits 1" {
    run -1 --separate-stderr timeout 10 "$T" sys
    [ "$output" = "" ]
    [[ $stderr =~ ^test_common:\ close\(-1\)\ failed\ at\ tests/unit/test_common.c:[0-9]+:\ EBADF\ \(Bad\ file\ descriptor\)$ ]]
}

@test "check: CHECK_PT reports the returned error number by name, and exits 1" {
    run -1 --separate-stderr timeout 10 "$T" pt
    [[ $stderr == *"pthread_attr_setstacksize(&attr, 1) failed at "*": EINVAL (Invalid argument)" ]]
}

@test "check: xmalloc that cannot allocate exits 1 with a message instead of returning NULL" {
    # The sanitizers' allocators abort on an impossible size unless told to
    # return NULL as malloc does (they then print a warning line first).
    ASAN_OPTIONS="${ASAN_OPTIONS:-}:allocator_may_return_null=1" \
        TSAN_OPTIONS="${TSAN_OPTIONS:-}:allocator_may_return_null=1" \
        run -1 --separate-stderr timeout 10 "$T" oom
    [ "$output" = "" ]
    [[ ${stderr_lines[-1]} == "test_common: out of memory allocating "*" bytes" ]]
}

@test "common/: no include loop between its modules, and check includes nothing else of common/" {
    # module -> module pairs from every #include "x.h" in common/ (futures_impl and
    # futures_process are futures); tsort fails on a loop
    pairs=$(for f in common/*.[ch]; do
        m=$(basename "${f%.*}")
        m=${m%_impl} m=${m%_process}
        sed -n 's/^#include "\([a-z_]*\)\.h".*/\1/p' "$f" | sed 's/_impl$//; s/_process$//' |
            while read -r d; do [ "$d" = "$m" ] || echo "$m $d"; done
    done)
    [ -n "$pairs" ]
    run -0 tsort <<<"$pairs"
    run grep -h '^#include "' common/check.h common/check.c
    [ "$output" = '#include "check.h"' ]
}

@test "check: output that cannot be written fails the exit: >/dev/full and a closed stdout exit 1 naming the error" {
    run -1 --separate-stderr timeout 10 bash -c '"$1" demo --n 3 >/dev/full' _ "$BIN/tests/unit/test_common"
    [ "$stderr" = "test_common: write error: No space left on device" ]
    run -1 --separate-stderr timeout 30 bash -c '"$1" >/dev/full' _ "$BIN/item54/race"
    [ "$stderr" = "race: write error: No space left on device" ]
    run -1 --separate-stderr timeout 30 bash -c '"$1" >&-' _ "$BIN/item55/blocking"
    [[ ${stderr_lines[-1]} == "blocking: write error"* ]] # after the demos' titles
    run -0 timeout 30 "$BIN/item54/race" # the same program, written out: exit 0
}
