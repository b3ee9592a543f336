#!/usr/bin/env bash
# Item 52: subprocess. How close ten parallel `sleep 1` children come to one
# second, and what starting and reaping one child costs, three ways.
set -uo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

for prog in fan_out spawn_cost; do
    [ -x "item52/$prog" ] || { echo "bench/item52.sh: build first (make item52)" >&2; exit 1; }
done

echo "Item 52: subprocess (medians of $RUNS runs; fan_out: wall time of the whole program;"
echo "spawn_cost: 1000 x /bin/true per method, methods taking turns)"
header

walls=()
for _ in $(seq "$RUNS"); do walls+=("$(seconds item52/fan_out)"); done
row "fan_out: 10 x sleep 1 in parallel, s" "$(median "${walls[@]}")" 1.00 "<= 1.03 s"

# spawn_cost METHOD-PREFIX FILE: the ms figure of that method's line.
ms_of() { awk -v p="$1:" 'index($0, p) == 1 { print $(NF - 3) }' "$2"; }

tmp=$bench_dir/spawn_cost
lib=() fork=() spawn=()
for _ in $(seq "$RUNS"); do
    quiet item52/spawn_cost --children 1000 >"$tmp" || exit 1
    lib+=("$(ms_of "library proc_start+proc_wait" "$tmp")")
    fork+=("$(ms_of "fork+execv+waitpid" "$tmp")")
    spawn+=("$(ms_of "posix_spawn+waitpid" "$tmp")")
done
limit=$(median "${spawn[@]}")
row "start+reap /bin/true, posix_spawn, ms" "$limit" "$limit" "the limit"
row "start+reap /bin/true, fork+execv, ms" "$(median "${fork[@]}")" "$limit" "(compared)"
row "start+reap /bin/true, library, ms" "$(median "${lib[@]}")" "$limit" "~1x spawn"

# A 256 MiB parent: fork must copy its page tables, posix_spawn does not.
lib=() fork=()
for _ in $(seq "$RUNS"); do
    quiet item52/spawn_cost --children 100 --parent-mib 256 >"$tmp" || exit 1
    lib+=("$(ms_of "library proc_start+proc_wait" "$tmp")")
    fork+=("$(ms_of "fork+execv+waitpid" "$tmp")")
done
row "same, 256 MiB parent: fork+execv, ms" "$(median "${fork[@]}")" "$limit" "(compared)"
row "same, 256 MiB parent: library, ms" "$(median "${lib[@]}")" "$limit" "~1x spawn"
echo "(runs: $(tries))"
