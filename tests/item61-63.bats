#!/usr/bin/env bats
# Items 61-63: the guessing game on threads and on common/aio (item61-63/guess_threads.c,
# guess_async.c, guess.c), and CPython's random (pyrandom.c, tests/unit/test_pyrandom.c).
bats_require_minimum_version 1.5.0

setup() {
    BIN=${BIN:-$PWD}
}

# unit NAME: run one case of test_pyrandom; it must print "ok NAME" and exit 0.
unit() {
    run --separate-stderr timeout 30 "$BIN/tests/unit/test_pyrandom" "$@"
    echo "$output"
    echo "$stderr"
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "ok $1" ]
}

# ---- Item 61: pyrandom is CPython's random, bit for bit ----

@test "pyrandom: after seed(1234) the first five getrandbits(32) are CPython's" {
    unit getrandbits_32
}

@test "pyrandom: after seed(1234) the first twelve randint(1, 5) are 4,1,1,1,5,1,1,1,3,2,1,1" {
    unit randint_1_5
}

@test "pyrandom: wide draws (40 and 64 bits) and negative bounds match CPython" {
    unit getrandbits_wide
}

@test "pyrandom: seeds 0 and 2**32-1, randint(7, 7) and getrandbits(0) match CPython" {
    unit other_seeds
    unit edges
}
