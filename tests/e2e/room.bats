#!/usr/bin/env bats
# room: the sandbox wf-dispatch makes ahead for a command job (lib/room.h),
# through the real wf-dispatch and bubblewrap:
#  - after a sandboxed command job starts, a room with its options waits
#    (bwrap running `wf-agent --room`); the next job with those options runs
#    in it, with its own argv, environment, exit status and output, and a
#    /tmp of its own: a room serves one job;
#  - a job with other options never lands in it; the old room goes;
#  - a job in a room is timed out and cancelled with all it forked;
#  - prestart = off makes none; a room that cannot be made is said once,
#    and the jobs run all the same;
#  - the dispatcher stops at once with a room waiting, and leaves none.

load helpers

setup() {
	wf_setup
	RW="$BATS_TEST_TMPDIR/rw"
	RW2="$BATS_TEST_TMPDIR/rw2"
	mkdir -p "$RW" "$RW2"
	LOG="$BATS_TEST_TMPDIR/dispatch.log"
}

teardown() {
	local rc=0
	daemons_ok || rc=1
	stop_dispatch
	kill_strays
	pkill -f 'sleep 3171' 2>/dev/null && { echo "a sleep 3171 was left" >&2; rc=1; }
	sanitizer_check || rc=1
	return $rc
}

# sbjob RW ARGV-JSON [MORE-JOB-FIELDS]: a sandboxed command job, its id
sbjob() {
	printf '{"job_type":"command","max_attempts":1,%s"request_data":{"argv":%s,"cwd":"/","env":{"FOO":"bar"},"sandbox":{"rw":"%s","network":false}}}\n' \
	    "${3:+$3,}" "$2" "$1" | "$B/wf-enqueue"
}

# rooms: the pids of the rooms waiting under our wf-dispatch (its bwrap
# children whose command ends in wf-agent --room)
rooms() {
	local p
	for p in $(pgrep -P "$DISPATCH_PID"); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q 'wf-agent --room $' &&
		    echo "$p"
	done
	return 0
}
nrooms() { rooms | wc -l; }
# rooms_eq N: for wait_until
rooms_eq() { [ "$(nrooms)" -eq "$1" ]; }
no_sleep() { ! pgrep -f 'sleep 3171' >/dev/null; }
room_has() { tr '\0' '\n' <"/proc/$1/cmdline" | grep -qxF -- "$2"; }

# outlog ID: the job's output log
outlog() { cat "$WF_HOME"/output/"$1"*.log; }

@test "the next job with the same sandbox runs in a room made ahead: its own argv, environment, status, output and /tmp; a room serves one job" {
	start_dispatch
	[ "$(nrooms)" -eq 0 ]
	j1=$(sbjob "$RW" '["sh","-c","echo one; echo secret >/tmp/mine; pwd; echo \"$FOO $WF_JOB_ID\"; exit 3"]')
	wait_job "$j1" || true
	[ "$(jq -r .status "$WF_HOME/failed/$j1")" = failed ]
	[ "$(jq -r .exit_code "$WF_HOME/failed/$j1")" = 3 ]
	run outlog "$j1"
	[[ "$output" == *"one"* ]]
	[[ "$output" == *"$RW"* ]]
	[[ "$output" == *"bar $j1"* ]]
	# the first job had no room; one waits now, with its options
	! grep -q "$j1: in the sandbox made ahead" "$LOG"
	wait_until 10 rooms_eq 1
	r1=$(rooms)
	room_has "$r1" "$RW"
	room_has "$r1" --unshare-net

	j2=$(sbjob "$RW" '["sh","-c","test -e /tmp/mine && echo stale || echo fresh; pwd; echo \"$FOO $WF_JOB_ID\"; ls -A /tmp | wc -l"]')
	wait_job "$j2"
	grep -q "$j2: in the sandbox made ahead, pid $r1" "$LOG"
	run outlog "$j2"
	echo "$output"
	[[ "$output" == *"fresh"* ]]
	[[ "$output" != *"stale"* ]]
	[[ "$output" == *"$RW"* ]]
	[[ "$output" == *"bar $j2"* ]]
	[ "$(jq -r .exit_code "$WF_HOME/done/$j2")" = 0 ]
	# the room it ran in is gone with it; a new one waits
	wait_until 10 dead "$r1"
	wait_until 10 rooms_eq 1
	[ "$(rooms)" != "$r1" ]

	# a program that is not there: the job fails with the reason
	j3=$(sbjob "$RW" '["wf-no-such-program"]')
	wait_job "$j3" || true
	grep -q "$j3: in the sandbox made ahead" "$LOG"
	[ "$(jq -r .status "$WF_HOME/failed/$j3")" = failed ]
	outlog "$j3" | grep -q "cannot run 'wf-no-such-program'"
}

@test "a job with other options never lands in the room; the room goes and one with the new options waits" {
	start_dispatch
	j1=$(sbjob "$RW" '["true"]')
	wait_job "$j1"
	wait_until 10 rooms_eq 1
	r1=$(rooms)
	j2=$(sbjob "$RW2" '["sh","-c","pwd"]')
	wait_job "$j2"
	! grep -q "$j2: in the sandbox made ahead" "$LOG"
	outlog "$j2" | grep -qxF "$RW2"
	wait_until 10 dead "$r1"
	wait_until 10 rooms_eq 1
	room_has "$(rooms)" "$RW2"
	# and the next job of rw2 takes it
	j3=$(sbjob "$RW2" '["true"]')
	wait_job "$j3"
	grep -q "$j3: in the sandbox made ahead" "$LOG"
	# a job with no sandbox leaves the room alone
	r2=$(rooms)
	j4=$(enqueue -- true)
	wait_job "$j4"
	sleep 0.3
	[ "$(rooms)" = "$r2" ]
}

@test "a job in a room times out and is cancelled with everything it forked" {
	start_dispatch
	j1=$(sbjob "$RW" '["true"]')
	wait_job "$j1"
	wait_until 10 rooms_eq 1
	j2=$(sbjob "$RW" '["sh","-c","setsid sleep 3171 & sleep 3171"]' '"timeout":1')
	run wait_job "$j2"
	grep -q "$j2: in the sandbox made ahead" "$LOG"
	[ "$(jq -r .status "$WF_HOME/failed/$j2")" = timeout ]
	wait_until 10 no_sleep

	wait_until 10 rooms_eq 1
	j3=$(sbjob "$RW" '["sh","-c","setsid sleep 3171 & sleep 3171"]')
	wait_until 10 grep -q "$j3: in the sandbox made ahead" "$LOG"
	wait_until 10 pgrep -f 'sleep 3171' 
	"$B/wf" queue cancel "$j3" >/dev/null
	wait_until 10 test -e "$WF_HOME/cancelled/$j3"
	wait_until 10 no_sleep
}

@test "prestart = off makes no room; a room that cannot be made is said once, and the jobs run all the same" {
	wf_config '[sandbox]' 'prestart = off'
	start_dispatch
	for i in 1 2 3; do
		j=$(sbjob "$RW" '["true"]')
		wait_job "$j"
	done
	sleep 0.3
	[ "$(nrooms)" -eq 0 ]
	! grep -q "in the sandbox made ahead" "$LOG"
	stop_dispatch

	# a bwrap that makes every room but the ones made ahead
	cat >"$BATS_TEST_TMPDIR/bwrap" <<-EOF
	#!/bin/sh
	for a; do last=\$a; done
	[ "\$last" = --room ] && { echo "no room here" >&2; exit 1; }
	exec $(command -v bwrap) "\$@"
	EOF
	chmod +x "$BATS_TEST_TMPDIR/bwrap"
	wf_config '[sandbox]' "bwrap = $BATS_TEST_TMPDIR/bwrap"
	start_dispatch
	for i in 1 2 3 4 5; do
		j=$(sbjob "$RW" '["sh","-c","echo ran"]')
		wait_job "$j"
		outlog "$j" | grep -qx ran
	done
	[ "$(grep -c 'the sandbox made ahead on lane command ended before its job: no room here; making them per job for 5 s' "$LOG")" -eq 1 ]
	! grep -q "in the sandbox made ahead" "$LOG"
}

@test "wf-dispatch stops at once with a room waiting, and leaves none" {
	start_dispatch
	j1=$(sbjob "$RW" '["true"]')
	wait_job "$j1"
	wait_until 10 rooms_eq 1
	r1=$(rooms)
	t0=$(now_ms)
	kill -TERM "$DISPATCH_PID"
	wait_until 10 dead "$DISPATCH_PID"
	[ $(($(now_ms) - t0)) -lt "$(slow 3)000" ]
	# the room, its stub and all (bwrap --die-with-parent)
	wait_until 10 dead "$r1"
	DISPATCH_PID=
}
