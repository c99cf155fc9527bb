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
	stop_daemons
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
	# every end in the audit trail, once (held back too, on the tmpfs)
	wait_until 10 grep -q . "$WF_HOME/log/audit.jsonl"
	[ "$(jq -s '[.[] | select(.action == "job.completed")] | length' "$WF_HOME/log/audit.jsonl")" -eq 6 ]
	[ "$(jq -s '[.[] | select(.action == "job.completed") | .entity_id] | unique | length' "$WF_HOME/log/audit.jsonl")" -eq 6 ]
}

# daemon PROG: start wf-gate or wf-notify on the small disk (through the
# shim where there is no tmpfs), log in $BATS_TEST_TMPDIR/PROG.log
daemon() {
	local log="$BATS_TEST_TMPDIR/$1.log" pid
	if [ -n "$SHIM" ]; then
		LD_PRELOAD=$SHIM WF_ENOSPC_WHILE="$BATS_TEST_TMPDIR/full" \
		    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		    "$B/$1" -v >>"$log" 2>&1 3>&- &
	else
		"$B/$1" -v >>"$log" 2>&1 3>&- &
	fi
	pid=$!
	DPIDS="${DPIDS:-} $pid"
	wait_until "$(slow 10)" grep -q 'ready:' "$log"
	echo "$pid" >"$BATS_TEST_TMPDIR/$1.pid"
}
got() { [ "$(wc -l <"$BATS_TEST_TMPDIR/out.jsonl")" -ge "$1" ]; }
stop_daemons() {
	local p
	for p in ${DPIDS:-}; do
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	DPIDS=
}

@test "the disk is full when a report comes: wf-gate leaves it in reports/new, and applies it once there is room, with no restart" {
	small_disk
	mkdir -p "$BATS_TEST_TMPDIR/proj"
	proj=$("$B/wf" project create --name p --repo-path "$BATS_TEST_TMPDIR/proj")
	rid=$("$B/wf" run create --project-id "$proj")
	printf '{"run_id":%s,"role":"pm","status":"pass","summary":"spec"}\n' "$rid" \
	    >"$WF_HOME/reports/tmp/r1"
	daemon wf-gate
	pid=$(<"$BATS_TEST_TMPDIR/wf-gate.pid")
	fill
	mv "$WF_HOME/reports/tmp/r1" "$WF_HOME/reports/new/1796000000.M1P1.r1"
	sleep 2
	[ "$(jq -r .state "$WF_HOME/state/runs/$rid.json")" = PM ]
	[ -e "$WF_HOME/reports/new/1796000000.M1P1.r1" ]
	[ "$(count corrupt)" -eq 0 ]
	[ "$(grep -c 'reports wait in reports/new' "$BATS_TEST_TMPDIR/wf-gate.log")" -eq 1 ]
	unfill
	wait_until "$(slow 20)" grep -q '"state":"DEV"' "$WF_HOME/state/runs/$rid.json"
	wait_until 10 test -e "$WF_HOME/reports/cur/1796000000.M1P1.r1"
	alive "$pid"
	grep -q 'reports are filed again' "$BATS_TEST_TMPDIR/wf-gate.log"
	[ "$(count corrupt)" -eq 0 ]
	# DEV's job, once
	[ "$(cat "$WF_HOME"/queue/*/new/* | jq -s '[.[] | select(.request_data.role == "dev")] | length')" -eq 1 ]
	stop_daemons
}

@test "the disk is full when events come: wf-notify leaves them in events/new, and delivers each once there is room, with no restart" {
	small_disk
	R=$BATS_TEST_TMPDIR
	echo s3cret-s3cret-s3cret >"$R/secret"
	: >"$R/out.jsonl"
	echo 200 >"$R/mode"
	"$PY" "$BATS_TEST_DIRNAME/../helpers/webhook_recv.py" "$R/secret" \
	    "$R/out.jsonl" "$R/mode" >"$R/port" 2>"$R/recv.err" &
	DPIDS="$!"
	wait_until 10 test -s "$R/port"
	"$B/wf" webhook create --name h --url "http://127.0.0.1:$(<"$R/port")/hook" \
	    --events 'run.*' --secret-file "$R/secret" >/dev/null
	for i in 1 2 3 4 5; do
		printf '{"event":"run.state_changed","timestamp":"2026-01-01T00:00:00.000Z","payload":{"run_id":%d}}' \
		    "$i" >"$WF_HOME/events/tmp/e$i"
	done
	daemon wf-notify
	pid=$(<"$R/wf-notify.pid")
	fill
	for i in 1 2 3 4 5; do
		mv "$WF_HOME/events/tmp/e$i" "$WF_HOME/events/new/179600000$i.M1P1.e$i"
	done
	sleep 2
	[ "$(wc -l <"$R/out.jsonl")" -eq 0 ]
	[ "$(count events/new)" -eq 5 ]
	[ "$(grep -c 'events wait in events/new' "$R/wf-notify.log")" -eq 1 ]
	unfill
	wait_until "$(slow 20)" got 5
	sleep 0.5
	[ "$(jq -s '[.[] | .body | fromjson | .payload.run_id] | sort | tostring' "$R/out.jsonl")" = '"[1,2,3,4,5]"' ]
	alive "$pid"
	grep -q 'events are taken again' "$R/wf-notify.log"
	[ "$(count events/new)" -eq 0 ]
	stop_daemons
}
