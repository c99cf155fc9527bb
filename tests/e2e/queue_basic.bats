#!/usr/bin/env bats
# queue_basic: a command job through the real wf-dispatch, and the order
# of priorities on a lane of concurrency 1.

load helpers

setup() { wf_setup; }
teardown() { wf_teardown; }

@test "a command job completes, with its output captured" {
	start_dispatch
	run enqueue_wait -- sh -c 'echo hello from a job'
	[ "$status" -eq 0 ]
	id=$output
	[ -f "$WF_HOME/done/$id" ]
	grep -q 'hello from a job' "$WF_HOME/output/$id.log"
	run "$B/wf" queue show --json "$id"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"status":"completed"'* ]]
	[[ "$output" == *'"exit_code":0'* ]]
}

@test "LOW x5 then CRITICAL on a lane of 1: CRITICAL runs right after the first" {
	wf_config '[lane.command]' 'concurrency = 1'
	log="$BATS_TEST_TMPDIR/order"
	for i in 1 2 3 4 5; do
		"$B/wf-enqueue" -p low -- sh -c "echo low$i >>'$log'; sleep 0.1" >/dev/null
	done
	last=$("$B/wf-enqueue" -p critical -- sh -c "echo crit >>'$log'")
	start_dispatch
	run "$B/wf" queue wait --timeout 30 "$last"
	[ "$status" -eq 0 ]
	# Nothing ran before the daemon started: all six wait, CRITICAL first.
	[ "$(head -n 1 "$log")" = crit ]
	for id in $(ls "$WF_HOME/queue/4-low/new"); do "$B/wf" queue wait --timeout 30 "$id"; done
	[ "$(sed -n 2,6p "$log" | tr '\n' ' ')" = "low1 low2 low3 low4 low5 " ]
}
