#!/usr/bin/env bash
# Issue 3, test 6: a second apply on the same cluster while one runs is
# refused by the lock. The first is held still with SIGSTOP once it holds
# the lock, so the test does not depend on timing.
. "$(dirname "$0")/lib.sh"

"$HAPROV" apply "$INV" >"$T_TMP/first.log" 2>&1 &
first=$!
held=0
for _ in $(seq 1 100); do
	if grep -q "^== phase" "$T_TMP/first.log" 2>/dev/null; then
		kill -STOP "$first"
		held=1
		break
	fi
	sleep 0.05
done
check_eq "the first apply got going" 1 "$held"
run_haprov "$T_TMP/second.log" apply "$INV"
rc=$?
cat "$T_TMP/second.log"
check_eq "the second apply is refused with exit 7" 7 "$rc"
check "the refusal names the holder's pid ($first)" grep -q "$first" "$T_TMP/second.log"
kill -CONT "$first"
wait "$first"
check_eq "the first apply finishes normally" 0 "$?"
run_haprov "$T_TMP/third.log" apply "$INV"
check_eq "after it, apply takes the lock again" 0 "$?"
finish
