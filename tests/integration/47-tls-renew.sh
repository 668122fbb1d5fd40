#!/usr/bin/env bash
# Issue 9, test 3: renew certificates close to expiry, with reloads only.
# A copy of the lab inventory (same state repository and store) says
# renew_days 400 and validity_days 800, so every 365-day certificate is
# "close to expiry": plan lists the renewals; apply under the write load
# renews them with no PostgreSQL restart (postmaster start times), no
# failover (leader and timeline), 0 rows lost, and every served certificate
# (etcd :2379, Patroni :8008, PostgreSQL :5432, the stats page :8404)
# changes; a second apply is a no-op. The lab inventory is applied again at
# the end (800-day certificates are not expiring: nothing to renew).
. "$(dirname "$0")/lib.sh"

if ! lab_tls_on; then
	not_ok "inventories/lab.yml has TLS off: this test needs it on (the default)"
	finish
	exit
fi
check "the store holds the CA and haprov's client certificate" lab_tls_files
RENEW=$(inv_variant renew \
	"s|^\(  store: .*\)$|\1\n  tls: {renew_days: 400, validity_days: 800}|")
grep -A2 '^secrets:' "$RENEW"

# served_fp HOST PORT: sha256 fingerprint of the certificate HOST serves on
# PORT (PostgreSQL's through its STARTTLS), presenting haprov's certificate
served_fp() {
	local st=()
	[ "$2" = 5432 ] && st=(-starttls postgres)
	timeout 10 openssl s_client -connect "$(lab_ip "$1"):$2" "${st[@]}" \
		-cert "$LAB_TLS_DIR/client.crt" -key "$LAB_TLS_DIR/client.key" \
		</dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}
# served_all: "HOST:PORT FINGERPRINT" for every channel of every host
served_all() {
	local h p
	for h in $LAB_HOSTS; do
		for p in 2379 8008 5432 8404; do
			echo "$h:$p $(served_fp "$h" "$p")"
		done
	done
}
# served_days HOST PORT: whole days until the served certificate expires
served_days() {
	local end
	end=$(timeout 10 openssl s_client -connect "$(lab_ip "$1"):$2" \
		-cert "$LAB_TLS_DIR/client.crt" -key "$LAB_TLS_DIR/client.key" \
		</dev/null 2>/dev/null | openssl x509 -noout -enddate 2>/dev/null | cut -d= -f2)
	[ -n "$end" ] || { echo none; return; }
	echo $((($(date -d "$end" +%s) - $(date +%s)) / 86400))
}

FP0=$(served_all)
echo "$FP0"
check_eq "every channel serves a certificate" 0 "$(grep -c ' $' <<<"$FP0")"
PM0=$(postmaster_starts)
LT0=$(leader_tl)
PIDS0=$(service_pids)
echo "leader/timeline before: $LT0"

"$HAPROV" plan "$RENEW" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
rc=$?
grep -i 'renew\|expir' "$T_TMP/plan.out" "$T_TMP/plan.err" | head -n 30
check_eq "plan with renew_days 400: changes (exit 2)" 2 "$rc"
n=$(grep -ci 'renew\|expir' "$T_TMP/plan.out" "$T_TMP/plan.err" | awk -F: '{ s += $NF } END { print s + 0 }')
check "plan lists the renewals ($n lines)" test "$n" -ge 3

writer_start
t0=$(lab_now)
run_haprov "$T_TMP/apply.log" apply "$RENEW"
rc=$?
echo "renewing apply: exit $rc in $(lab_elapsed "$t0")s"
[ "$rc" = 0 ] || tail -n 30 "$T_TMP/apply.log"
sleep 2
writer_stop_check
echo "longest write gap: ${WRITER_GAP}s"
check_eq "apply renewing the certificates exits 0" 0 "$rc"
check_eq "no PostgreSQL restart (postmaster start times)" "$PM0" "$(postmaster_starts)"
check_eq "no failover (leader and timeline)" "$LT0" "$(leader_tl)"
echo "service PIDs before:"
echo "$PIDS0"
echo "after:"
service_pids

lab_tls_refresh
FP1=$(served_all)
echo "$FP1"
for hp in $(awk '{ print $1 }' <<<"$FP0"); do
	a=$(awk -v k="$hp" '$1 == k { print $2 }' <<<"$FP0")
	b=$(awk -v k="$hp" '$1 == k { print $2 }' <<<"$FP1")
	if [ -n "$b" ] && [ "$a" != "$b" ]; then
		ok "$hp serves a new certificate"
	else
		not_ok "$hp: served certificate unchanged or missing ('$a' -> '$b')"
	fi
done
for h in $LAB_HOSTS; do
	d=$(served_days "$h" 8008)
	check "$h: the new certificate runs 800 days ($d left)" test "$d" -ge 790
done
check_eq "the cluster still answers through HAProxy" 1 "$(psql_lab 5000 'select 1')"

"$HAPROV" apply "$RENEW" --json >"$T_TMP/apply2.json" 2>"$T_TMP/apply2.err"
rc=$?
check_eq "a second apply exits 0" 0 "$rc"
check_eq "a second apply is a no-op (every step ok)" 0 \
	"$(jq '[.results[] | select(.status != "ok")] | length' "$T_TMP/apply2.json")"

# back to the lab inventory: 800-day certificates are not expiring
restore_lab
"$HAPROV" plan "$INV" >"$T_TMP/plan2.out" 2>"$T_TMP/plan2.err"
rc=$?
[ "$rc" = 0 ] || cat "$T_TMP/plan2.out"
check_eq "plan of the lab inventory afterwards: nothing to do" 0 "$rc"
finish
