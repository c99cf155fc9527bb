# helpers.bash: shared set-up for the end-to-end tests.  Each test gets a
# fresh $WF_HOME under bats' temporary directory and its own config; the
# real daemons run against it and are stopped in teardown.

B=${WF_BIN:-$BATS_TEST_DIRNAME/../../bin}
B=$(cd "$B" && pwd)
export WF_BINDIR=$B

wf_setup() {
	export WF_HOME="$BATS_TEST_TMPDIR/home"
	export WF_CONFIG="$BATS_TEST_TMPDIR/wf.ini"
	: >"$WF_CONFIG"
	"$B/wf" init >/dev/null
	DISPATCH_PID=
}

# wf_config TEXT: the test's wf.ini
wf_config() {
	printf '%s\n' "$@" >"$WF_CONFIG"
}

# start_dispatch: run wf-dispatch in the background, wait until it is ready.
start_dispatch() {
	"$B/wf-dispatch" -v 2>>"$BATS_TEST_TMPDIR/dispatch.log" &
	DISPATCH_PID=$!
	for _ in $(seq 1 200); do
		grep -q 'ready:' "$BATS_TEST_TMPDIR/dispatch.log" 2>/dev/null && return 0
		sleep 0.02
	done
	echo "wf-dispatch did not start" >&2
	cat "$BATS_TEST_TMPDIR/dispatch.log" >&2
	return 1
}

stop_dispatch() {
	[ -n "$DISPATCH_PID" ] || return 0
	kill "$DISPATCH_PID" 2>/dev/null || true
	wait "$DISPATCH_PID" 2>/dev/null || true
	DISPATCH_PID=
}

wf_teardown() {
	stop_dispatch
	# Nothing a test started may outlive it.
	pkill -KILL -f "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# count DIR: files in a spool directory
count() {
	find "$WF_HOME/$1" -maxdepth 1 -type f | wc -l
}
