# Helpers for bench/itemNN.sh (sourced, not run).

# median N1 N2 ...: the median of the numbers given (the lower middle for an even count).
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# seconds CMD...: run CMD once, print its wall time in seconds (CMD's output is discarded).
seconds() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}

# took_seconds LABEL: read a program's "LABEL: Took X.XXX seconds" line from stdin, print X.
took_seconds() {
    local label=$1
    awk -v l="$label: Took " 'index($0, l) == 1 { print $(NF - 1) }'
}

# row NAME MEASURED LIMIT TARGET: one table row with the "x limit" ratio.
row() {
    awk -v n="$1" -v m="$2" -v l="$3" -v t="$4" \
        'BEGIN { printf "| %-44s | %10.4g | %10.4g | %7.3f | %-14s |\n", n, m, l, (l ? m / l : 0), t }'
}

header() {
    printf '| %-44s | %10s | %10s | %7s | %-14s |\n' "measurement" "measured" "limit" "x limit" "target"
    printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..12})" \
        "$(printf -- '-%.0s' {1..12})" "$(printf -- '-%.0s' {1..9})" "$(printf -- '-%.0s' {1..16})"
}
