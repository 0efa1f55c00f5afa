#!/bin/sh
# Runs every test binary in $1, prints each one's result and a total
# "N passed, N failed" line; exits non-zero if any check or binary failed.
dir=${1:-build/tests}
total_pass=0; total_fail=0; broken=""
for t in "$dir"/test_* "$dir"/grad_*; do
    [ -x "$t" ] || continue
    out=$("$t" 2>&1); rc=$?
    line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    p=$(printf '%s' "$line" | sed -E 's/^([0-9]+) passed.*/\1/'); p=${p:-0}
    f=$(printf '%s' "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/'); f=${f:-0}
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
        printf '%s\n' "$out" | tail -n 40
        [ "$f" -eq 0 ] && f=1
        broken="$broken $(basename "$t")"
    fi
    printf '%-32s %s\n' "$(basename "$t")" "${line:-crashed or printed no summary (exit $rc)}"
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
done
[ -n "$broken" ] && echo "failing:$broken"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
