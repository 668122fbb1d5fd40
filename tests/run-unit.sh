#!/bin/sh
# Run every unit-test binary in DIR (built with ASan+UBSan) from the repo
# root and add up cmocka's counts. Prints "N passed, N failed".
set -u
dir=$1
pass=0
fail=0
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "$dir"/test_*; do
	[ -x "$t" ] || continue
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -E '^\[ +(OK|FAILED|PASSED|ERROR) +\]|^\[  (RUN|FAILED) ' \
		| grep -v '^\[ RUN' | sed "s|^|$(basename "$t"): |"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# crashed, or a sanitizer stopped it: count the binary as failed
		printf '%s\n' "$out" | tail -30
		echo "$(basename "$t"): exited $rc"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
