# The setup every tests/*.bats file shares: each loads it first (`load helpers`).

# Where the programs are: the repository root, or build/asan and build/tsan
# under make check (tests/run-check), which mirror the tree.
BIN=${BIN:-$PWD}

# run_unit SECONDS PROG CASE...: run those cases of the unit-test program
# tests/unit/PROG (tests/unit/expect.h) under timeout. It passes when the
# program exits 0, printed "ok CASE" for each, and ended "N cases, 0 failed".
run_unit() {
    local seconds=$1 prog=$2 case
    shift 2
    run --separate-stderr timeout "$seconds" "$BIN/tests/unit/$prog" "$@"
    printf '%s\n' "$output" "$stderr" # shown when the test fails
    [ "$status" -eq 0 ]
    for case in "$@"; do
        [[ $'\n'$output$'\n' == *$'\n'"ok $case"$'\n'* ]]
    done
    [ "${lines[-1]}" = "$# cases, 0 failed" ]
}
