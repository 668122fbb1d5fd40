#!/usr/bin/env bash
# Issue 9: a running plaintext cluster (built with `tls: false`, as an
# older haprov built it) moved to TLS by `haprov apply` of the TLS
# inventory, under a write load: staged and verified, no failover, no
# acknowledged row lost. Then: etcd's member list all https, http to etcd
# refused, Patroni's REST API https only, replication over ssl, and a
# following plan has nothing to change. Leaves the lab converged with
# inventories/lab.yml (the same state repository and secret store).
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

BG=""
trap '[ -n "$BG" ] && kill -9 "$BG" 2>/dev/null; [ -n "${WRITER_PID:-}" ] && touch "$WRITER_STOP"; t_cleanup' EXIT

# curl to a lab host over https with the cluster CA and haprov's client
# certificate from the secret store (PEM files in $T_TMP)
tls_files() {
	local n
	for n in tls-ca-cert tls-client-cert tls-client-key; do
		base64 -d <"$STORE/$n" >"$T_TMP/$n.der" || return 1
	done
	openssl x509 -inform DER -in "$T_TMP/tls-ca-cert.der" -out "$T_TMP/ca.pem" &&
		openssl x509 -inform DER -in "$T_TMP/tls-client-cert.der" -out "$T_TMP/client.pem" &&
		openssl pkey -inform DER -in "$T_TMP/tls-client-key.der" -out "$T_TMP/client.key" &&
		chmod 600 "$T_TMP/client.key"
}
curl_tls() {
	curl -s -m 3 --cacert "$T_TMP/ca.pem" --cert "$T_TMP/client.pem" \
		--key "$T_TMP/client.key" "$@"
}
# "leader timeline" over http (before) or https (after)
leader_tl_scheme() {
	if [ "$1" = https ]; then
		curl_tls "https://$(lab_ip pg1):8008/cluster"
	else
		curl -s -m 3 "http://$(lab_ip pg1):8008/cluster"
	fi | jq -r '.members[] | select(.role == "leader") | "\(.name) \(.timeline)"'
}

echo "# a plaintext cluster (tls: false) from bare hosts"
lab_reset || { not_ok "lab reset"; finish; exit 1; }
PLAIN=$(inv_variant plain)
printf 'tls: false\n' >>"$PLAIN"
t=$SECONDS
run_haprov "$T_TMP/plain.log" apply "$PLAIN"
rc=$?
[ $rc -eq 0 ] || tail -n 20 "$T_TMP/plain.log"
check_eq "apply with tls: false builds the cluster ($((SECONDS - t)) s)" 0 "$rc"
check "etcd answers plain http" curl -sf -m 3 "http://$(lab_ip pg1):2379/health"

echo "# plan with tls on: the migration's stages, nothing written"
head0=$(state_head)
run_haprov "$T_TMP/plan1.log" plan "$INV"
rc=$?
sed -n '/TLS migration/,/normal phases/p' "$T_TMP/plan1.log"
check_eq "plan exits 2 (changes to come)" 2 "$rc"
check "plan lists the stages" grep -q "1. certificate files" "$T_TMP/plan1.log"
check_eq "plan wrote nothing to the state repository" "$head0" "$(state_head)"
check "etcd still plain http after plan" curl -sf -m 3 "http://$(lab_ip pg1):2379/health"

echo "# apply with tls on, under a write load; killed (-9) after stage 2, then resumed"
read -r LEADER0 TL0 <<<"$(leader_tl_scheme http)"
echo "# leader before: $LEADER0, timeline $TL0"
writer_start
t=$SECONDS
"$HAPROV" apply "$INV" >"$T_TMP/tls1.log" 2>&1 &
BG=$!
if wait_for 180 grep -q "stages 1-2 done" "$T_TMP/tls1.log"; then
	kill -9 "$BG" 2>/dev/null
	wait "$BG" 2>/dev/null
	grep -E "TLS migration st" "$T_TMP/tls1.log"
	run_haprov "$T_TMP/plan-mid.log" plan "$INV"
	rc=$?
	first=$(grep -m1 -E '^  [0-9]\. ' "$T_TMP/plan-mid.log" | sed 's/^ *//')
	echo "# plan after the kill: next is '$first'"
	check_eq "plan after the kill: changes to come" 2 "$rc"
	case $first in
	"3. "* | "4. "* | "5. "*) ok "plan names a stage after the peers as next" ;;
	*) not_ok "plan names a stage after the peers as next: '$first'" ;;
	esac
else
	wait "$BG"
	not_ok "stages 1-2 finished"
	tail -n 20 "$T_TMP/tls1.log"
fi
run_haprov "$T_TMP/tls.log" apply "$INV"
rc=$?
took=$((SECONDS - t))
grep -E "TLS migration|apply done" "$T_TMP/tls.log"
if [ $rc -ne 0 ]; then
	tail -n 30 "$T_TMP/tls.log"
	for h in $LAB_HOSTS; do
		echo "# $h: GET /cluster over http: $(curl -s -m 3 "http://$(lab_ip "$h"):8008/cluster")"
	done
	lab_ssh "$LEADER0" "journalctl -u patroni -n 25 --no-pager" | sed "s/^/# /"
fi
check_eq "apply with tls on, resumed, migrates the running cluster (${took} s in all)" 0 "$rc"
writer_stop_check
echo "# longest write gap: ${WRITER_GAP:-?} s"

tls_files || not_ok "the cluster CA and client certificate from the store"
read -r LEADER1 TL1 <<<"$(leader_tl_scheme https)"
echo "# leader after: $LEADER1, timeline $TL1"
check_eq "no failover: same leader and timeline" "$LEADER0 $TL0" "$LEADER1 $TL1"

peers=$(curl_tls -X POST -d '{}' "https://$(lab_ip pg1):2379/v3/cluster/member/list" |
	jq -r '[.members[].peerURLs[]] | map(startswith("https://")) | all')
check_eq "etcd member list: every peer URL https" true "$peers"
clients=$(curl_tls -X POST -d '{}' "https://$(lab_ip pg1):2379/v3/cluster/member/list" |
	jq -r '[.members[].clientURLs[]] | map(startswith("https://")) | all')
check_eq "etcd member list: every client URL https" true "$clients"
for h in $LAB_HOSTS; do
	a=$(curl -s -m 3 "http://$(lab_ip "$h"):2379/health" | jq -r .health 2>/dev/null)
	check_eq "$h: etcd gives no health over plain http" "" "$a"
	check "$h: Patroni REST answers https" curl_tls -f "https://$(lab_ip "$h"):8008/patroni" -o /dev/null
	check "$h: Patroni REST refuses plain http" bash -c "! curl -sf -m 3 http://$(lab_ip "$h"):8008/patroni >/dev/null"
done
ssl=$(lab_ssh "$LEADER1" "cd / && runuser -u postgres -- psql -XAtc \"select count(*) || ' ' || coalesce(bool_and(s.ssl), false) from pg_stat_replication r join pg_stat_ssl s using (pid)\"")
check_eq "replication: two replicas, all over ssl" "2 true" "$ssl"

run_haprov "$T_TMP/plan2.log" plan "$INV"
rc=$?
[ $rc -eq 0 ] || tail -n 30 "$T_TMP/plan2.log"
check_eq "a plan after the migration has nothing to change" 0 "$rc"
finish
