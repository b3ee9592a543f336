#!/usr/bin/env bats
# Item 64: Consider concurrent.futures for True Parallelism (item64/gcd).
bats_require_minimum_version 1.5.0
load helpers


took='^(serial|threads|processes|threads under the GIL): Took [0-9]+\.[0-9]{3} seconds$'
book='[1, 1, 5, 1, 32, 1, 14, 9, 1, 9]'

# no_gcd_left: no process of this binary may outlive the run (a leaked worker would).
no_gcd_left() {
    local exe pid
    exe=$(readlink -f "$BIN/item64/gcd")
    for pid in /proc/[0-9]*; do
        if [ "$(readlink "$pid/exe" 2>/dev/null)" = "$exe" ]; then
            echo "left behind: ${pid#/proc/}"
            return 1
        fi
    done
}

@test "gcd: prints the four Took lines, in order, and nothing else" {
    run -0 --separate-stderr timeout 60 "$BIN/item64/gcd"
    [ "$stderr" = "" ]
    [ "${#lines[@]}" -eq 4 ]
    for line in "${lines[@]}"; do [[ $line =~ $took ]]; done
    [[ ${lines[0]} == "serial: "* ]]
    [[ ${lines[1]} == "threads: "* ]]
    [[ ${lines[2]} == "processes: "* ]]
    [[ ${lines[3]} == "threads under the GIL: "* ]]
}

@test "gcd --show: every mode gets the book's results, as Python prints the list" {
    run -0 --separate-stderr timeout 60 "$BIN/item64/gcd" --show
    [ "${#lines[@]}" -eq 8 ]
    for i in 0 2 4 6; do
        [[ ${lines[$i]} =~ $took ]]
        [ "${lines[$((i + 1))]}" = "$book" ]
    done
}

@test "gcd --repeat 3 --show: NUMBERS three times over, results in submission order in every mode" {
    run -0 --separate-stderr timeout 60 "$BIN/item64/gcd" --repeat 3 --show
    three="[1, 1, 5, 1, 32, 1, 14, 9, 1, 9, 1, 1, 5, 1, 32, 1, 14, 9, 1, 9, 1, 1, 5, 1, 32, 1, 14, 9, 1, 9]"
    [ "${#lines[@]}" -eq 8 ]
    for i in 1 3 5 7; do [ "${lines[$i]}" = "$three" ]; done
}

@test "gcd --workers 1 and --workers 5: the results do not depend on the pool size" {
    for n in 1 5; do
        run -0 --separate-stderr timeout 60 "$BIN/item64/gcd" --workers "$n" --show
        for i in 1 3 5 7; do [ "${lines[$i]}" = "$book" ]; done
    done
}

@test "gcd --crash 3: a segfault in a worker breaks the pool, not the parent: BrokenProcessPool, the other runs finish, exit 1" {
    run -1 --separate-stderr timeout 60 "$BIN/item64/gcd" --crash 3 --show
    # in this order: what will crash, what failed, why (a sanitizer adds its own report between)
    [ "${stderr_lines[0]}" = "gcd: --crash 3: task 3, gcd((2039045, 2020802)), will segfault in its worker process" ]
    [[ $stderr == *$'\ngcd: processes failed:\n'*"terminated abruptly with exit code "* ]]
    [[ $stderr == *"BrokenProcessPool: A process in the process pool was terminated abruptly while the future was running or pending."* ]]
    [[ $stderr == *"gcd: the parent is still running; carrying on without the process pool"* ]]
    [ "${#lines[@]}" -eq 6 ]
    [[ ${lines[0]} == "serial: "* ]]
    [[ ${lines[2]} == "threads: "* ]]
    [[ ${lines[4]} == "threads under the GIL: "* ]]
    [ "${lines[5]}" = "$book" ]
    no_gcd_left
}

@test "gcd --crash 3: the crashed worker died of SIGSEGV (exit code -11)" {
    [ -z "${SANITIZED:-}" ] || skip "the sanitizers catch SIGSEGV themselves and exit with their own code"
    run -1 --separate-stderr timeout 60 "$BIN/item64/gcd" --crash 3
    [[ $stderr =~ _RemoteTraceback:\ Process\ [0-9]+\ terminated\ abruptly\ with\ exit\ code\ -11\ \(killed\ by\ SIGSEGV\) ]]
}

@test "gcd: when the process pool cannot be created, it says which pool and carries on to the GIL run, exit 1" {
    [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null ||
        skip "needs root and setpriv, to run as a user with no other processes"
    # A uid nobody else uses, so that ulimit -u counts only gcd's own tasks.
    # Find the limit that lets the thread pool start but not the process pool's
    # forks (a sanitizer may add a thread of its own).
    uid=$((40000 + $$ % 20000))
    for n in 3 4 5 6; do
        run --separate-stderr timeout 60 setpriv --reuid $uid --regid $uid --clear-groups \
            bash -c 'ulimit -u $1; exec "$2"' bash $n "$BIN/item64/gcd"
        if [[ $output == *"threads: Took "* &&
            $stderr == *$'gcd: processes failed:\nOSError: cannot create the process pool: '* ]]; then
            break
        fi
    done
    echo "ulimit -u $n: $output / $stderr"
    [ "$status" -eq 1 ]
    [[ $stderr == *$'gcd: processes failed:\nOSError: cannot create the process pool: Resource temporarily unavailable\n'* ]]
    [[ $stderr == *"gcd: the parent is still running; carrying on without the process pool"* ]]
    [[ ${lines[0]} == "serial: Took "* ]]
    [[ ${lines[1]} == "threads: Took "* ]]
    [[ ${lines[-1]} == "threads under the GIL: Took "* ]]
}

@test "gcd: no worker process outlives a normal run" {
    run -0 timeout 60 "$BIN/item64/gcd"
    no_gcd_left
}

@test "gcd: bad flags are one line naming the flag, the usage, exit 2, nothing on stdout" {
    run -2 --separate-stderr timeout 10 "$BIN/item64/gcd" --workers 0
    [ "$output" = "" ]
    [[ ${stderr_lines[0]} == "gcd: --workers: "* ]]
    [[ ${stderr_lines[1]} == "usage: gcd "* ]]
    run -2 --separate-stderr timeout 10 "$BIN/item64/gcd" --crash 10
    [ "$output" = "" ]
    [[ ${stderr_lines[0]} == "gcd: --crash: "* ]]
    run -2 --separate-stderr timeout 10 "$BIN/item64/gcd" --repeat abc
    [[ ${stderr_lines[0]} == "gcd: --repeat: "* ]]
    run -2 --separate-stderr timeout 10 "$BIN/item64/gcd" --bogus
    [ "$output" = "" ]
}

@test "gcd --help: lists every flag, exit 0" {
    run -0 timeout 10 "$BIN/item64/gcd" --help
    for f in --workers --repeat --show --crash; do [[ $output == *"$f"* ]]; done
}
