#!/usr/bin/env bash
# Issue 8, phase 4 (secrets), roles and databases: on bare hosts, a fresh
# apply of the lab inventory with a second login role (`reporting`) and
# log_statement = all creates the roles and appdb owned by app, judged by
# psql; app logs in through HAProxy's primary port with the store's
# password; a second apply changes nothing and commits nothing; and
# PostgreSQL's log on the members, which holds every statement, holds no
# value of the secret store (haprov sends SCRAM verifiers, never passwords).
# Then the lab inventory again: reporting is reported and left alone.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

T0=$(lab_now)
t=$(lab_now)
lab_reset
rc=$?
check_eq "the lab is reset to bare hosts ($(lab_elapsed "$t")s)" 0 "$rc"
rm -rf "$STATE" "$STORE" "$STATE.lock"

inv=$(inv_variant secrets \
	"s/^    retry_timeout: 10.*/    retry_timeout: 10\n    parameters:\n      log_statement: all/" \
	"s/^      databases: \[appdb\].*/      databases: [appdb]\n    - name: reporting/")
grep -A8 '^secrets:' "$inv"

# ---- fresh apply ---------------------------------------------------------------
t=$(lab_now)
"$HAPROV" apply "$inv" --json >"$T_TMP/apply1.json" 2>"$T_TMP/apply1.log"
rc=$?
echo "fresh apply: exit $rc in $(lab_elapsed "$t")s"
grep -E 'phase secrets|secrets|role |verify secrets|failed' "$T_TMP/apply1.log" | tail -n 15
check_eq "the fresh apply exits 0" 0 "$rc"
check_eq "the secrets phase verified roles, logins and REST auth" "ok ok ok" \
	"$(jq -r '[.results[] | select(.step | startswith("verify secrets")) | .status] | join(" ")' "$T_TMP/apply1.json")"

check_eq "roles app and reporting exist with login (psql as postgres)" "app|t reporting|t" \
	"$(psql_lab 5000 "select rolname, rolcanlogin from pg_roles where rolname in ('app', 'reporting') order by 1" 2>&1 | tr '\n' ' ' | sed 's/ $//')"
check_eq "appdb is owned by app" "appdb|app" \
	"$(psql_lab 5000 "select datname, pg_get_userbyid(datdba) from pg_database where datname = 'appdb'" 2>&1)"
check_eq "their passwords are SCRAM-SHA-256 verifiers" "2" \
	"$(psql_lab 5000 "select count(*) from pg_authid where rolname in ('app', 'reporting') and rolpassword like 'SCRAM-SHA-256\$4096:%'" 2>&1)"
for f in role-app role-reporting; do
	check "the store holds $f, mode 0600" test "$(stat -c %a "$STORE/$f" 2>&1)" = 600
done

# app through HAProxy's primary port, with the store's password (in the
# environment, never in argv)
app_login() {
	PGPASSWORD=$(tr -d '\n' <"$STORE/role-app") PGCONNECT_TIMEOUT=5 psql -X -q -At \
		-h "$(lab_ip pg1)" -p 5000 -U app -d appdb \
		-c "select current_user, current_database(), pg_is_in_recovery()"
}
check_eq "app logs in through pg1:5000 to appdb with the store's password" "app|appdb|f" \
	"$(app_login 2>&1)"
check_eq "app with a wrong password is refused" "refused" \
	"$(PGPASSWORD=not-the-password PGCONNECT_TIMEOUT=5 psql -X -q -At -h "$(lab_ip pg1)" \
		-p 5000 -U app -d appdb -c 'select 1' >/dev/null 2>&1 && echo accepted || echo refused)"

# ---- a second apply changes nothing ------------------------------------------------
head0=$(state_head)
t=$(lab_now)
"$HAPROV" apply "$inv" --json >"$T_TMP/apply2.json" 2>"$T_TMP/apply2.log"
rc=$?
echo "second apply: exit $rc in $(lab_elapsed "$t")s"
check_eq "the second apply exits 0" 0 "$rc"
check_eq "every step ok, none changed" 0 \
	"$(jq '[.results[] | select(.status != "ok")] | length' "$T_TMP/apply2.json")"
check_eq "the secrets phase ran its role steps, all ok" "ok ok" \
	"$(jq -r '[.results[] | select(.phase == "secrets" and (.step == "role app" or .step == "role reporting")) | .status] | join(" ")' "$T_TMP/apply2.json")"
check_eq "no new commit in the state repository" "$head0" "$(state_head)"
"$HAPROV" plan "$inv" >"$T_TMP/plan.out" 2>"$T_TMP/plan.err"
rc=$?
check_eq "plan exits 0 on the converged cluster" 0 "$rc"

# ---- no password in PostgreSQL's log -------------------------------------------------
# every statement is logged (log_statement = all): PostgreSQL writes to
# stderr, which Patroni's unit sends to the journal; files too, if any
pg_logs='{ journalctl -u patroni --no-pager -o cat 2>/dev/null
	find /var/log/postgresql /var/lib/postgresql/15/main/log -type f -exec cat {} + 2>/dev/null; }'
logged=0
for h in $LAB_HOSTS; do
	n=$(lab_ssh "$h" "$pg_logs | grep -c 'statement: .*ROLE \"app\" .*SCRAM-SHA-256'")
	logged=$((logged + ${n:-0}))
done
check "the role statements are in PostgreSQL's log ($logged), with the verifier only" test "$logged" -ge 1
# one value a line (a secret file may lack its newline), no empty line
# (an empty pattern matches everything)
store_values() {
	local f
	for f in "$@"; do
		tr -d '\n' <"$f"
		echo
	done | sed '/^$/d'
}
leaks=""
for h in $LAB_HOSTS; do
	# the values go on stdin, into a 0600 file on the host, never in argv
	n=$(store_values "$STORE"/* | lab_ssh "$h" "umask 077; p=\$(mktemp); cat >\"\$p\"; $pg_logs | grep -cF -f \"\$p\"; rm -f \"\$p\"")
	[ "${n:-0}" != 0 ] && leaks="$leaks $h:$n"
done
check_eq "no value of the secret store ($(find "$STORE" -type f -printf '%f ' | sed 's/ $//')) is in PostgreSQL's log" "" "$leaks"
if [ -n "$leaks" ]; then
	for f in "$STORE"/*; do
		for h in $LAB_HOSTS; do
			n=$(lab_ssh "$h" "umask 077; p=\$(mktemp); cat >\"\$p\"; $pg_logs | grep -cF -f \"\$p\"; rm -f \"\$p\"" < <(store_values "$f"))
			[ "${n:-0}" != 0 ] && echo "    $(basename "$f") found $n times on $h"
		done
	done
fi

# the lab inventory's own settings back (log_statement off); the extra
# role is reported and left alone
restore_lab
check "the apply without reporting says: not in the inventory, left alone" \
	grep -qE 'role reporting .*not in the inventory: left alone' "$T_TMP/restore.log"
check_eq "reporting is not dropped" "reporting|t" \
	"$(psql_lab 5000 "select rolname, rolcanlogin from pg_roles where rolname = 'reporting'" 2>&1)"
echo "42-secrets-phase: total $(lab_elapsed "$T0")s"
finish
