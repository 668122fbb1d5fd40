#!/usr/bin/env bash
# The SSH transport (provisioner/ssh.c) against a real sshd that this script
# starts privately on 127.0.0.1 with its own host keys, authorized_keys and
# config, and stops (that PID only) at the end. Needs no lab: it touches no
# other host and no system-wide sshd. Builds tests/integration/ssh_probe.c
# with ssh.c and its dependencies, then checks host key handling (unknown,
# accept-new, a plan that must write nothing, changed, revoked, hashed and
# "name,address" entries, key type preference), authentication (key file, wrong key, ssh-agent) and the
# transport ops (exec, stdin, stdout/stderr, timeouts, put/get).
# Prints "ok - ..." / "not ok - ..." and ends with "N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
# shellcheck source=tests/integration/tap.sh
. tests/integration/tap.sh

need_sshd
for tool in ssh-keygen ssh-agent ssh-add ssh pkg-config cc; do
	command -v $tool >/dev/null || { notok "$tool is missing"; finish; }
done

T=$(mktemp -d /tmp/haprov-ssh-test.XXXXXX)
SSHD_PID=
AGENT_PID=
SILENT_PID=
cleanup() {
	# only the processes this script started, by PID
	for pid in $SSHD_PID $AGENT_PID $SILENT_PID; do
		kill "$pid" 2>/dev/null
	done
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- build the probe -------------------------------------------------------
# The sources are compiled here with the Makefile's warnings, so this test
# does not depend on the state of the rest of the build.
CFLAGS="-std=c17 -g -O1 -Wall -Wextra -Wpedantic -Wshadow -Wformat=2
 -Wconversion -Wno-sign-conversion -Wstrict-prototypes -Wmissing-prototypes
 -Wold-style-definition -Wpointer-arith -Wwrite-strings -Wvla -Wcast-qual
 -Wundef -Wimplicit-fallthrough -fno-common -Werror -D_GNU_SOURCE
 -Iprovisioner $(pkg-config --cflags libssh2 libcrypto)"
# SANITIZE=address,undefined runs ssh.c under the sanitizers, as make does
if [ -n "${SANITIZE:-}" ]; then
	CFLAGS="$CFLAGS -fsanitize=$SANITIZE -fno-sanitize-recover=all"
fi
PROBE=$T/ssh_probe
# shellcheck disable=SC2086
if cc $CFLAGS -o "$PROBE" tests/integration/ssh_probe.c provisioner/ssh.c \
	provisioner/ssh_channel.c provisioner/knownhosts.c provisioner/shell.c \
	provisioner/tcp.c provisioner/transport.c provisioner/util.c \
	$(pkg-config --libs libssh2 libcrypto) 2>"$T/build.log"; then
	ok "ssh_probe builds with -Werror"
else
	cat "$T/build.log"
	notok "ssh_probe builds with -Werror"
	finish
fi

# which host key algorithms this libssh2 has (rsa-sha2-* only from 1.11)
cat >"$T/algs.c" <<'EOF'
#include <stdio.h>
#include <libssh2.h>
int main(void)
{
	const char **a;
	int i, n;

	libssh2_init(0);
	n = libssh2_session_supported_algs(libssh2_session_init(),
					   LIBSSH2_METHOD_HOSTKEY, &a);
	for (i = 0; i < n; i++)
		puts(a[i]);
	return 0;
}
EOF
# shellcheck disable=SC2046
cc -o "$T/algs" "$T/algs.c" $(pkg-config --cflags --libs libssh2) || {
	notok "build the libssh2 algorithm lister"
	finish
}

# ---- keys and sshd ---------------------------------------------------------
kg() { ssh-keygen -q -N '' -C haprov-test "$@" </dev/null >/dev/null; }
kg -t ed25519 -f "$T/host_ed25519"
kg -t ecdsa -b 256 -f "$T/host_ecdsa"
kg -t rsa -b 2048 -f "$T/host_rsa"
kg -t ed25519 -f "$T/other_ed25519"   # "changed" host keys
kg -t ecdsa -b 256 -f "$T/other_ecdsa"
kg -t ed25519 -f "$T/client"
kg -t ed25519 -f "$T/wrong"
cp "$T/client.pub" "$T/authorized_keys"
mkdir -p /run/sshd

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
PORT=
for _ in $(seq 1 50); do
	p=$((20000 + RANDOM % 40000))
	if port_free "$p"; then PORT=$p; break; fi
done
[ -n "$PORT" ] || { notok "no free port found"; finish; }

cat >"$T/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $T/host_ed25519
HostKey $T/host_ecdsa
HostKey $T/host_rsa
PidFile $T/sshd.pid
AuthorizedKeysFile $T/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxStartups 100
MaxSessions 20
LogLevel VERBOSE
EOF
/usr/sbin/sshd -D -f "$T/sshd_config" -E "$T/sshd.log" &
SSHD_PID=$!
for _ in $(seq 1 50); do
	port_free "$PORT" || break
	sleep 0.1
done
if port_free "$PORT"; then
	cat "$T/sshd.log"
	notok "sshd listens on 127.0.0.1:$PORT"
	finish
fi
ok "sshd listens on 127.0.0.1:$PORT (pid $SSHD_PID)"

HOSTNAME_KH="[127.0.0.1]:$PORT"
keyline() { echo "$HOSTNAME_KH $(cut -d' ' -f1,2 "$1")"; }
# the SHA256 fingerprint, escaped for grep -E (base64 has + and /)
fp() { ssh-keygen -lf "$1" | cut -d' ' -f2 | sed 's/[+.]/\\&/g'; }
probe() { "$PROBE" -a 127.0.0.1 -p "$PORT" -u root "$@"; }
OUT=$T/out

# run the probe; check its exit status and that its output matches a regex
# expect DESCRIPTION STATUS REGEX PROBE-ARGS...
expect() {
	local what=$1 want=$2 re=$3 rc
	shift 3
	probe "$@" >"$OUT" 2>&1
	rc=$?
	if [ "$rc" -eq "$want" ] && grep -Eq -- "$re" "$OUT"; then
		ok "$what"
	else
		notok "$what (exit $rc, wanted $want)"
		sed 's/^/#   /' "$OUT"
	fi
}

# ---- host keys ---------------------------------------------------------------
keyline "$T/host_ed25519.pub" >"$T/kh_good"
expect "connect with the host's ed25519 key in known_hosts" 0 '^connected$' \
	-i "$T/client" -k "$T/kh_good" connect

: >"$T/kh_empty"
expect "unknown host key refused (HP_EHOSTKEY) with its SHA256 fingerprint" \
	6 "not known: ED25519 key fingerprint is $(fp "$T/host_ed25519.pub");.*--accept-new-host-keys" \
	-i "$T/client" -k "$T/kh_empty" connect
check "a refused key is not written to known_hosts" test ! -s "$T/kh_empty"
expect "the error names the host (err->host)" 6 'host=testhost:' \
	-i "$T/client" -k "$T/kh_empty" connect

KH_NEW=$T/newdir/known_hosts
expect "accept-new adds an unknown key and connects" 0 '^connected$' \
	-A -i "$T/client" -k "$KH_NEW" connect
check "accept-new wrote one '[127.0.0.1]:$PORT ssh-ed25519' line" \
	grep -qxF "$(keyline "$T/host_ed25519.pub")" "$KH_NEW"
check "accept-new created known_hosts 0600 in a 0700 directory" \
	test "$(stat -c %a "$KH_NEW") $(stat -c %a "$T/newdir")" = "600 700"
expect "the accepted key is then known (no -A)" 0 '^connected$' \
	-i "$T/client" -k "$KH_NEW" connect
check "OpenSSH's ssh accepts the known_hosts line we wrote" \
	ssh -q -o BatchMode=yes -o StrictHostKeyChecking=yes \
	-o UserKnownHostsFile="$KH_NEW" -o GlobalKnownHostsFile=/dev/null \
	-o IdentitiesOnly=yes -o IdentityAgent=none \
	-i "$T/client" -p "$PORT" root@127.0.0.1 true
check "a second accept-new run adds nothing" bash -c \
	"'$PROBE' -a 127.0.0.1 -p $PORT -i '$T/client' -k '$KH_NEW' -A connect >/dev/null && [ \$(wc -l <'$KH_NEW') -eq 1 ]"

# plan (-P, read only) writes nothing, not even with accept-new: the key
# is trusted for that one run, and apply must accept it again
KH_PLAN=$T/plandir/known_hosts
expect "plan with accept-new: an unknown key is accepted for this run only" \
	0 '^connected$' -P -A -i "$T/client" -k "$KH_PLAN" connect
check "... and it says the key would be added, with its fingerprint" \
	grep -Eq "would add ED25519 key $(fp "$T/host_ed25519.pub") .*not written" "$OUT"
check "plan with accept-new creates neither known_hosts nor its directory" \
	test ! -e "$T/plandir"
{
	echo "# the operator's own layout"
	echo ""
	printf 'other.example %s' "$(cut -d' ' -f1,2 "$T/other_ed25519.pub")"
} >"$T/kh_plan"
cp -p "$T/kh_plan" "$T/kh_plan.orig"
expect "plan with accept-new and an existing known_hosts connects" 0 \
	'^connected$' -P -A -i "$T/client" -k "$T/kh_plan" connect
check "known_hosts is byte-identical after a plan with accept-new" \
	cmp -s "$T/kh_plan" "$T/kh_plan.orig"
check "... and its modification time did not change" \
	test "$(stat -c %Y.%s "$T/kh_plan")" = "$(stat -c %Y.%s "$T/kh_plan.orig")"
expect "plan without accept-new still refuses an unknown key" 6 "not known" \
	-P -i "$T/client" -k "$T/kh_plan" connect
expect "the next run (not a plan) with accept-new adds the key" 0 \
	'^connected$' -A -i "$T/client" -k "$T/kh_plan" connect
check "... after the old last line, which stays intact" \
	test "$(sed -n 3p "$T/kh_plan")/$(sed -n 4p "$T/kh_plan")" = \
	"$(sed -n 3p "$T/kh_plan.orig")/$(keyline "$T/host_ed25519.pub")"

printf 'no-newline-at-end ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB' >"$T/kh_nonl"
expect "accept-new appends after a last line without newline" 0 '^connected$' \
	-A -i "$T/client" -k "$T/kh_nonl" connect
check "... and the old line stays intact" \
	test "$(head -1 "$T/kh_nonl")" = "no-newline-at-end ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB"

keyline "$T/other_ed25519.pub" >"$T/kh_changed"
cp "$T/kh_changed" "$T/kh_changed.orig"
expect "changed host key refused (HP_EHOSTKEY, CHANGED, fingerprint)" 6 \
	"host key for 'testhost' \\(\\[127\\.0\\.0\\.1\\]:$PORT\\) has CHANGED.*$(fp "$T/host_ed25519.pub")" \
	-i "$T/client" -k "$T/kh_changed" connect
expect "changed host key refused even with accept-new" 6 "has CHANGED" \
	-A -i "$T/client" -k "$T/kh_changed" connect
expect "changed host key refused in a plan with accept-new" 6 "has CHANGED" \
	-P -A -i "$T/client" -k "$T/kh_changed" connect
check "known_hosts is untouched after a changed key" \
	cmp -s "$T/kh_changed" "$T/kh_changed.orig"

keyline "$T/other_ecdsa.pub" >"$T/kh_other_type"
expect "host known only by a different ECDSA key: CHANGED, even with accept-new" \
	6 "has CHANGED" -A -i "$T/client" -k "$T/kh_other_type" connect

keyline "$T/host_ecdsa.pub" >"$T/kh_ecdsa"
expect "known_hosts with only the ECDSA key: that type is negotiated" 0 \
	'^connected$' -i "$T/client" -k "$T/kh_ecdsa" connect
keyline "$T/host_rsa.pub" >"$T/kh_rsa"
# libssh2 1.10 verifies RSA host keys only with ssh-rsa (SHA-1), which
# OpenSSH >= 8.8 no longer offers; 1.11 has rsa-sha2-256/512
expect "known_hosts with only an RSA key: connects, or says it cannot verify RSA" \
	"$(if "$T/algs" | grep -q rsa-sha2; then echo 0; else echo 6; fi)" \
	'^connected$|only RSA keys for it, which this libssh2 cannot check' \
	-A -i "$T/client" -k "$T/kh_rsa" connect

echo "myhost,$HOSTNAME_KH $(cut -d' ' -f1,2 "$T/host_ed25519.pub")" >"$T/kh_multi"
expect "a 'name,[address]:port' entry matches" 0 '^connected$' \
	-i "$T/client" -k "$T/kh_multi" connect

cp "$T/kh_good" "$T/kh_hashed"
ssh-keygen -q -H -f "$T/kh_hashed" >/dev/null 2>&1
rm -f "$T/kh_hashed.old"
if grep -q '^|1|' "$T/kh_hashed"; then
	expect "a hashed entry (ssh-keygen -H) matches" 0 '^connected$' \
		-i "$T/client" -k "$T/kh_hashed" connect
else
	notok "ssh-keygen -H hashed the known_hosts file"
fi

echo "127.0.0.1 $(cut -d' ' -f1,2 "$T/host_ed25519.pub")" >"$T/kh_noport"
expect "an entry without the port does not match port $PORT (as OpenSSH)" 6 \
	"not known" -i "$T/client" -k "$T/kh_noport" connect

{
	echo "# a comment"
	echo "@cert-authority *.example.com $(cut -d' ' -f1,2 "$T/other_ed25519.pub")"
	echo "garbage line that is not an entry"
	echo "other.example ssh-unknown-type AAAAB3Nz"
	keyline "$T/host_ed25519.pub"
} >"$T/kh_noisy"
expect "entries after unparsable lines and markers are still read" 0 \
	'^connected$' -i "$T/client" -k "$T/kh_noisy" connect

{
	echo "@revoked * $(cut -d' ' -f1,2 "$T/host_ed25519.pub")"
	keyline "$T/host_ed25519.pub"
} >"$T/kh_revoked"
expect "a key listed under @revoked is refused" 6 "REVOKED" \
	-A -i "$T/client" -k "$T/kh_revoked" connect

# ---- authentication ----------------------------------------------------------
expect "wrong key: HP_ECONNECT naming user@host and the key" 5 \
	"permission denied for root@127.0.0.1:$PORT: key '$T/wrong' was not accepted" \
	-i "$T/wrong" -k "$T/kh_good" connect
expect "missing identity file: HP_EIO naming the file" 4 \
	"cannot read identity file '$T/nonexistent'" \
	-i "$T/nonexistent" -k "$T/kh_good" connect
mv "$T/client.pub" "$T/client.pub.away"
expect "identity file without .pub next to it" 0 '^connected$' \
	-i "$T/client" -k "$T/kh_good" connect
mv "$T/client.pub.away" "$T/client.pub"

expect "no identity file and no ssh-agent: clear error" 5 "ssh-agent" \
	-k "$T/kh_good" connect
eval "$(ssh-agent -s -a "$T/agent.sock")" >/dev/null
AGENT_PID=$SSH_AGENT_PID
ssh-add -q "$T/wrong" 2>/dev/null
expect "ssh-agent holding only a wrong key: permission denied" 5 \
	"permission denied for root@127.0.0.1:$PORT: none of the 1 key" \
	-k "$T/kh_good" connect
ssh-add -q "$T/client" 2>/dev/null
expect "ssh-agent: the second key is accepted" 0 '^connected$' \
	-k "$T/kh_good" connect
kill "$AGENT_PID" 2>/dev/null
AGENT_PID=
unset SSH_AUTH_SOCK SSH_AGENT_PID

# ---- connecting -----------------------------------------------------------------
CLOSED=
for _ in $(seq 1 50); do
	p=$((20000 + RANDOM % 40000))
	if port_free "$p"; then CLOSED=$p; break; fi
done
expect "connection refused: HP_ECONNECT" 5 "cannot connect to root@127.0.0.1:$CLOSED: Connection refused" \
	-p "$CLOSED" -i "$T/client" -k "$T/kh_good" connect

"$PROBE" silent-server "$CLOSED" 10 >"$T/silent.log" 2>&1 &
SILENT_PID=$!
for _ in $(seq 1 50); do
	grep -q listening "$T/silent.log" && break
	sleep 0.1
done
t0=$(date +%s%N)
expect "a server that never answers: HP_ETIMEOUT (connect_timeout_s 1)" 7 \
	"handshake" -p "$CLOSED" -t 1 -i "$T/client" -k "$T/kh_good" connect
ms=$((($(date +%s%N) - t0) / 1000000))
check "... after about a second ($ms ms)" test "$ms" -lt 3000
kill "$SILENT_PID" 2>/dev/null
wait "$SILENT_PID" 2>/dev/null
SILENT_PID=

expect "an unresolvable name: HP_ECONNECT" 5 "cannot resolve 'no-such-host.invalid'" \
	-a no-such-host.invalid -i "$T/client" -k "$T/kh_good" connect

# ---- sudo ----------------------------------------------------------------------
if command -v sudo >/dev/null; then
	expect "sudo: commands run as 'sudo -n /bin/sh -c'" 0 '^0$' \
		-s -i "$T/client" -k "$T/kh_good" exec 'id -u'
else
	# deps.sh installs sudo: a missing prerequisite is a failure, never
	# a pass, or the closing count would claim a test that did not run
	notok "sudo: sudo is not installed (make deps): the sudo path was not tested"
fi

# ---- the transport ops ------------------------------------------------------------
REMOTE_DIR=$T/remote
mkdir -p "$REMOTE_DIR"
probe -i "$T/client" -k "$T/kh_good" suite "$REMOTE_DIR" >"$OUT" 2>&1
rc=$?
cat "$OUT"
PASS=$((PASS + $(grep -c '^ok - ' "$OUT")))
FAIL=$((FAIL + $(grep -c '^not ok - ' "$OUT")))
if [ "$rc" -ne 0 ] && ! grep -q '^not ok - ' "$OUT"; then
	notok "ssh_probe suite exited $rc"
fi

check "sshd is still the process we started" kill -0 "$SSHD_PID"
finish
