#!/usr/bin/env bats
# diskfull: wf-dispatch on a disk that fills while jobs run, then has room
# again, with no restart.  A job's start is said (active/ID.pid) before it
# starts, so that with no room to say it, nothing starts; a finished job
# whose record cannot be written stays in active/, its record kept in
# memory and written once it can be: it never runs again.  The trouble is
# said once, not once a job.  A small tmpfs is the disk where this user
# may mount one; elsewhere the LD_PRELOAD shim of tests/helpers/enospc.c,
# full while a flag file exists.

load helpers

setup() {
	wf_setup
	MNT= SHIM=
	RAN="$BATS_TEST_TMPDIR/ran"
	: >"$RAN"
}

teardown() {
	local rc=0
	daemons_ok || rc=1
	stop_dispatch
	kill_strays
	sanitizer_check || rc=1
	if [ -n "$MNT" ]; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
	fi
	return $rc
}

# small_disk: $WF_HOME on a 2 MiB tmpfs (or the shim)
small_disk() {
	local m="$BATS_TEST_TMPDIR/mnt"
	mkdir -p "$m"
	if [ -z "${WF_TEST_NO_MOUNT:-}" ] &&
	    mount -t tmpfs -o size=2m,mode=0700 tmpfs "$m" 2>/dev/null; then
		MNT=$m
		export WF_HOME="$MNT/home"
		"$B/wf" init >/dev/null
	else
		SHIM="$BATS_TEST_TMPDIR/enospc.so"
		cc -shared -fPIC -o "$SHIM" "$BATS_TEST_DIRNAME/../helpers/enospc.c" -ldl
	fi
}

fill() {
	if [ -n "$MNT" ]; then
		dd if=/dev/zero of="$MNT/fill" bs=4096 2>/dev/null || true
		[ "$(df -k --output=avail "$MNT" | tail -n 1)" -eq 0 ]
	else
		: >"$BATS_TEST_TMPDIR/full"
	fi
}

unfill() {
	if [ -n "$MNT" ]; then
		rm -f "$MNT/fill"
	else
		rm -f "$BATS_TEST_TMPDIR/full"
	fi
}

# dispatch: wf-dispatch on the small disk (through the shim where there
# is no tmpfs)
dispatch() {
	if [ -n "$SHIM" ]; then
		LD_PRELOAD=$SHIM WF_ENOSPC_WHILE="$BATS_TEST_TMPDIR/full" \
		    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		    start_dispatch
	else
		start_dispatch
	fi
}

ndone() { count done; }
# ran_ge N, done_eq N: for wait_until
ran_ge() { [ "$(wc -l <"$RAN")" -ge "$1" ]; }
done_eq() { [ "$(ndone)" -eq "$1" ]; }

@test "the disk fills while jobs run: nothing more starts, their records wait, and once there is room every job ends once, with no restart" {
	small_disk
	wf_config '[queue]' 'max_attempts = 3' 'backoff_base = 1' \
	    '[lane.command]' 'concurrency = 2'
	ids=()
	for i in 1 2 3 4 5 6; do
		ids+=("$(enqueue -- sh -c "echo \$WF_JOB_ID >>'$RAN'; sleep 0.6")")
	done
	dispatch
	# two run; the disk fills under them
	wait_until 10 ran_ge 2
	fill
	sleep 2.5
	# the two that ran finished, but their records could not be written:
	# they wait in active/, and nothing else started
	[ "$(ndone)" -eq 0 ]
	[ "$(wc -l <"$RAN")" -eq 2 ]
	[ "$(grep -c 'cannot write its record' "$BATS_TEST_TMPDIR/dispatch.log")" -eq 1 ]
	[ "$(grep -c 'cannot record its start' "$BATS_TEST_TMPDIR/dispatch.log")" -le 1 ]
	alive "$DISPATCH_PID"
	pid=$DISPATCH_PID

	unfill
	wait_until "$(slow 20)" done_eq 6
	wait_until 10 active_empty
	[ "$DISPATCH_PID" = "$pid" ]
	alive "$pid"
	# each job ran once, and its record says one attempt
	[ "$(wc -l <"$RAN")" -eq 6 ]
	[ "$(sort "$RAN" | uniq -d | wc -l)" -eq 0 ]
	for id in "${ids[@]}"; do
		ended "$id" done
		[ "$(jget "$WF_HOME/done/$id" attempt)" -eq 1 ]
	done
	grep -q 'the records held back are written' "$BATS_TEST_TMPDIR/dispatch.log"
}
