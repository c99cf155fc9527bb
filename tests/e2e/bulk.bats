#!/usr/bin/env bats
# bulk: a thousand jobs enqueued in one batch all run to completion, none
# lost, none failed, none left behind.

load helpers

setup() { wf_setup; }
teardown() { wf_teardown; }

@test "1000 jobs from one --batch all complete" {
	for i in $(seq 1 1000); do
		echo '{"job_type":"command","request_data":{"argv":["true"]}}'
	done >"$BATS_TEST_TMPDIR/jobs"
	run "$B/wf-enqueue" --batch <"$BATS_TEST_TMPDIR/jobs"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1000 ]
	[ "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" -eq 1000 ]
	[ "$(count queue/3-normal/new)" -eq 1000 ]
	start_dispatch
	WAIT_STEP=0.5 wait_until "$(slow 60)" count_ge done 1000
	[ "$(count done)" -eq 1000 ]
	[ "$(count failed)" -eq 0 ]
	[ "$(count corrupt)" -eq 0 ]
	# Each id printed is a record in done/.
	for id in "${lines[@]}"; do
		[ -f "$WF_HOME/done/$id" ] || { echo "$id not done" >&2; false; }
	done
	wait_until "$(slow 10)" active_empty
	[ -z "$(queued)" ]
	[ "$(count deferred)" -eq 0 ]
}
