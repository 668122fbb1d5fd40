#!/bin/sh
# Run the libFuzzer targets built by `make fuzz-bins` (BUILD/fuzz_*).
#
#   tests/fuzz/run.sh fuzz  BUILD [SECONDS]   `make fuzz`: each target for
#       SECONDS (default 600), growing BUILD/corpus/<target> from the
#       committed seeds in tests/fuzz/corpus/<target> (read only);
#   tests/fuzz/run.sh check BUILD [SECONDS]   `make fuzz-check`: each target
#       for SECONDS (default 10) over its committed corpus, as a regression
#       test, two targets at a time; new inputs go to a scratch directory
#       that is thrown away.
#
# FUZZ_TARGETS="inventory facts" picks targets (default: all built).
# A crash, a leak, undefined behaviour, an input slower than 10 s or a
# broken invariant (fuzz_fail) stops the target and fails it; the input is
# kept as BUILD/crashes/<target>-<kind>-<sha1> (reproduce: BUILD/fuzz_<target>
# FILE). Known crashes in code the fuzz targets do not own are kept in
# tests/fuzz/crashes/ until fixed: they are not part of the corpus.
# Prints one line per target, then "N passed, N failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
mode=${1:-}
build=${2:-build/fuzz}
case "$mode" in
fuzz) secs=${3:-600} ;;
check) secs=${3:-10} ;;
*)
	echo "usage: tests/fuzz/run.sh fuzz|check BUILD [SECONDS]" >&2
	exit 64
	;;
esac

pass=0
fail=0
mkdir -p "$build/crashes" "$build/logs" || exit 1

# fuzz_one BIN: run one target; its report in $build/logs/T.result, its
# first line "pass" or "fail"
fuzz_one() {
	bin=$1
	t=${bin##*/fuzz_}
	seeds=tests/fuzz/corpus/$t
	log=$build/logs/$t.$mode.log
	if [ "$mode" = fuzz ]; then
		corpus=$build/corpus/$t
	else
		corpus=$build/check/$t
		rm -rf "$corpus"
	fi
	mkdir -p "$corpus" || exit 1
	set -- -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$build/crashes/$t-"
	# the code under test prints progress lines on stderr (a verify
	# step's, say): libFuzzer keeps its own output and the sanitizers'
	[ -f "tests/fuzz/$t.dict" ] && set -- "$@" -dict="tests/fuzz/$t.dict"
	set -- "$@" -close_fd_mask=2 "$corpus"
	[ -d "$seeds" ] && set -- "$@" "$seeds"
	t0=$(date +%s)
	"$bin" "$@" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	new=$(find "$corpus" -type f | wc -l)
	took=$(($(date +%s) - t0))
	if [ "$rc" -eq 0 ]; then
		echo pass
		echo "ok - fuzz_$t: ${runs:-?} executions in ${took}s, 0 crashes ($new inputs in $corpus)"
	else
		echo fail
		grep -E '^(==[0-9]+==|SUMMARY|fuzz: |artifact_prefix|    #[0-9] )' "$log" | head -20
		echo "not ok - fuzz_$t: stopped after ${runs:-?} executions in ${took}s (exit $rc): 1 crash, log in $log"
	fi >"$build/logs/$t.result"
}

# the targets picked
targets=
for bin in "$build"/fuzz_*; do
	[ -x "$bin" ] || continue
	t=${bin##*/fuzz_}
	if [ -n "${FUZZ_TARGETS:-}" ]; then
		case " $FUZZ_TARGETS " in *" $t "*) ;; *) continue ;; esac
	fi
	rm -f "$build/logs/$t.result"
	targets="$targets $bin"
done
# two at a time in a check (CI has 2 cores; each target uses one); one
# at a time when fuzzing for long
shard() {
	i=0
	for bin in $targets; do
		[ $((i % $2)) -eq "$1" ] && fuzz_one "$bin"
		i=$((i + 1))
	done
}
if [ "$mode" = check ]; then
	shard 0 2 &
	s0=$!
	shard 1 2 &
	s1=$!
	wait "$s0" "$s1"
else
	shard 0 1
fi
for bin in $targets; do
	t=${bin##*/fuzz_}
	if [ ! -f "$build/logs/$t.result" ]; then
		fail=$((fail + 1))
		echo "not ok - fuzz_$t: no result"
		continue
	fi
	if [ "$(head -n 1 "$build/logs/$t.result")" = pass ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
	fi
	tail -n +2 "$build/logs/$t.result"
done
[ $((pass + fail)) -gt 0 ] || { echo "no fuzz targets in $build (make fuzz-bins)"; fail=1; }
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
