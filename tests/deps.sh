#!/bin/sh
# Install every build and test dependency with apt-get. Idempotent and quiet
# when everything is there: only missing packages are installed, and the
# package lists are refreshed only when something must be installed.
set -eu
PKGS="gcc make pkg-config libc6-dev
libssh2-1-dev libcurl4-openssl-dev libjansson-dev libgit2-dev libyaml-dev
libssl-dev libpq-dev libcmocka-dev
clang-format clang-tidy cppcheck
clang libclang-rt-14-dev
systemd-container debootstrap zstd openssh-client openssh-server
curl jq bc git util-linux iproute2 postgresql-client procps time sudo
python3 python3-psycopg2"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case "$st" in
	ii*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
