#!/usr/bin/env bats
# readers: every reader of a new/ directory takes files alike (lib/spool's
# wf_spool_scan and wf_spool_arrived): wf-dispatch (queue/*/new, ctl/new),
# wf-gate (reports/new) and wf-notify (events/new) take a drop made the
# classic maildir way (link(2) into new/, then unlink in tmp/), and move
# what is not a regular file (a symlink, never followed; a FIFO, whose
# open must not block; a directory) to corrupt/ with its reason, whether
# it was there at start or arrives while the daemon runs.

load helpers

setup() {
	wf_setup
	TARGET="$BATS_TEST_TMPDIR/target"
	printf 'a file a symlink points at\n' >"$TARGET"
	cp "$TARGET" "$TARGET.orig"
	PIDS=
}

teardown() {
	local p
	for p in $PIDS; do
		kill -TERM "$p" 2>/dev/null || true
	done
	stop_gate
	wf_teardown
}

# readies_gt LOG N: LOG has more than N "ready:" lines
readies_gt() {
	[ "$(grep -c 'ready:' "$1" 2>/dev/null)" -gt "$2" ]
}

# start NAME: run daemon NAME in the background, wait for its "ready:"
start() {
	local log="$BATS_TEST_TMPDIR/$1.log" n
	n=$(grep -c 'ready:' "$log" 2>/dev/null) || n=0
	"$B/$1" -v >>"$log" 2>&1 3>&- &
	PIDS="$PIDS $!"
	LAST=$!
	wait_until "$(slow 10)" readies_gt "$log" "$n" || {
		cat "$log" >&2
		return 1
	}
}

# nonfiles DIR TAG: a symlink, a FIFO and a directory made in place in DIR
nonfiles() {
	ln -s "$TARGET" "$WF_HOME/$1/sym-$2"
	mkfifo "$WF_HOME/$1/fifo-$2"
	mkdir "$WF_HOME/$1/dir-$2"
}

# quarantined DIR PREFIX TAG: nonfiles' three are in corrupt/ under
# PREFIX with their reasons, none left in DIR, the symlink's target
# untouched
quarantined() {
	local c="$WF_HOME/corrupt/$2"
	wait_until "$(slow 10)" test -e "${c}sym-$3.why" -a -e "${c}fifo-$3.why" \
	    -a -e "${c}dir-$3.why" || {
		ls -la "$WF_HOME/$1" "$WF_HOME/corrupt" >&2
		return 1
	}
	grep -q 'a symlink, not a file' "${c}sym-$3.why"
	grep -q 'a FIFO, not a file' "${c}fifo-$3.why"
	grep -q 'a directory, not a file' "${c}dir-$3.why"
	[ -L "${c}sym-$3" ] && [ "$(readlink "${c}sym-$3")" = "$TARGET" ]
	[ -p "${c}fifo-$3" ]
	[ -d "${c}dir-$3" ]
	[ ! -e "$WF_HOME/$1/sym-$3" ] && [ ! -L "$WF_HOME/$1/sym-$3" ]
	[ ! -e "$WF_HOME/$1/fifo-$3" ] && [ ! -e "$WF_HOME/$1/dir-$3" ]
	cmp "$TARGET" "$TARGET.orig"
}

# linkdrop BASE NAME: stdin written in BASE/tmp, linked into BASE/new,
# unlinked in tmp/ (safecat's and qmail's way)
linkdrop() {
	cat >"$WF_HOME/$1/tmp/$2"
	ln "$WF_HOME/$1/tmp/$2" "$WF_HOME/$1/new/$2"
	rm "$WF_HOME/$1/tmp/$2"
}

@test "wf-dispatch: a link drop runs; a symlink, a FIFO, a directory go to corrupt/, at start and while it runs" {
	q=queue/3-normal
	nonfiles "$q/new" start
	nonfiles ctl/new start
	start_dispatch
	quarantined "$q/new" "" start
	quarantined ctl/new ctl- start
	nonfiles "$q/new" live
	nonfiles ctl/new live
	quarantined "$q/new" "" live
	quarantined ctl/new ctl- live
	printf '{"job_type":"command","request_data":{"argv":["true"]}}' |
	    linkdrop "$q" 1700000000.M1P1.linked
	ended 1700000000.M1P1.linked done
	alive "$DISPATCH_PID"
}

@test "wf-gate: a link drop is taken; a symlink, a FIFO, a directory go to corrupt/ with an audit line, at start and while it runs" {
	nonfiles reports/new start
	start_gate
	quarantined reports/new report- start
	nonfiles reports/new live
	quarantined reports/new report- live
	# a report for a run that does not exist: taken, and refused with the
	# pipeline's reason (left in new/, it would have been ignored)
	printf '{"run_id":999,"role":"pm","status":"pass","summary":"s"}' |
	    linkdrop reports linked
	wait_until "$(slow 10)" test -e "$WF_HOME/corrupt/report-linked.why"
	grep -q 999 "$WF_HOME/corrupt/report-linked.why"
	[ ! -e "$WF_HOME/reports/new/linked" ]
	[ "$(grep -c '"report.rejected"' "$WF_HOME/log/audit.jsonl")" -eq 7 ]
	grep -q 'a FIFO, not a file' "$WF_HOME/log/audit.jsonl"
	alive "$GATE_PID"
}

@test "wf-notify: a link drop is taken; a symlink, a FIFO, a directory go to corrupt/, at start and while it runs" {
	nonfiles events/new start
	start wf-notify
	quarantined events/new event- start
	nonfiles events/new live
	quarantined events/new event- live
	printf '{"event":"run.created","payload":{}}' | linkdrop events linked
	wait_until "$(slow 10)" test -e "$WF_HOME/events/cur/linked"
	[ ! -e "$WF_HOME/events/new/linked" ]
	alive "$LAST"
}
