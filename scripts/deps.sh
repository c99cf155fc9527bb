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
# The real-engine test serves a model with node-llama-cpp, which needs
# Node.js 20 or later (Debian 12's own is 18); it comes from the npm
# registry when the test first runs.  Say so now rather than later.
if ! node -e 'process.exit(parseInt(process.versions.node, 10) < 20 ? 1 : 0)' \
    2>/dev/null; then
	echo "deps: Node.js >= 20 is not installed: tests/e2e/engine.bats" \
	    "will fail (install nodejs 20 from NodeSource or the like)" >&2
fi
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
