#!/usr/bin/env bats
# up: wf up as the supervisor where there is no systemd: it starts
# wf-dispatch (and the other daemons, wf-httpd among them), restarts it
# when it dies (jobs still run), stops everything on SIGTERM and exits 0,
# refuses a bad config with 78, and starts no daemon that already runs on
# its spool (75 when none is left to run).

load helpers

setup() {
	wf_setup
	# wf-httpd on any free port: never the default 8000 of a neighbour
	wf_config '[httpd]' 'listen = 127.0.0.1:0'
	UP_PID=
}

teardown() {
	if [ -n "$UP_PID" ]; then
		kill -TERM "$UP_PID" 2>/dev/null || true
		wait_until 5 gone "$UP_PID" || kill -KILL "$UP_PID" 2>/dev/null || true
		wait "$UP_PID" 2>/dev/null || true
	fi
	wf_teardown
}

# dispatch_child: the pid of wf up's wf-dispatch, if one runs
dispatch_child() {
	local p
	for p in $(pgrep -P "$UP_PID" -x wf-dispatch); do
		alive "$p" && echo "$p"
	done
	return 0
}

# readies N: the up log has at least N "ready:" lines
readies() {
	[ "$(grep -c 'ready:' "$BATS_TEST_TMPDIR/up.log")" -ge "$1" ]
}

# new_child OLD: a wf-dispatch child other than OLD runs
new_child() {
	local p
	p=$(dispatch_child)
	[ -n "$p" ] && [ "$p" != "$1" ]
}

@test "wf up runs wf-dispatch, restarts it after kill -9, and stops it all on SIGTERM" {
	"$B/wf" up >>"$BATS_TEST_TMPDIR/up.log" 2>&1 3>&- &
	UP_PID=$!
	wait_until "$(slow 10)" readies 1
	d1=$(dispatch_child)
	[ -n "$d1" ]
	# wf-httpd is one of the daemons wf up runs
	wait_until "$(slow 10)" grep -q 'wf-httpd: listening on 127.0.0.1:' \
	    "$BATS_TEST_TMPDIR/up.log"
	h=$(pgrep -P "$UP_PID" -x wf-httpd)
	[ -n "$h" ]
	run enqueue_wait -- echo first
	[ "$status" -eq 0 ]

	kill -KILL "$d1"
	wait_until "$(slow 10)" new_child "$d1"
	d2=$(dispatch_child)
	wait_until "$(slow 10)" readies 2
	grep -q 'died' "$BATS_TEST_TMPDIR/up.log"
	alive "$UP_PID"
	run enqueue_wait -- echo second
	[ "$status" -eq 0 ]
	ended "$output" done

	kill -TERM "$UP_PID"
	wait_until "$(slow 15)" gone "$UP_PID"
	rc=0
	wait "$UP_PID" || rc=$?
	UP_PID=
	[ "$rc" -eq 0 ]
	gone "$d2"
	gone "$h"
	[ -z "$(pgrep -x wf-dispatch | while read -r p; do
		grep -lzsaF "WF_HOME=$WF_HOME" "/proc/$p/environ"; done)" ]
}

@test "wf up with a bad config exits 78 and starts nothing" {
	wf_config '[queue]' 'no_such_key = 1'
	run --separate-stderr timeout 10 "$B/wf" up
	[ "$status" -eq 78 ]
	[[ "$stderr" == *"line 2"* ]]
	[ -z "$(strays)" ]
}

@test "one of each daemon per spool: wf up names the daemon it did not start and why; a second wf up exits 75" {
	start_gate
	"$B/wf" up >>"$BATS_TEST_TMPDIR/up.log" 2>&1 3>&- &
	UP_PID=$!
	# wf-dispatch, wf-notify and wf-httpd: ready under wf up
	wait_until "$(slow 10)" readies 3
	grep -q "wf-gate not started: already running on $WF_HOME (pid $GATE_PID)" \
	    "$BATS_TEST_TMPDIR/up.log"
	[ -z "$(pgrep -P "$UP_PID" -x wf-gate)" ]
	d1=$(dispatch_child)
	[ -n "$d1" ]
	run --separate-stderr timeout 10 "$B/wf" up
	[ "$status" -eq 75 ]
	[[ "$stderr" == *"wf-dispatch not started: already running on $WF_HOME (pid $d1)"* ]]
	[[ "$stderr" == *"wf-gate not started: already running on $WF_HOME (pid $GATE_PID)"* ]]
	[[ "$stderr" == *"wf-notify not started: already running"* ]]
	[[ "$stderr" == *"wf-httpd not started: already running"* ]]
	# the first wf up's dispatcher still runs, and is the only one
	alive "$d1"
	[ "$(cat "$WF_HOME/run/wf-dispatch.lock")" = "$d1" ]
	stop_gate
}
