#!/usr/bin/env bash
# Issue 3, test 4: a host whose key does not match known_hosts is refused,
# and nothing changes anywhere: a drift left on another host stays, no
# commit is made.
. "$(dirname "$0")/lib.sh"

kh=$T_TMP/known_hosts
# pg2's address with pg3's key
awk -v a="$(lab_ip pg2)" -v b="$(lab_ip pg3)" '
	{ split($1, n, ","); for (i in n) if (n[i] == b) k3 = $2 " " $3 }
	{ lines[NR] = $0 }
	END { for (i = 1; i <= NR; i++) { split(lines[i], f, " "); split(f[1], n, ",");
	      bad = 0; for (j in n) if (n[j] == a) bad = 1;
	      if (!bad) print lines[i] }
	      print a " " k3 }' "$LAB_KNOWN_HOSTS" >"$kh"
inv=$(inv_variant badkey "s|known_hosts: .*|known_hosts: $kh|")
mark="# drift kept $(date +%s%N)"
lab_ssh pg1 "echo '$mark' >> /etc/haproxy/haproxy.cfg"
head0=$(state_head)
run_haprov "$T_TMP/apply.log" apply "$inv"
rc=$?
cat "$T_TMP/apply.log"
check "apply refuses (exit 1)" test "$rc" -eq 1
check "the message names pg2 and a changed host key" \
	grep -qiE "pg2.*(changed|host key)" "$T_TMP/apply.log"
check "the message shows the key's fingerprint" grep -q "SHA256:" "$T_TMP/apply.log"
check "nothing changed on pg1 (its drift is still there)" \
	lab_ssh pg1 "grep -qF '$mark' /etc/haproxy/haproxy.cfg"
check_eq "no commit in the state repository" "$head0" "$(state_head)"
check "accept-new does not accept a changed key" bash -c \
	"! '$HAPROV' apply '$inv' --accept-new-host-keys >/dev/null 2>&1"
# an unknown host (pg3 missing from known_hosts): plan with
# --accept-new-host-keys trusts it for that run only and writes nothing
kh2=$T_TMP/known_hosts.unknown
awk -v b="$(lab_ip pg3)" '{ split($1, n, ","); bad = 0;
	for (j in n) if (n[j] == b) bad = 1; if (!bad) print }' \
	"$LAB_KNOWN_HOSTS" >"$kh2"
inv2=$(inv_variant unknownkey "s|known_hosts: .*|known_hosts: $kh2|")
sum0=$(sha256sum <"$kh2")
"$HAPROV" plan "$inv2" --accept-new-host-keys >"$T_TMP/plan2.log" 2>&1
rc=$?
check "plan --accept-new-host-keys runs (exit 0 or 2, got $rc)" \
	test "$rc" -eq 0 -o "$rc" -eq 2
check "it says the key would be added" grep -q "would add" "$T_TMP/plan2.log"
check_eq "plan wrote nothing to known_hosts" "$sum0" "$(sha256sum <"$kh2")"
# put things back for the next tests
run_haprov "$T_TMP/fix.log" apply "$INV"
check_eq "apply with the right known_hosts converges" 0 "$?"
finish
