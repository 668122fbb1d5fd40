#!/usr/bin/env bash
# shellcheck disable=SC2016 # the planted edits' backquotes are README.md's
# The man page, build/haprov.1 (tools/gen-man.sh, `make man`): it is what
# the generator makes from today's binary and README.md, byte for byte the
# same each time; man(1) renders it with no warning; every command of
# `haprov --help` has its entry with its options, every phase of the phase
# list its entry; and tests/unit/test_man.c, which holds the page to the
# inventory schema and the command table, fails on a page made from a
# README.md with a key's row deleted (planted), as the command check here
# fails on a page without a command's entry. "ok - ..." lines, then
# "N passed, N failed". Needs no lab.
set -u
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=tests/integration/tap.sh
. tests/integration/tap.sh

PAGE=build/haprov.1
BIN=build/haprov
work=$(mktemp -d "${TMPDIR:-/tmp}/haprov-man.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

if ! make -s haprov man >"$work/make.log" 2>&1; then
	notok "make haprov man"
	sed 's/^/#   /' "$work/make.log"
	finish
fi
ok "make haprov man builds $PAGE"

if sh tools/gen-man.sh "$BIN" README.md >"$work/a.1" 2>"$work/gen.err" &&
	sh tools/gen-man.sh "$BIN" README.md >"$work/b.1" 2>>"$work/gen.err" &&
	[ ! -s "$work/gen.err" ] && cmp -s "$work/a.1" "$work/b.1" &&
	cmp -s "$work/a.1" "$PAGE"; then
	ok "$PAGE is what tools/gen-man.sh makes, the same twice over"
else
	notok "$PAGE is not what tools/gen-man.sh makes now, or not twice the same (run make man)"
	sed 's/^/#   /' "$work/gen.err"
fi

# man(1): Debian's man-db and groff-base, installed as root when missing
if ! command -v man >/dev/null && [ "$(id -u)" = 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends man-db groff-base >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends man-db groff-base \
				>/dev/null 2>&1; }
fi
if ! command -v man >/dev/null; then
	notok "man(1) is missing (apt-get install man-db groff-base): the page's warnings are not checked"
elif MANWIDTH=80 man --warnings -l "$PAGE" >"$work/page.txt" \
	2>"$work/man.err" && [ ! -s "$work/man.err" ] &&
	[ -s "$work/page.txt" ]; then
	ok "man --warnings -l $PAGE: no warnings"
else
	notok "man --warnings -l $PAGE: warnings or an error"
	sed 's/^/#   /' "$work/man.err"
fi

# The commands of `haprov --help`.
commands() {
	"$BIN" --help | awk '/^commands:/ { on = 1; next } on && /^$/ { exit }
		on && /^  [a-z]/ { print $1 }'
}
# The lines of PAGE's section .SH NAME.
sh_section() {
	awk -v name="$2" '/^\.SH / { on = ($0 == ".SH " name ||
		$0 == ".SH \"" name "\""); next } on' "$1"
}
# Each command of `haprov --help` without its entry (".SS NAME" under
# COMMANDS) in PAGE, and each of its options (from `haprov CMD --help`)
# without its entry under the command's.
missing_commands() {
	local page=$1 c o
	sh_section "$page" COMMANDS >"$work/cmds"
	for c in $(commands); do
		if ! grep -qx "\.SS $c" "$work/cmds"; then
			echo "command $c"
			continue
		fi
		awk -v c="$c" '/^\.SS / { on = ($0 == ".SS " c); next } on' \
			"$work/cmds" | sed 's/\\-/-/g' >"$work/cmd.$c"
		for o in $("$BIN" "$c" --help | awk '/^options:/ { on = 1; next }
				on && /^$/ { exit } on { print $1 }'); do
			grep -q "^\\\\fB$o\\\\fR" "$work/cmd.$c" ||
				echo "option $c $o"
		done
	done
}
[ -n "$(commands)" ] || notok "$BIN --help lists no command"
missing=$(missing_commands "$PAGE")
if [ -z "$missing" ]; then
	ok "every command of haprov --help has its entry, with its options ($(commands | wc -l) commands)"
else
	notok "entries missing from $PAGE (run make man):"
	printf '#   %s\n' "$missing"
fi

# planted: a page without the status command's entry fails that check
sed '/^\.SS status$/d' "$PAGE" >"$work/no-status.1"
if missing_commands "$work/no-status.1" | grep -qx "command status"; then
	ok "planted: the check finds a command's entry missing"
else
	notok "planted: a page without the status entry passed the command check"
fi

# the phases of the phase list (haprov plan --help)
phases=$("$BIN" plan --help | awk '/^phases, in order:/ { on = 1; next }
	on && /^$/ { exit } on { print $1 }')
sh_section "$PAGE" PHASES >"$work/phases"
bad=
for p in $phases; do
	grep -q "^\\\\fB$p\\\\fR\$" "$work/phases" || bad="$bad $p"
done
if [ -n "$phases" ] && [ -z "$bad" ]; then
	ok "every phase of the phase list has its entry under PHASES"
else
	notok "phases missing from PHASES:${bad:- (no phase list in haprov plan --help)}"
fi

# The unit test on the page, and on pages made from damaged copies of
# README.md. tests/unit/test_man.c reads $HAPROV_MAN.
if ! make -s build/tests/test_man >"$work/make.log" 2>&1; then
	notok "make build/tests/test_man"
	sed 's/^/#   /' "$work/make.log"
	finish
fi
if HAPROV_MAN=$PAGE build/tests/test_man >"$work/t.log" 2>&1; then
	ok "test_man passes on $PAGE"
else
	notok "test_man fails on $PAGE"
	sed 's/^/#   /' "$work/t.log"
fi

# planted: README.md without the row of a key -> test_man names the key
# and says "run make man"
planted() {
	local what=$1 key=$2 sedexpr=$3
	sed "$sedexpr" README.md >"$work/README.md"
	if cmp -s README.md "$work/README.md"; then
		notok "planted ($what): the edit changed nothing in README.md"
		return
	fi
	if ! sh tools/gen-man.sh "$BIN" "$work/README.md" >"$work/p.1"; then
		notok "planted ($what): the page does not generate"
		return
	fi
	if HAPROV_MAN=$work/p.1 build/tests/test_man >"$work/t.log" 2>&1; then
		notok "planted ($what): test_man passed"
	elif grep -F "\"$key\"" "$work/t.log" | grep -q "run make man"; then
		ok "planted ($what): test_man names $key"
	else
		notok "planted ($what): test_man failed without naming $key"
		sed 's/^/#   /' "$work/t.log"
	fi
}
planted "ssh.connect_timeout_s's row deleted" ssh.connect_timeout_s \
	'/^| `connect_timeout_s` |/d'
planted "hosts' roles row deleted" 'hosts[].roles' '/^| `roles` | list, \*\*required/d'
planted "patroni.dcs.ttl's row deleted" patroni.dcs.ttl '/^| `ttl` | integer/d'
planted "secrets.roles[].login's row deleted" 'secrets.roles[].login' \
	'/^| `login` | boolean/d'
planted "a key misspelt in its table" patroni.dcs.loop_wait \
	's/^| `loop_wait` |/| `loopwait` |/'

finish
