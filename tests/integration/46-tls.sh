#!/usr/bin/env bash
# Issue 9, test 1: a fresh apply with TLS on (the default; the suite runs
# 20-apply-fresh.sh first), checked by independent clients on the
# operator's machine and the hosts: curl with and without certificates
# (haprov's, none, another CA's), etcdctl, psql with sslmode=verify-full
# and verify-ca, pg_stat_ssl, patronictl, and a plan that finds nothing to
# do.
. "$(dirname "$0")/lib.sh"

if ! lab_tls_on; then
	not_ok "inventories/lab.yml has TLS off: this test needs it on (the default)"
	finish
	exit
fi
check "the store holds the CA and haprov's client certificate" lab_tls_files
check "the CA certificate is a CA (basicConstraints CA:TRUE)" \
	grep -q 'CA:TRUE' <(openssl x509 -in "$LAB_TLS_DIR/ca.crt" -noout -text)

# another CA, and a client certificate from it, made here with openssl
oca=$T_TMP/other-ca
mkdir -p "$oca"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$oca/ca.key" -out "$oca/ca.crt" -subj /CN=other-ca -days 1 \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign \
	2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout "$oca/client.key" -out "$oca/client.csr" -subj /CN=haprov 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' >"$oca/ext"
openssl x509 -req -in "$oca/client.csr" -CA "$oca/ca.crt" -CAkey "$oca/ca.key" \
	-CAcreateserial -days 1 -extfile "$oca/ext" -out "$oca/client.crt" 2>/dev/null
check "a client certificate from another CA was made" test -s "$oca/client.crt"

# code CURL-ARGS...: "HTTP-CODE CURL-EXIT" of one request (000 when no answer)
code() {
	local c rc
	c=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$@")
	rc=$?
	echo "$c $rc"
}
# refused "what" "CODE EXIT": no HTTP answer, and not a timeout (curl 28)
refused() {
	case $2 in
	"000 28") not_ok "$1: a timeout, not a refusal" ;;
	"000 "*) ok "$1 (curl exit ${2#000 })" ;;
	*) not_ok "$1: answered HTTP ${2% *}" ;;
	esac
}

# ---- etcd: only the cluster CA's client certificates get in ------------------
for h in $LAB_HOSTS; do
	u=$(lab_url "$h" 2379 /v3/maintenance/status)
	refused "etcd on $h refuses a client without a certificate" \
		"$(code --cacert "$LAB_TLS_DIR/ca.crt" -X POST -d '{}' "$u")"
	refused "etcd on $h refuses a client certificate from another CA" \
		"$(code --cacert "$LAB_TLS_DIR/ca.crt" --cert "$oca/client.crt" \
			--key "$oca/client.key" -X POST -d '{}' "$u")"
	check_eq "etcd on $h answers haprov's client certificate" 200 \
		"$(lab_curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST -d '{}' "$u")"
	# Go answers plain http on a TLS port with 400 ("Client sent an HTTP
	# request to an HTTPS server"): anything but a 2xx
	c=$(code -X POST -d '{}' "http://$(lab_ip "$h"):2379/v3/maintenance/status")
	case $c in
	2*) not_ok "etcd on $h answered plain http: $c" ;;
	*) ok "etcd on $h serves no plain http ($c)" ;;
	esac
done
out=$(lab_etcdctl pg2 member list 2>&1)
echo "$out"
check_eq "etcdctl on pg2 with its TLS files: 3 members" 3 "$(grep -c started <<<"$out")"
check_eq "etcdctl: the peer URLs are https" 3 "$(grep -c 'https://[0-9.]*:2380' <<<"$out")"
check "etcdctl without a client certificate is refused" \
	test -z "$(lab_ssh pg2 "ETCDCTL_API=3 timeout 10 etcdctl --endpoints=https://$(lab_ip pg2):2379 --cacert=/etc/etcd/tls/ca.crt --dial-timeout=3s member list 2>/dev/null")"

# ---- Patroni's REST API: https on the host's address, writes need a cert ------
REST_PW=$(tr -d '\n' <"$STORE/restapi")
REST_USER=$("$HAPROV" validate "$INV" --print | awk '/^secrets:/ { s = 1 } s && /^  restapi_user:/ { print $2; exit }')
REST_USER=${REST_USER:-patroni}
for h in $LAB_HOSTS; do
	u=$(lab_url "$h" 8008 /config)
	lw=$(lab_curl -s -m 5 "$u" | jq -r .loop_wait)
	check "patroni on $h: GET /config with haprov's certificate ($lw)" test "$lw" -ge 1
	# the write would change nothing (loop_wait to its own value), and it is
	# refused before that: no client certificate
	check_eq "patroni on $h refuses a write with the password but no client certificate" 403 \
		"$(printf 'user = "%s:%s"\n' "$REST_USER" "$REST_PW" |
			curl -s -m 5 -K - --cacert "$LAB_TLS_DIR/ca.crt" -o /dev/null -w '%{http_code}' \
				-X PATCH -d "{\"loop_wait\": $lw}" "$u")"
	check_eq "patroni on $h refuses a write with a certificate but no password" 401 \
		"$(lab_curl -s -m 5 -o /dev/null -w '%{http_code}' -X PATCH -d "{\"loop_wait\": $lw}" "$u")"
	check_eq "patroni on $h: certificate and password work (GET /patroni)" 200 \
		"$(printf 'user = "%s:%s"\n' "$REST_USER" "$REST_PW" |
			lab_curl -s -m 5 -K - -o /dev/null -w '%{http_code}' "$(lab_url "$h" 8008 /patroni)")"
	c=$(code "http://$(lab_ip "$h"):8008/patroni")
	case $c in
	"000 28") not_ok "patroni on $h: plain http timed out (no refusal)" ;;
	2*) not_ok "patroni on $h answered plain http: $c" ;;
	*) ok "patroni on $h refuses plain http ($c)" ;;
	esac
	check_eq "patroni on $h listens on its address only" "$(lab_ip "$h"):8008" \
		"$(lab_ssh "$h" "ss -Hltn 'sport = :8008'" | awk '{ print $4 }' | sort -u | tr '\n' ' ' | sed 's/ $//')"
done
out=$(lab_ssh pg1 "patronictl -c /etc/patroni/config.yml list 2>&1")
echo "$out"
check_eq "patronictl on pg1 (its ctl: section): one Leader" 1 "$(grep -c '| Leader ' <<<"$out")"
check_eq "patronictl: two Replicas" 2 "$(grep -c '| Replica ' <<<"$out")"
leader=$(grep '| Leader ' <<<"$out" | awk -F'|' '{gsub(/ /,"",$2); print $2}')

# ---- PostgreSQL: replication and clients on TLS --------------------------------
check_eq "pg_stat_replication on leader $leader: 2 connections, 2 on TLS" "2|2" \
	"$(lab_ssh "$leader" "cd / && runuser -u postgres -- psql -XAtc 'select count(*), count(*) filter (where s.ssl) from pg_stat_replication r left join pg_stat_ssl s using (pid)'")"
# pgtls HOST SSLMODE [ROOTCERT]: psql through HOST's HAProxy primary port
# trusting ROOTCERT (default the cluster CA), the server's view of the
# session's TLS
pgtls() {
	PGPASSWORD=$(pg_password) PGCONNECT_TIMEOUT=5 PGSSLMODE=$2 \
		PGSSLROOTCERT=${3:-$LAB_TLS_DIR/ca.crt} psql -X -q -At \
		-h "$(lab_ip "$1")" -p 5000 -U "$LAB_PGUSER" -d postgres \
		-c 'select ssl from pg_stat_ssl where pid = pg_backend_pid()' 2>&1
}
# HAProxy forwards TCP: the certificate is the leader's, whose SANs hold
# the leader's address, so verify-full holds through the leader's HAProxy
check_eq "psql sslmode=verify-full through $leader's HAProxy: on TLS" t "$(pgtls "$leader" verify-full)"
for h in $LAB_HOSTS; do
	check_eq "psql sslmode=verify-ca through $h's HAProxy: on TLS" t "$(pgtls "$h" verify-ca)"
	if [ "$h" != "$leader" ]; then
		out=$(pgtls "$h" verify-full)
		check "psql verify-full through $h's HAProxy is refused: the certificate names $leader" \
			grep -q 'does not match host name\|server certificate' <<<"$out"
	fi
done
out=$(pgtls pg1 disable)
check "psql without TLS (sslmode=disable) is refused by pg_hba: $(head -1 <<<"$out" | cut -c1-100)" \
	grep -q 'no pg_hba.conf entry' <<<"$out"
out=$(pgtls pg1 verify-ca "$oca/ca.crt")
check "psql verify-ca trusting another CA refuses the server: $(head -1 <<<"$out" | cut -c1-120)" \
	grep -q 'certificate verify failed' <<<"$out"

# ---- HAProxy's stats page: https, and its password ------------------------------
STATS_PW=$(tr -d '\n' <"$STORE/haproxy_stats")
for h in $LAB_HOSTS; do
	u=$(lab_url "$h" 8404 /stats)
	check_eq "stats page on $h: 401 without the password" 401 \
		"$(lab_curl -s -m 5 -o /dev/null -w '%{http_code}' "$u")"
	check_eq "stats page on $h: 200 with it" 200 \
		"$(printf 'user = "haprov:%s"\n' "$STATS_PW" |
			lab_curl -s -m 5 -K - -o /dev/null -w '%{http_code}' "$u")"
	c=$(code "http://$(lab_ip "$h"):8404/stats")
	case $c in
	2*) not_ok "stats page on $h served over plain http: $c" ;;
	*) ok "stats page on $h: no plain http ($c)" ;;
	esac
done

# ---- haprov's own verification runs the same checks, and finds nothing to do ----
"$HAPROV" apply "$INV" --json >"$T_TMP/apply.json" 2>"$T_TMP/apply.err"
rc=$?
check_eq "a no-op apply exits 0" 0 "$rc"
for s in "verify etcd: TLS" "verify patroni: REST API on https only" \
	"verify haproxy: stats page on https" "verify postgresql: replication connections on TLS" \
	"verify postgresql: a client through haproxy"; do
	check_eq "apply ran '$s...': ok" ok \
		"$(jq -r --arg s "$s" '[.results[] | select(.step | startswith($s)) | .status] | unique | join(",")' "$T_TMP/apply.json")"
done
"$HAPROV" plan "$INV" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
rc=$?
[ "$rc" = 0 ] || cat "$T_TMP/plan.out" "$T_TMP/plan.err"
check_eq "plan reports no change" 0 "$rc"
finish
