#!/usr/bin/env bash
# The bash completion (completion/haprov.bash) against the built binary:
# commands, each command's options, --phase lists, --host from a real
# inventory, rollback --to from a real state repository (made here with
# the git CLI, the way haprov lays it out: rollback/state.h), paths with a
# space or a quote, hostile host names and tags (nothing they hold is ever
# run), a haprov that hangs, and a drift check: the script's static lists
# must equal what `haprov --help` and `haprov COMMAND --help` print.
#
# Needs no lab and no SSH. Prints "ok - ..." / "not ok - ..." and ends with
# "N passed, N failed".
#
#   bash tests/completion.sh                # the checks
#   bash tests/completion.sh --print-lists  # the lists as the binary has
#                                           # them, to paste into the script
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
HAPROV=$ROOT/build/haprov
# shellcheck source=tests/integration/tap.sh disable=SC1091
. tests/integration/tap.sh

[ -x "$HAPROV" ] || make -s haprov >/dev/null 2>&1
[ -x "$HAPROV" ] || { notok "build/haprov is missing (make -s haprov)"; finish; }

# ---- what the binary says --------------------------------------------------
# the commands of `haprov --help`
help_commands() {
	"$HAPROV" --help | awk '/^commands:/ { on = 1; next }
		on && /^$/ { exit }
		on && /^  [a-z]/ { print $1 }' | xargs
}
# the global options of its usage lines
help_global_opts() {
	"$HAPROV" --help | sed -n '1,/^$/p' | grep -o -e '--[a-z][a-z-]*' | xargs
}
# a command's options, "=" after one that takes an argument ("--to POINT")
help_opts() {
	"$HAPROV" "$1" --help | awk '/^options:/ { on = 1; next }
		on && /^$/ { exit }
		on && /^  --/ { o = $1; if ($2 ~ /^[A-Z][A-Z0-9_,.]*$/) o = o "="; print o }' |
		xargs
}
# the phases of `haprov plan --help`
help_phases() {
	"$HAPROV" plan --help | awk '/^phases, in order:/ { on = 1; next }
		on && /^$/ { exit }
		on && /^  [a-z]/ { print $1 }' | xargs
}
# drill --kind's values: "switchover (the API), postgres-kill (...) or crash (...)"
help_kinds() {
	"$HAPROV" drill --help | awk '$1 == "--kind" { $1 = ""; $2 = ""; print }' |
		sed 's/([^)]*)//g; s/,/ /g; s/ or / /g' | xargs
}

if [ "${1:-}" = --print-lists ]; then
	echo "_haprov_commands='$(help_commands)'"
	echo "_haprov_global_opts='$(help_global_opts)'"
	echo "_haprov_phases='$(help_phases)'"
	echo "_haprov_drill_kinds='$(help_kinds)'"
	for c in $(help_commands); do
		echo "	$c) echo '$(help_opts "$c")' ;;"
	done
	exit 0
fi

T=$(mktemp -d /tmp/haprov-completion-test.XXXXXX)
cleanup() { [ -n "${KEEP:-}" ] || rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
CANARY=$T/pwned

# comp WORD...: what _haprov offers with the cursor at the end of the last
# word, on one line; anything it prints on stderr goes to $T/stderr.
# COMP_WORDS[0] is the haprov to ask (a path, or "haprov" for PATH's).
comp() {
	bash -c 'set -u
		source completion/haprov.bash
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		_haprov
		echo "${COMPREPLY[@]}"' comp "$@" 2>"$T/stderr"
}
# expect DESCRIPTION WANT WORD...: comp WORD... prints WANT and nothing on
# stderr
expect() {
	local what=$1 want=$2 got
	shift 2
	got=$(comp "$@")
	if [ "$got" != "$want" ]; then
		notok "$what: got [$got], want [$want]"
	elif [ -s "$T/stderr" ]; then
		notok "$what: printed on stderr: $(head -c 300 "$T/stderr")"
	else
		ok "$what"
	fi
}
# plain set: the words of a line, sorted
words() { tr ' ' '\n' | sed '/^$/d' | sort | xargs; }

# ---- drift: the static lists against the binary ---------------------------
src() { bash -c 'source completion/haprov.bash; '"$1"; }
cmds=$(help_commands)
if [ -n "$cmds" ] && [ "$(src "echo \$_haprov_commands")" = "$cmds" ]; then
	ok "drift: the command list is haprov --help's ($cmds)"
else
	notok "drift: _haprov_commands is [$(src "echo \$_haprov_commands")], haprov --help has [$cmds]"
fi
for c in $cmds; do
	want=$(help_opts "$c")
	got=$(src "_haprov_cmd_opts $c" | xargs)
	if [ "$got" = "$want" ]; then
		ok "drift: $c's options are its --help's ([$want])"
	else
		notok "drift: _haprov_cmd_opts $c is [$got], haprov $c --help has [$want]"
	fi
done
for pair in global_opts:_haprov_global_opts phases:_haprov_phases \
	kinds:_haprov_drill_kinds; do
	want=$("help_${pair%%:*}")
	got=$(src "echo \$${pair#*:}")
	if [ -n "$want" ] && [ "$got" = "$want" ]; then
		ok "drift: ${pair#*:} is the binary's ([$want])"
	else
		notok "drift: ${pair#*:} is [$got], the binary has [$want]"
	fi
done

# ---- commands and options --------------------------------------------------
expect "first word: every command (and help)" "$cmds help" "$HAPROV" ""
expect "first word: a prefix" "rollback rotate" "$HAPROV" "ro"
expect "global options before the command" "$(help_global_opts)" \
	"$HAPROV" "--"
expect "help COMMAND" "switchover status" "$HAPROV" help s
expect "plan inventories/lab.yml --<TAB>: plan's options" \
	"$(help_opts plan | sed 's/=//g')" "$HAPROV" plan inventories/lab.yml --
expect "apply's options, one given already left out" \
	"--phase --host --parallel --accept-new-host-keys --json --allow-remove" \
	"$HAPROV" apply inventories/lab.yml --no-rollback --
expect "after the command: inventory files and directories" \
	"inventories/example-production.yml inventories/example-tuning.yml inventories/lab.yml" \
	"$HAPROV" plan inventories/
# ---- values -----------------------------------------------------------------
expect "apply inv --phase et" "etcd" "$HAPROV" apply inv --phase et
expect "apply inv --phase etcd,pa" "etcd,patroni" "$HAPROV" apply inv --phase etcd,pa
expect "--phase <TAB>: every phase" "$(help_phases)" "$HAPROV" plan inv --phase ""
expect "--phase=et (split at =)" "etcd" "$HAPROV" plan inv --phase = et
expect "--phase=et (one word)" "--phase=etcd" "$HAPROV" plan inv --phase=et
expect "a phase listed already is not offered again" \
	"etcd,pgbouncer,patroni" "$HAPROV" plan inv --phase etcd,pgbouncer,p
expect "drill --kind" "$(help_kinds)" "$HAPROV" drill inventories/lab.yml --kind ""
expect "--parallel N: nothing to offer" "" "$HAPROV" plan inventories/lab.yml --parallel ""
expect "plan inventories/lab.yml --host p (the real inventory)" \
	"pg1 pg2 pg3" "$HAPROV" plan inventories/lab.yml --host p
expect "--host pg1,<TAB>" "pg1,pg2 pg1,pg3" \
	"$HAPROV" plan inventories/lab.yml --host pg1,
expect "--host after other options" "pg2" \
	"$HAPROV" apply --verbose inventories/lab.yml --phase etcd --parallel 2 --host pg2
expect "switchover --to: the patroni members" "pg1 pg2 pg3" \
	"$HAPROV" switchover inventories/lab.yml --to ""
expect "rotate ROLE: secrets.roles and the built-in roles" \
	"app superuser replication rewind restapi" \
	"$HAPROV" rotate inventories/lab.yml ""
expect "--host with no inventory on the line: nothing" "" "$HAPROV" plan --host ""
expect "--host with a missing inventory: nothing" "" \
	"$HAPROV" plan "$T/nothing.yml" --host ""

# ---- rollback --to: a real state repository --------------------------------
# The state repository is a bare git repository marked haprov.state = true
# whose rollback points are tags rp/<n>-<phase> (rollback/state.h). Without
# a lab, apply cannot make one, so it is made here with the git CLI and
# read back by the real `haprov history`.
mkstate() { # mkstate DIR: two points, rp/1-etcd and rp/2-patroni
	local d=$1 tree c1 c2
	git init -q --bare "$d" && git -C "$d" config haprov.state true &&
		git -C "$d" symbolic-ref HEAD refs/heads/main &&
		tree=$(git -C "$d" mktree </dev/null) &&
		c1=$(git -C "$d" commit-tree -m "rp/1-etcd: ok" \
			-m "- pg1: etcd: changed" "$tree") &&
		git -C "$d" tag rp/1-etcd "$c1" &&
		c2=$(git -C "$d" commit-tree -p "$c1" -m "rp/2-patroni: ok" "$tree") &&
		git -C "$d" tag rp/2-patroni "$c2" &&
		git -C "$d" update-ref refs/heads/main "$c2"
}
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.invalid \
	GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.invalid
small_inv() { # small_inv FILE: two hosts, the state repository "st" beside it
	cat >"$1" <<'EOF'
cluster:
  name: small
  state_dir: st
hosts:
  - name: db1
    address: 192.0.2.1
    roles: [etcd, patroni, haproxy]
  - name: db2
    address: 192.0.2.2
    roles: [etcd, patroni, haproxy]
EOF
}
mkdir -p "$T/plain"
small_inv "$T/plain/inv.yml"
if mkstate "$T/plain/st" >/dev/null 2>&1 &&
	"$HAPROV" history "$T/plain/inv.yml" 2>/dev/null | grep -q '^rp/2-patroni '; then
	ok "a state repository with two rollback points (haprov history lists them)"
else
	notok "cannot make a state repository haprov history reads"
fi
expect "rollback inv --to <TAB>: the points, newest first" \
	"rp/2-patroni rp/1-etcd" "$HAPROV" rollback "$T/plain/inv.yml" --to ""
expect "rollback inv --to rp/1" "rp/1-etcd" \
	"$HAPROV" rollback "$T/plain/inv.yml" --to rp/1
mkdir -p "$T/empty"
small_inv "$T/empty/inv.yml"
expect "rollback with no rollback points: nothing" "" \
	"$HAPROV" rollback "$T/empty/inv.yml" --to ""

# ---- paths with a space and a quote ----------------------------------------
D="$T/my dir"
mkdir -p "$D"
small_inv "$D/inv's.yml"
mkstate "$D/st" >/dev/null 2>&1
: >"$D/notes.txt"
mkdir -p "$D/sub dir"
esc=$(printf '%q' "$D/inv's.yml")   # /tmp/.../my\ dir/inv\'s.yml
sq="'${D//\'/\'\\\'\'}/inv'\\''s.yml'"   # '/tmp/.../my dir/inv'\''s.yml'
dq="\"$D/inv's.yml\""
for form in "$esc" "$sq" "$dq"; do
	expect "--host, inventory typed as $form" "db1 db2" \
		"$HAPROV" plan "$form" --host ""
	expect "rollback --to, inventory typed as $form" "rp/2-patroni rp/1-etcd" \
		"$HAPROV" rollback "$form" --to ""
done
expect "file names with a space and a quote (no .txt)" \
	"$D/inv's.yml $D/st $D/sub dir" "$HAPROV" plan "$(printf '%q' "$D/")"
expect "a half-typed quoted path" "$D/inv's.yml" "$HAPROV" plan "'$D/in"
expect "an unterminated quote in a --phase value" "" \
	"$HAPROV" plan "$esc" --phase "'et"

# ---- hostile input: nothing is ever run ------------------------------------
cat >"$T/hostile.yml" <<EOF
cluster:
  name: hostile
hosts:
  - name: "\$(touch $CANARY)"
    address: 192.0.2.1
    roles: [etcd, patroni, haproxy]
EOF
expect "a host named \$(touch ...): the real haprov refuses it, nothing offered" \
	"" "$HAPROV" plan "$T/hostile.yml" --host ""
# a haprov (stub, first on PATH) that prints what a hostile or broken one
# could: host names and tags with command substitutions; only the plain
# ones may be offered
mkdir -p "$T/bin"
cat >"$T/bin/haprov" <<EOF
#!/bin/sh
case "\$1" in
validate) cat <<'YAML'
# haprov: the effective inventory
cluster:
  name: x
hosts:
  - name: \$(touch $CANARY)
    roles: [patroni]
  - name: "\`touch $CANARY\`"
    roles: [patroni]
  - name: ok1
    roles: [etcd, patroni]
  - name: ok2;touch
    roles: [patroni]
secrets:
  roles:
    - name: \$(touch $CANARY)
    - name: app2
YAML
;;
history) cat <<'HIST'
rp/3-\$(touch $CANARY) 2026-03-01 10:15:00Z  0123456789ab  x
rp/2-etcd          2026-03-01 10:15:00Z  0123456789ab  rp/2-etcd: ok
    - \$(touch $CANARY)
\$(touch $CANARY)
HIST
;;
esac
EOF
chmod +x "$T/bin/haprov"
PATH_SAVED=$PATH
PATH=$T/bin:$PATH
expect "hostile host names from haprov (stub): only the plain one" "ok1" \
	haprov plan "$T/hostile.yml" --host ""
expect "hostile rotate roles from haprov (stub): only the plain one" \
	"app2 superuser replication rewind restapi" \
	haprov rotate "$T/hostile.yml" ""
expect "hostile tags from haprov history (stub): only the plain one" \
	"rp/2-etcd" haprov rollback "$T/hostile.yml" --to ""
expect "COMP_WORDS[0] not an executable path: haprov on PATH (stub)" "ok1" \
	"$T/no/such/haprov" plan "$T/hostile.yml" --host ok
expect "an inventory path holding \$(...)" "" \
	haprov plan "'\$(touch $CANARY).yml'" --host ""
expect "a word being completed holding \$(...)" "" \
	haprov plan "\$(touch $CANARY)"
expect "a --phase value holding \$(...)" "" \
	haprov plan inv --phase "\$(touch $CANARY)"
expect "a --host value holding \`...\`" "" \
	haprov plan "$T/hostile.yml" --host "\`touch $CANARY\`"
if [ -e "$CANARY" ]; then
	notok "the canary $CANARY exists: something was run"
else
	ok "no hostile name was run (no canary file)"
fi

# ---- a haprov that hangs ----------------------------------------------------
cat >"$T/bin/haprov" <<'EOF'
#!/bin/sh
sleep 30
echo never
EOF
start=$(date +%s)
expect "a haprov that hangs: nothing offered" "" \
	haprov plan "$T/plain/inv.yml" --host ""
took=$(($(date +%s) - start))
if [ "$took" -lt 10 ]; then
	ok "a haprov that hangs is given up (${took} s)"
else
	notok "a haprov that hangs held the completion ${took} s"
fi
PATH=$PATH_SAVED

# ---- as bash runs it --------------------------------------------------------
if got=$(bash -c 'source completion/haprov.bash; complete -p haprov' 2>&1) &&
	[ "$got" = "complete -F _haprov haprov" ]; then
	ok "complete -F _haprov haprov is registered"
else
	notok "complete -p haprov: $got"
fi
if out=$(bash -c 'source completion/haprov.bash' 2>&1) && [ -z "$out" ]; then
	ok "sourcing prints nothing"
else
	notok "sourcing printed: $out"
fi
finish
