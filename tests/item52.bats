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

@test "bytes_len (the test's own helper) counts Python bytes literals and rejects others" {
    [ "$(bytes_len "b'\\x8c\\xed\\xc7m1\\xf0F4\\xe6'")" = 9 ]
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
