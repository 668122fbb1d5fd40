#!/bin/sh
# Run every unit-test binary in DIR (built with ASan+UBSan) from the repo
# root and add up cmocka's counts. Prints "N passed, N failed".
#
# Two binaries run at a time. Each runs in its own session and process
# group (setsid), under timeout(1) (UNIT_TIMEOUT seconds, default 300; KILL
# 10 s after TERM), with its output in a file rather than a pipe: a child a
# failing test forked and left behind cannot hold our pipe open, and its
# process group is killed as soon as the binary is done. A timeout is a
# failure and says so.
set -u
dir=$1
limit=${UNIT_TIMEOUT:-300}
pass=0
fail=0
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

work=$(mktemp -d "${TMPDIR:-/tmp}/haprov-unit.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# run_one BINARY: run it as above; its report in $work/NAME.out, "P F" in
# $work/NAME.cnt
run_one() {
	t=$1
	name=$(basename "$t")
	log=$work/$name.log
	# not a process group leader (no job control here), so setsid execs
	# in place: $! is the new session's and process group's id
	setsid timeout --kill-after=10 "$limit" "$t" >"$log" 2>&1 </dev/null &
	pgid=$!
	wait "$pgid"
	rc=$?
	{
		if kill -0 "-$pgid" 2>/dev/null; then
			echo "$name: left processes behind; killed them"
			kill -KILL "-$pgid" 2>/dev/null
		fi
		grep -E '^\[ +(OK|FAILED|PASSED|ERROR) +\]|^\[  (RUN|FAILED) ' "$log" |
			grep -v '^\[ RUN' | sed "s|^|$name: |"
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
		p=${p:-0}
		f=${f:-0}
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			# timeout(1): 124 after TERM, 137 (128 + KILL) after -k
			tail -30 "$log"
			echo "$name: timed out after $limit s (killed with its process group)"
			f=$((f + 1))
		elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			# crashed, or a sanitizer stopped it: count the binary as failed
			tail -30 "$log"
			echo "$name: exited $rc"
			f=1
		fi
		echo "$p $f" >"$work/$name.cnt"
	} >"$work/$name.out"
	pgid=
}

# Two binaries at a time (CI has 2 cores, and most of a test's time is
# spent waiting): shard K runs every other binary, in order; the reports
# are printed in the binaries' order once both are done.
shard() {
	i=0
	for t in "$dir"/test_*; do
		[ -x "$t" ] || continue
		[ $((i % 2)) -eq "$1" ] && run_one "$t"
		i=$((i + 1))
	done
}
shard 0 &
s0=$!
shard 1 &
s1=$!
wait "$s0" "$s1"
for t in "$dir"/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	if [ ! -f "$work/$name.cnt" ]; then
		echo "$name: no result"
		fail=$((fail + 1))
		continue
	fi
	cat "$work/$name.out"
	read -r p f <"$work/$name.cnt"
	pass=$((pass + p))
	fail=$((fail + f))
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
