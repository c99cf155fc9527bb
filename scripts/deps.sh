#!/bin/sh
# deps.sh: install the Debian packages that wf's build and tests need.
# Idempotent: packages already present are not fetched again, and apt's
# index is refreshed only when something is missing.
set -eu

PKGS="build-essential pkg-config libcjson-dev libinih-dev libcurl4-openssl-dev
libsodium-dev libbsd-dev libcmocka-dev bats perl python3 git"

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && { echo "deps: all installed"; exit 0; }

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
