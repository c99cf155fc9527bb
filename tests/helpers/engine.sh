#!/bin/sh
# engine.sh: the real inference engine of tests/e2e/engine.bats.
#
#   engine.sh check      node (20 or later) and npm are there; says what
#                        is missing otherwise (exit 1)
#   engine.sh install    install node-llama-cpp once into the cache
#                        directory (outside the repository) and print that
#                        directory; later calls reuse it (exit 1 on failure)
#   engine.sh dir        print the cache directory
#
# The directory is $WF_ENGINE_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/
# wf-tests/engine.  The install is
#   npm install --omit=optional --ignore-scripts node-llama-cpp@3.22.1 \
#       @node-llama-cpp/linux-x64@3.22.1
# (the prebuilt CPU binaries: nothing is built or downloaded at run time;
# --ignore-scripts skips node-llama-cpp's postinstall, which would try to
# build llama.cpp when its prebuilt binary does not load).  It is made in a
# directory beside the cache and renamed into place whole, under a lock, so
# that a half-done install is never taken for a done one.  How long it took
# goes to stderr.
set -eu

VERSION=3.22.1
NODE_MIN=20

dir() {
	if [ -n "${WF_ENGINE_DIR:-}" ]; then
		echo "$WF_ENGINE_DIR"
	else
		echo "${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/wf-tests/engine"
	fi
}

check() {
	if ! command -v node >/dev/null 2>&1; then
		echo "engine: node is not installed: the engine test needs Node.js $NODE_MIN or later and npm (node-llama-cpp $VERSION)" >&2
		return 1
	fi
	v=$(node -p 'process.versions.node' 2>/dev/null) || v=
	major=${v%%.*}
	case $major in
	'' | *[!0-9]*)
		echo "engine: cannot read node's version ('$v')" >&2
		return 1
		;;
	esac
	if [ "$major" -lt "$NODE_MIN" ]; then
		echo "engine: node $v is too old: node-llama-cpp $VERSION needs Node.js $NODE_MIN or later (Debian 12's own nodejs is 18)" >&2
		return 1
	fi
	if ! command -v npm >/dev/null 2>&1; then
		echo "engine: npm is not installed: the engine test installs node-llama-cpp $VERSION with it" >&2
		return 1
	fi
}

installed() {
	[ -f "$1/.installed" ] &&
		[ "$(cat "$1/.installed")" = "node-llama-cpp@$VERSION" ] &&
		[ -f "$1/node_modules/node-llama-cpp/package.json" ] &&
		[ -f "$1/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/llama-addon.node" ]
}

install() {
	d=$(dir)
	check
	if installed "$d"; then
		echo "$d"
		return 0
	fi
	mkdir -p "$(dirname "$d")"
	# one install at a time; a second caller waits and reuses it
	exec 9>"$d.lock"
	if ! flock -w 600 9; then
		echo "engine: $d.lock: waited 600 s for another install" >&2
		return 1
	fi
	if installed "$d"; then
		echo "$d"
		return 0
	fi
	tmp="$d.tmp.$$"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	printf '{"name":"wf-tests-engine","private":true}\n' >"$tmp/package.json"
	t0=$(date +%s)
	if ! (cd "$tmp" && npm install --omit=optional --ignore-scripts \
	    --no-audit --no-fund --loglevel=error \
	    "node-llama-cpp@$VERSION" "@node-llama-cpp/linux-x64@$VERSION") \
	    >"$tmp.log" 2>&1; then
		echo "engine: npm install node-llama-cpp@$VERSION failed:" >&2
		cat "$tmp.log" >&2
		rm -rf "$tmp"
		return 1
	fi
	echo "node-llama-cpp@$VERSION" >"$tmp/.installed"
	rm -rf "$d"
	mv "$tmp" "$d"
	rm -f "$tmp.log"
	echo "engine: installed node-llama-cpp@$VERSION into $d in $(($(date +%s) - t0)) s" >&2
	echo "$d"
}

case ${1:-} in
check) check ;;
install) install ;;
dir) dir ;;
*)
	echo "usage: engine.sh check|install|dir" >&2
	exit 64
	;;
esac
