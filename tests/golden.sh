#!/bin/sh
# Golden tests of the templates: render each example inventory offline with
# `haprov validate INV --render DIR` (secrets show as <secret:NAME>) and
# compare, file by file, with tests/golden/<inventory>/<host>/<path>.
#
#   tests/golden.sh [--update] [NAME...]
#
# NAME is an inventory under inventories/ (or else tests/golden-extra/)
# without .yml (default: lab, example-production and lab-plaintext, the
# lab with tls: false). --update rewrites the expected files from what the
# current binary renders: review the result with `git diff tests/golden`.
# Prints "ok - golden NAME" or "not ok - golden NAME" with the diff, then
# "N passed, N failed". HAPROV=path picks the binary (default ./haprov).
set -u
cd "$(dirname "$0")/.." || exit 1

update=0
if [ "${1:-}" = "--update" ]; then
	update=1
	shift
fi
[ $# -gt 0 ] || set -- lab example-production lab-plaintext
bin=${HAPROV:-./haprov}

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

pass=0
fail=0
for name in "$@"; do
	inv=inventories/$name.yml
	[ -f "$inv" ] || inv=tests/golden-extra/$name.yml
	want=tests/golden/$name
	got=$tmp/$name
	mkdir -p "$got"
	if ! "$bin" validate "$inv" --render "$got" >"$tmp/$name.log" 2>&1; then
		echo "not ok - golden $name: $bin validate $inv --render failed"
		sed 's/^/    /' "$tmp/$name.log"
		fail=$((fail + 1))
		continue
	fi
	if [ $update = 1 ]; then
		rm -rf "$want"
		mkdir -p tests/golden
		cp -R "$got" "$want"
		echo "ok - golden $name (updated: $(find "$want" -type f | wc -l | tr -d ' ') files)"
		pass=$((pass + 1))
		continue
	fi
	if [ ! -d "$want" ]; then
		echo "not ok - golden $name: no $want (run tests/golden.sh --update $name and review)"
		fail=$((fail + 1))
		continue
	fi
	if diff -ru "$want" "$got" >"$tmp/$name.diff" 2>&1; then
		echo "ok - golden $name"
		pass=$((pass + 1))
	else
		echo "not ok - golden $name"
		sed "s|$tmp/|rendered/|g" "$tmp/$name.diff"
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
