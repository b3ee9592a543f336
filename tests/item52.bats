#!/usr/bin/env bats
# Item 52: Use subprocess to Manage Child Processes.
bats_require_minimum_version 1.5.0
load helpers


need_openssl() {
    command -v openssl >/dev/null || skip "openssl is not installed"
}

# bytes_len LITERAL: the number of bytes in a Python bytes literal as print()
# shows it (b'...' or b"..."), or fail if it is not one.
bytes_len() {
    local s=$1 n=0 quote
    local literal='^b(['\''"])(.*)$' hex='^\\x[0-9a-f]{2}' esc='^\\[tnr\\]'
    [[ $s =~ $literal ]] || return 1
    quote=${BASH_REMATCH[1]}
    s=${BASH_REMATCH[2]}
    [ "${s: -1}" = "$quote" ] || return 1
    s=${s%?}
    # b"..." is used only when the bytes hold a ' and no "
    if [ "$quote" = '"' ]; then [[ $s == *\'* && $s != *\"* ]] || return 1; fi
    while [ -n "$s" ]; do
        if [[ $s =~ $hex ]]; then
            s=${s:4}
        elif [[ $s =~ $esc ]] || [ "${s:0:2}" = "\\$quote" ]; then
            s=${s:2}
        elif [[ ${s:0:1} != \\ && ${s:0:1} != "$quote" && ${s:0:1} == [\ -~] ]]; then
            s=${s:1}
        else
            return 1
        fi
        n=$((n + 1))
    done
    echo "$n"
}

# three_literals_of_10: $output is exactly 3 lines, each a 10-byte literal.
three_literals_of_10() {
    [ "${#lines[@]}" -eq 3 ]
    for line in "${lines[@]}"; do
        [ "$(bytes_len "$line")" = 10 ]
    done
}

@test "bytes_len counts bytes literals; the book's first encrypt line has 9 bytes, its others 10 (README)" {
    [ "$(bytes_len "b'\\x8c\\xed\\xc7m1\\xf0F4\\xe6'")" = 9 ]
    [ "$(bytes_len "b'\\x0eD\\x97\\xe9>\\x10h{\\xbd\\xf0'")" = 10 ]
    [ "$(bytes_len "b'g\\x93)\\x14U\\xa9\\xdc\\xdd\\x04\\xd2'")" = 10 ]
    [ "$(bytes_len "b'\\xe2j\\x98h\\xfd\\xec\\xe7T\\xd84'")" = 10 ]
    [ "$(bytes_len "b'\\xf3.i\\x01\\xd74|\\xf2\\x94E'")" = 10 ]
    [ "$(bytes_len "b'5_n\\xc3-\\xe6j\\xeb[i'")" = 10 ]
    [ "$(bytes_len "b\"it's\"")" = 4 ]
    [ "$(bytes_len "b'\\\\\\'\\t'")" = 3 ]
    ! bytes_len "b'it's'"
    ! bytes_len "'abc'"
    ! bytes_len "b'\\q'"
}

@test "run: prints 'Hello from the child!' and then an empty line, like the book" {
    timeout 10 "$BIN/item52/run" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err"
    printf 'Hello from the child!\n\n' | cmp - "$BATS_TEST_TMPDIR/out"
    [ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "run -- COMMAND: runs any command and prints its captured output" {
    run -0 --separate-stderr timeout 10 "$BIN/item52/run" -- printf 'a %s' 'b c'
    [ "$output" = "a b c" ]
}

@test "run -- no-such-program: one error line naming the command, exit 1" {
    run -1 --separate-stderr timeout 10 "$BIN/item52/run" -- no-such-program
    [ -z "$output" ]
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ $stderr == "run: FileNotFoundError: "*"'no-such-program'" ]]
}

@test "run -- a failing child: the exit status in one error line, exit 1" {
    run -1 --separate-stderr timeout 10 "$BIN/item52/run" -- sh -c 'exit 3'
    [ -z "$output" ]
    [ "$stderr" = "run: CalledProcessError: Command '['sh', '-c', 'exit 3']' returned non-zero exit status 3." ]
}

@test "run: output that cannot be written (a full disk) is an error, exit 1" {
    run -1 --separate-stderr timeout 10 bash -c '"$1" >/dev/full' _ "$BIN/item52/run"
    [[ $stderr == "run: write error: No space left on device" ]]
}

@test "run --timeout: a child that takes too long is killed: TimeoutExpired, exit 1" {
    run -1 --separate-stderr timeout 10 "$BIN/item52/run" --timeout 0.1 -- sleep 30
    [ -z "$output" ]
    [ "$stderr" = "run: TimeoutExpired: Command '['sleep', '30']' timed out after 0.1 seconds" ]
}

@test "poll: prints Working... while the child runs, then 'Exit status 0'" {
    run -0 --separate-stderr timeout 20 "$BIN/item52/poll"
    n=${#lines[@]}
    [ "$n" -ge 2 ] # the book shows 4 Working... lines; how many depends on timing
    [ "${lines[n - 1]}" = "Exit status 0" ]
    for ((i = 0; i < n - 1; i++)); do [ "${lines[i]}" = "Working..." ]; done
}

@test "fan_out: ten sleep children in parallel: 'Finished in N seconds'" {
    run -0 --separate-stderr timeout 20 "$BIN/item52/fan_out"
    [ "${#lines[@]}" -eq 1 ]
    [[ $output =~ ^Finished\ in\ [0-9]+\.[0-9]+(e[-+][0-9]+)?\ seconds$ ]]
}

@test "fan_out --children 30 --seconds 0.2: still one 'Finished in' line" {
    run -0 --separate-stderr timeout 20 "$BIN/item52/fan_out" --children 30 --seconds 0.2
    [[ $output =~ ^Finished\ in\ [0-9]+\.[0-9]+(e[-+][0-9]+)?\ seconds$ ]]
}

@test "timeout: communicate times out, terminate, wait: 'Exit status -15'" {
    run -0 --separate-stderr timeout 20 "$BIN/item52/timeout"
    [ "$output" = "Exit status -15" ]
    [ -z "$stderr" ]
}

@test "timeout --kill: 'Exit status -9'; --timeout longer than the sleep: 'Exit status 0'" {
    run -0 --separate-stderr timeout 20 "$BIN/item52/timeout" --kill
    [ "$output" = "Exit status -9" ]
    run -0 --separate-stderr timeout 20 "$BIN/item52/timeout" --seconds 0.1 --timeout 10
    [ "$output" = "Exit status 0" ]
}

@test "encrypt: three lines, each the last 10 bytes of a ciphertext as a bytes literal; no OpenSSL warning" {
    need_openssl
    run -0 --separate-stderr timeout 30 "$BIN/item52/encrypt"
    three_literals_of_10
    [ -z "$stderr" ] # -pbkdf2 silences "deprecated key derivation used"
}

@test "pipeline: three chains encrypt | hash: three lines of 10-byte digests' tails" {
    need_openssl
    run -0 --separate-stderr timeout 30 "$BIN/item52/pipeline"
    three_literals_of_10
    # whirlpool via the legacy provider, or else one note and sha256
    [[ -z $stderr || $stderr == "pipeline: note: openssl has no whirlpool here"* ]]
}

@test "pipeline: without OpenSSL's legacy provider, one note on stderr and sha256 instead" {
    need_openssl
    run -0 --separate-stderr env OPENSSL_MODULES=/nonexistent timeout 30 "$BIN/item52/pipeline"
    three_literals_of_10
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ $stderr == "pipeline: note: openssl has no whirlpool here"*"-sha256"* ]]
}

@test "pipeline --sha256 --chains 5: five lines, no note" {
    need_openssl
    run -0 --separate-stderr timeout 30 "$BIN/item52/pipeline" --sha256 --chains 5
    [ "${#lines[@]}" -eq 5 ]
    for line in "${lines[@]}"; do [ "$(bytes_len "$line")" = 10 ]; done
    [ -z "$stderr" ]
}

@test "encrypt, pipeline: without openssl, one line saying so, exit 1" {
    for prog in encrypt pipeline; do
        run -1 --separate-stderr timeout 10 env PATH=/nonexistent "$BIN/item52/$prog"
        [ -z "$output" ]
        [ "${#stderr_lines[@]}" -eq 1 ]
        [[ $stderr == "$prog: openssl is not installed"* ]]
    done
}

# run_left_behind LIMIT PROG ARGS...: run PROG under the shell limit LIMIT
# ("-n 16"), its stdout and stderr (which its children inherit) a pipe to a
# reader that stops at EOF, or after 20 s. Prints PROG's output, then
# "status N" (PROG's), "reader N" (0 when the pipe closed as PROG exited, 124
# when children PROG left behind still held it open), and "left N": how many
# processes still carry the mark PROG's environment gave its children.
run_left_behind() {
    local limit=$1
    shift
    run bash -c '
        limit=$1 mark=left-behind-$$
        shift
        { ulimit $limit; env LEFT_BEHIND=$mark "$@" 2>&1; echo "status $?"; } |
            { timeout 20 cat; echo "reader $?"; }
        echo "left $(grep -l -s -z -x "LEFT_BEHIND=$mark" /proc/[0-9]*/environ | wc -l)"
    ' bash "$limit" "$@"
}

@test "fan_out: when a start fails (ulimit -u), the children already started are ended and reaped" {
    [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null ||
        skip "needs root and setpriv, to run as a user with no other processes"
    # As root, ulimit -u does not apply: run as a uid nobody else uses, which
    # owns no processes.
    uid=$((40000 + $$ % 20000))
    run_left_behind "-u 20" setpriv --reuid $uid --regid $uid --clear-groups \
        "$BIN/item52/fan_out" --children 100 --seconds 60
    [ "${lines[0]}" = "fan_out: OSError: [Errno 11] Resource temporarily unavailable: 'sleep'" ]
    [ "${lines[1]}" = "status 1" ]
    [ "${lines[2]}" = "reader 0" ]
    [ "${lines[3]}" = "left 0" ]
}

@test "encrypt: when a start fails (ulimit -n), the openssl children already started are ended and reaped" {
    need_openssl
    run_left_behind "-n 16" "$BIN/item52/encrypt" --children 100
    [ "${lines[0]}" = "encrypt: OSError: [Errno 24] Too many open files: 'openssl'" ]
    [ "${lines[1]}" = "status 1" ]
    [ "${lines[2]}" = "reader 0" ]
    [ "${lines[3]}" = "left 0" ]
    [ "${#lines[@]}" -eq 4 ] # no "Broken pipe" from an orphaned child
}

@test "pipeline: when a start fails (ulimit -n), every chain already started is ended and reaped" {
    need_openssl
    run_left_behind "-n 16" "$BIN/item52/pipeline" --chains 100 --sha256
    [ "${lines[0]}" = "pipeline: OSError: [Errno 24] Too many open files: 'openssl'" ]
    [ "${lines[1]}" = "status 1" ]
    [ "${lines[2]}" = "reader 0" ]
    [ "${lines[3]}" = "left 0" ]
    [ "${#lines[@]}" -eq 4 ]
}

@test "spawn_cost: one line per way of starting a child, in ms per child" {
    run -0 --separate-stderr timeout 60 "$BIN/item52/spawn_cost" --children 20
    [ "${#lines[@]}" -eq 3 ]
    [[ ${lines[0]} =~ ^library\ proc_start\+proc_wait:\ [0-9.]+\ ms\ per\ child$ ]]
    [[ ${lines[1]} =~ ^fork\+execv\+waitpid:\ [0-9.]+\ ms\ per\ child$ ]]
    [[ ${lines[2]} =~ ^posix_spawn\+waitpid:\ [0-9.]+\ ms\ per\ child$ ]]
}

@test "every item52 program: --help exits 0; a bad flag or value exits 2 with nothing on stdout" {
    for prog in run poll fan_out timeout encrypt pipeline spawn_cost; do
        run -0 timeout 10 "$BIN/item52/$prog" --help
        [[ $output == *usage:* ]]
        run -2 --separate-stderr timeout 10 "$BIN/item52/$prog" --bogus
        [ -z "$output" ]
        [[ $stderr == *--bogus* ]]
    done
    run -2 --separate-stderr timeout 10 "$BIN/item52/encrypt" --bytes 5000
    [[ $stderr == *--bytes* ]]
    run -2 --separate-stderr timeout 10 "$BIN/item52/fan_out" --children 0
    run -2 --separate-stderr timeout 10 "$BIN/item52/poll" --seconds abc
    run -2 --separate-stderr timeout 10 "$BIN/item52/poll" --work 0 # would flood stdout
    run -2 --separate-stderr timeout 10 "$BIN/item52/spawn_cost" --parent-mib 5000
    [ -z "$output" ]
}
