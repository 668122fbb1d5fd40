#!/usr/bin/env bash
# Issue 9: haprov rotate --ca on a live TLS cluster, under the write load:
# the three stages (bundles old+new, host and client certificates from the
# new CA, the old CA dropped) with no failover (same leader and timeline)
# and no acknowledged row lost; afterwards every served certificate (etcd
# :2379, Patroni :8008, PostgreSQL :5432) is issued by the new CA, a client
# certificate from the old CA is refused by etcd, the store's current CA
# is the new one with no rotation names left, and plan shows no change.
# A client certificate from the old CA is refused by etcd AND by Patroni's
# REST API (PATCH /config with the right password: a TLS failure or 403):
# stage 3 reissues the host certificates so that Patroni loads its context
# again without the old CA. Each member's :8008 certificate (serial) and
# Patroni's reload lines are printed for the record.
# Starts from the cluster 20-apply-fresh leaves and leaves it converged.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

T0=$(lab_now)
trap '[ -n "${WRITER_PID:-}" ] && touch "$WRITER_STOP"; t_cleanup' EXIT

# pem NAME KIND: a store value (base64 DER) as PEM
pem() {
	tr -d '\n' <"$STORE/$1" | base64 -d |
		if [ "$2" = cert ]; then openssl x509 -inform DER; else openssl pkey -inform DER; fi
}

# the leader and its timeline, over https with the store's current CA
leader_tls() {
	pem tls-ca-cert cert >"$T_TMP/cur-ca.pem"
	curl -s -m 5 --cacert "$T_TMP/cur-ca.pem" "https://$(lab_ip pg1):8008/cluster" |
		jq -r '.members[] | select(.role == "leader") | "\(.name) \(.timeline)"'
}

# issuer HOST PORT [starttls]: the issuer of the certificate served there
issuer() {
	local extra=()
	[ -n "${3:-}" ] && extra=(-starttls "$3")
	openssl s_client -connect "$(lab_ip "$1"):$2" "${extra[@]}" \
		-cert "$T_TMP/new-client.crt" -key "$T_TMP/new-client.key" \
		</dev/null 2>/dev/null | openssl x509 -noout -issuer 2>/dev/null
}

# served HOST: issuer and serial of the certificate :8008 serves
served() {
	openssl s_client -connect "$(lab_ip "$1"):8008" </dev/null 2>/dev/null |
		openssl x509 -noout -issuer -serial 2>/dev/null | tr '\n' ' '
}

pem tls-ca-cert cert >"$T_TMP/old-ca.pem"
pem tls-client-cert cert >"$T_TMP/old-client.crt"
pem tls-client-key key >"$T_TMP/old-client.key"
OLD_SUBJ=$(openssl x509 -in "$T_TMP/old-ca.pem" -noout -subject)
LT0=$(leader_tls)
check "a leader is known before the rotation ($LT0)" test -n "$LT0"

for h in $LAB_HOSTS; do echo "$h :8008 before: $(served "$h")"; done
writer_start
t=$(lab_now)
run_haprov "$T_TMP/rot-ca.log" rotate "$INV" --ca
rc=$?
took=$(lab_elapsed "$t")
echo "rotate --ca: exit $rc in ${took}s"
grep -E "stage [0-9] done|new CA|resuming" "$T_TMP/rot-ca.log"
[ "$rc" = 0 ] || tail -n 30 "$T_TMP/rot-ca.log"
check_eq "rotate --ca exits 0" 0 "$rc"
sleep 2
writer_stop_check
echo "rotate --ca: ${took}s, longest write gap ${WRITER_GAP}s"

grep -E "patroni REST certificate" "$T_TMP/rot-ca.log"
for h in $LAB_HOSTS; do
	echo "$h :8008 after: $(served "$h")"
	lab_ssh "$h" "journalctl -u patroni --since '-10 min' --no-pager 2>/dev/null | grep -iE 'reload|sighup|certificate|ssl' | tail -n 8"
done

pem tls-ca-cert cert >"$T_TMP/new-ca.pem"
pem tls-client-cert cert >"$T_TMP/new-client.crt"
pem tls-client-key key >"$T_TMP/new-client.key"
NEW_SUBJ=$(openssl x509 -in "$T_TMP/new-ca.pem" -noout -subject)
NEW_ISS=${NEW_SUBJ/subject=/issuer=}
check "the store's current CA changed ($NEW_SUBJ)" test "$NEW_SUBJ" != "$OLD_SUBJ"
check "no rotation names left in the store" test ! -e "$STORE/tls-ca-next-cert" -a ! -e "$STORE/tls-ca-next-stage"
check_eq "no failover: same leader, same timeline" "$LT0" "$(leader_tls)"
for h in $LAB_HOSTS; do
	check_eq "$h: etcd :2379 serves a certificate of the new CA" "$NEW_ISS" "$(issuer "$h" 2379)"
	check_eq "$h: Patroni :8008 serves a certificate of the new CA" "$NEW_ISS" "$(issuer "$h" 8008)"
	check_eq "$h: PostgreSQL :5432 serves a certificate of the new CA" "$NEW_ISS" "$(issuer "$h" 5432 postgres)"
	check_eq "$h: every trust bundle holds the new CA only" "1 1 1" \
		"$(lab_ssh "$h" 'for f in /etc/etcd/tls/ca.crt /etc/patroni/tls/ca.crt /etc/haproxy/tls/ca.crt; do grep -c "BEGIN CERTIFICATE" $f; done' | tr '\n' ' ' | sed 's/ $//')"
done
check "etcd takes haprov's new client certificate" \
	curl -sf -m 5 --cacert "$T_TMP/new-ca.pem" --cert "$T_TMP/new-client.crt" \
	--key "$T_TMP/new-client.key" "https://$(lab_ip pg1):2379/health"
check "etcd refuses a client certificate from the old CA" bash -c "! curl -sf -m 5 --cacert '$T_TMP/new-ca.pem' --cert '$T_TMP/old-client.crt' --key '$T_TMP/old-client.key' https://$(lab_ip pg1):2379/health"
# a write with the old CA's client certificate and the right password:
# refused at the handshake (curl fails, code 000) or with 403, never 200
printf 'user = "patroni:%s"\n' "$(tr -d '\n' <"$STORE/restapi")" >"$T_TMP/rest.cfg"
LW=$(curl -s -m 5 --cacert "$T_TMP/new-ca.pem" "https://$(lab_ip pg1):8008/config" | jq -c '{loop_wait}')
for h in $LAB_HOSTS; do
	code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -K "$T_TMP/rest.cfg" \
		--cacert "$T_TMP/new-ca.pem" --cert "$T_TMP/old-client.crt" \
		--key "$T_TMP/old-client.key" -X PATCH -H 'Content-Type: application/json' \
		-d "$LW" "https://$(lab_ip "$h"):8008/config")
	echo "$h: PATCH /config with the old CA's client certificate: ${code:-none}"
	check "$h: Patroni refuses a client certificate from the old CA (TLS failure or 403)" \
		test "$code" = 000 -o "$code" = 403
	code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -K "$T_TMP/rest.cfg" \
		--cacert "$T_TMP/new-ca.pem" --cert "$T_TMP/new-client.crt" \
		--key "$T_TMP/new-client.key" -X PATCH -H 'Content-Type: application/json' \
		-d "$LW" "https://$(lab_ip "$h"):8008/config")
	check_eq "$h: Patroni takes haprov's new client certificate (PATCH /config $LW)" 200 "$code"
done

"$HAPROV" plan "$INV" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
rc=$?
[ "$rc" = 0 ] || { cat "$T_TMP/plan.out"; tail -n 5 "$T_TMP/plan.err"; }
check_eq "plan shows no change after the rotation" 0 "$rc"
echo "49-tls-rotate-ca: total $(lab_elapsed "$T0")s"
finish
