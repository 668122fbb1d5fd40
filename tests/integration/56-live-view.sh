#!/usr/bin/env bash
# Issue 13: the live view, in a real terminal (tmux) against the lab. An
# apply with a staged change (loop_wait, ttl, retry_timeout: a few
# seconds of waiting) runs in a tmux pane; capture-pane while it runs:
# - one line per host below the scrolling lines ("  pg1  patroni ..."),
#   redrawn in place (the pane's content changes while the lines stay
#   three, one per host);
# - the final screen holds the recap and "apply done", with no block left;
# - the same apply with stderr in a file gets plain lines only (no escape
#   sequence).
# Then the lab inventory's settings back.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

if ! command -v tmux >/dev/null && [ "$(id -u)" = 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux \
		>/dev/null 2>&1 || true
fi
if ! command -v tmux >/dev/null; then
	not_ok "tmux is missing (apt-get install tmux)"
	finish
	exit 1
fi

inv=$(inv_variant live "s/^    ttl: 30.*/    ttl: 20/" \
	"s/^    loop_wait: 10.*/    loop_wait: 5/" \
	"s/^    retry_timeout: 10.*/    retry_timeout: 5/")
S=haprov-live-$$
trap 'tmux kill-session -t "$S" 2>/dev/null; t_cleanup' EXIT

tmux new-session -d -s "$S" -x 150 -y 40 \
	"env -u NO_COLOR TERM=xterm '$HAPROV' apply '$inv'; echo \"EXIT=\$?\"; sleep 600"
n=0 blocks=0 distinct=0 last='' most=0
for _ in $(seq 1 240); do
	sleep 0.25
	tmux capture-pane -p -t "$S" >"$T_TMP/cap"
	if grep -q '^EXIT=' "$T_TMP/cap"; then break; fi
	n=$((n + 1))
	c=$(grep -c '^  pg1 ' "$T_TMP/cap")
	[ "$c" -gt "$most" ] && most=$c
	# the block: the last non-empty lines are one per host
	tail=$(grep -v '^$' "$T_TMP/cap" | tail -n 3)
	if grep -qE '^  pg1 ' <<<"$tail" && grep -qE '^  pg2 ' <<<"$tail" &&
		grep -qE '^  pg3 ' <<<"$tail"; then
		blocks=$((blocks + 1))
		if [ "$tail" != "$last" ]; then
			distinct=$((distinct + 1))
			last=$tail
		fi
		[ "$blocks" = 1 ] && printf '%s\n' "$tail" | sed 's/^/#   /'
	fi
done
tmux capture-pane -p -t "$S" -S -200 >"$T_TMP/final"
echo "captures while running: $n, with the block: $blocks, different blocks: $distinct"
check_eq "the apply in the pane exits 0" "EXIT=0" "$(grep -o '^EXIT=[0-9]*' "$T_TMP/final")"
check "one line per host was shown below the scrolling lines" test "$blocks" -ge 2
check "and redrawn in place ($distinct different)" test "$distinct" -ge 2
check_eq "one block at a time: never two pg1 lines on the screen" 1 "$most"
check "the final screen holds the recap" grep -q '^recap    pg3 ' "$T_TMP/final"
check "and 'apply done'" grep -q 'apply done in' "$T_TMP/final"
check "no block left after it" \
	bash -c "! grep -A5 'apply done in' '$T_TMP/final' | grep -q '^  pg1 '"

# not a terminal: plain lines only
run_haprov "$T_TMP/plain.log" apply "$INV"
check_eq "restoring the lab's settings (stderr to a file) exits 0" 0 "$?"
check "with stderr in a file: no escape sequence" \
	bash -c "! grep -q \$'\\033' '$T_TMP/plain.log'"
finish
