# shellcheck shell=bash
# Shared by the tests that need no lab (10-ssh-local, 11-fanout): the
# counters and "ok - ..." / "not ok - ..." lines, and finish, which ends
# with "N passed, N failed" (exit 0 only when nothing failed); and
# need_sshd, which installs openssh-server as root when it is missing.
PASS=0
FAIL=0

ok() {
	PASS=$((PASS + 1))
	echo "ok - $*"
}
notok() {
	FAIL=$((FAIL + 1))
	echo "not ok - $*"
}
# check DESCRIPTION COMMAND...: ok if the command succeeds
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else notok "$what"; fi
}
finish() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
	exit
}
# sshd for a private server on loopback: finish with a failure without it
need_sshd() {
	if [ ! -x /usr/sbin/sshd ] && [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			openssh-server >/dev/null 2>&1
	fi
	if [ ! -x /usr/sbin/sshd ]; then
		notok "openssh-server is not installed (make deps)"
		finish
	fi
}
