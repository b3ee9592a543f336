#!/usr/bin/env bash
# Item 55: items per second through one common/queue, and the polling
# pipeline against the blocking one. Medians of several runs of the in-tree
# (unsanitized) programs. Takes about half a minute on an idle machine.
#
# "limit" for the queue rows is what a plain mutex+condvar queue (signal on
# every put and get, under the lock) reached on this machine kind, idle
# (a queue built from common/queue.c with both signals moved back under the
# lock and the waiter test dropped); the target is to match or beat it.
# Cross-core wake-ups dominate at capacity 1 and cost far less when the other
# vCPU is busy anyway, so the load average is printed with the table.
set -uo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

# rate ARGS...: median items/s of item55/throughput ARGS over $RUNS runs.
rate() {
    local rates=() i line
    for i in $(seq "$RUNS"); do
        line=$(quiet timeout 120 item55/throughput "$@" --stats 2>&1 >/dev/null) ||
            { echo "throughput $* failed" >&2; return 1; }
        rates+=("$(stat items_per_second <<<"$line")")
    done
    median "${rates[@]}"
}

# pipeline_figures PROG ARGS...: "CPU wall polls", each the median over $RUNS
# runs of PROG ARGS --time (polls: polling's count; 0 for the others).
pipeline_figures() {
    local cpus=() walls=() polls=() i out err
    out=$(mktemp)
    err=$(mktemp)
    for i in $(seq "$RUNS"); do
        quiet timeout 120 "item55/$1" "${@:2}" --time >"$out" 2>"$err" || { echo "$* failed" >&2; break; }
        walls+=("$(awk '/^Took/ { print $2 }' "$err")")
        cpus+=("$(awk '/^Took/ { print $(NF - 1) }' "$err")")
        polls+=("$(awk '/after polling/ { print $(NF - 1); found = 1 } END { if (!found) print 0 }' "$out")")
    done
    rm -f "$out" "$err"
    echo "$(median "${cpus[@]}") $(median "${walls[@]}") $(median "${polls[@]}")"
}

echo "## Item 55: Queue ($(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $RUNS runs each, median)"
echo
header
row "items/s, cap 1, 1 producer 1 consumer" "$(rate --capacity 1 --items 20000)" 10000 ">= 10 k/s"
row "items/s, cap 1024, 1 producer 1 consumer" "$(rate --capacity 1024 --items 1000000)" 4600000 \
    ">= 4.6 M/s"
row "items/s, cap 1, 2 producers 2 consumers" \
    "$(rate --capacity 1 --items 20000 --producers 2 --consumers 2)" 10000 ">= 10 k/s"
row "items/s, cap 1024, 2 producers 2 consumers" \
    "$(rate --capacity 1024 --items 1000000 --producers 2 --consumers 2)" 4600000 ">= 4.6 M/s"

# The two pipelines, 1000 items. For polls the limit is one get per item per
# stage, the least any pipeline needs; for time, the other program's figure.
read -r poll_cpu poll_wall poll_count < <(pipeline_figures polling)
read -r pipe_cpu pipe_wall _ < <(pipeline_figures pipeline)
row "polling: polls" "$poll_count" 3000 "book: 3035"
row "polling: wall s (limit: pipeline's)" "$poll_wall" "$pipe_wall" "-"
row "pipeline: wall s (limit: polling's)" "$pipe_wall" "$poll_wall" "< polling"
row "polling: CPU s (limit: pipeline's)" "$poll_cpu" "$pipe_cpu" "-"
row "pipeline: CPU s (limit: polling's)" "$pipe_cpu" "$poll_cpu" "< polling"
# The same with resize taking 1 ms per item: the other stages wait a second.
read -r poll_cpu poll_wall poll_count < <(pipeline_figures polling --slow-stage resize)
read -r pipe_cpu pipe_wall _ < <(pipeline_figures pipeline --slow-stage resize)
row "slow resize: polling: polls" "$poll_count" 3000 "-"
row "slow resize: polling: CPU s (limit: pipe's)" "$poll_cpu" "$pipe_cpu" "-"
# Not a target: polling wakes every 10 ms and then takes a batch, while the
# pipeline wakes upload once per item (see item55/README.md, experiment 1).
row "slow resize: pipeline: CPU s (limit: poll's)" "$pipe_cpu" "$poll_cpu" "-"
echo "(runs: $(tries))"
