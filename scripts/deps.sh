#!/bin/sh
# deps.sh: install the Debian packages that wf's build and tests need.
# Idempotent: packages already present are not fetched again, and apt's
# index is refreshed only when something is missing.  prometheus is there
# for its promtool (Debian has no package of promtool alone), which
# tests/e2e/metrics.bats checks /metrics with; the server the package
# enables and starts is stopped and disabled again when deps installed it.
set -eu

PKGS="build-essential pkg-config libcjson-dev libinih-dev libcurl4-openssl-dev
libsodium-dev libbsd-dev libexpat1-dev libmicrohttpd-dev libcmocka-dev bats perl python3 git jq
curl systemd mandoc chromium prometheus bubblewrap"

missing=
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
# Node.js and npm, for the real-engine test (tests/e2e/engine.bats), by
# command rather than by package: a Node.js from elsewhere (NodeSource's
# nodejs carries its own npm) is kept as it is.  When the one there is
# older than 20 (Debian 12's is 18), the test gets Node.js 20 from the npm
# registry into its cache on its first run.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && { echo "deps: all installed"; exit 0; }

SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
case " $missing " in
*" prometheus "*)
	if [ -d /run/systemd/system ]; then
		echo "deps: prometheus is here for promtool; its server is" \
		    "disabled (systemctl enable --now prometheus to run it)"
		$SUDO systemctl disable --now prometheus.service || true
	fi
	;;
esac
