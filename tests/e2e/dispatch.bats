#!/usr/bin/env bats
# dispatch: wf-dispatch running jobs: lane concurrency limits, timeouts
# that kill the whole process group (SIGKILL after kill_grace for one that
# ignores SIGTERM), retries with backoff, cancel of a waiting, a running and
# a deferred job, a worker that cannot be executed, a command job's cwd and
# environment, and the cap on a job's output.

load helpers

setup() { wf_setup; }
teardown() { wf_teardown; }

@test "a lane of concurrency 2 never runs more than 2 jobs at once, and does run 2" {
	wf_config '[lane.command]' 'concurrency = 2'
	log="$BATS_TEST_TMPDIR/intervals"
	# One batch, one sync.  Each job logs "start NS I" and "end NS I".
	for i in $(seq 1 12); do
		printf '{"job_type":"command","request_data":{"argv":["sh","-c",%s,"sh","%s","%s"]}}\n' \
		    '"echo start $(date +%s%N) $1 >>$2; sleep 0.2; echo end $(date +%s%N) $1 >>$2"' \
		    "$i" "$log"
	done >"$BATS_TEST_TMPDIR/jobs"
	mapfile -t ids < <("$B/wf-enqueue" --batch <"$BATS_TEST_TMPDIR/jobs")
	[ "${#ids[@]}" -eq 12 ]
	start_dispatch
	for id in "${ids[@]}"; do
		run wait_job "$id" "$(slow 30)"
		[ "$status" -eq 0 ]
	done
	[ "$(count done)" -eq 12 ]
	# Every job left one start and one end.
	[ "$(grep -c '^start ' "$log")" -eq 12 ]
	[ "$(grep -c '^end ' "$log")" -eq 12 ]
	# A job's recorded interval lies inside its real one, so the overlap
	# measured here is never more than the real one.  At a tie an end
	# sorts before a start: those two did not overlap.
	run sh -c "sort -k2,2n -k1,1 '$log' | awk '
		\$1 == \"start\" { if (++n > max) max = n }
		\$1 == \"end\" { n-- }
		END { print max }'"
	[ "$status" -eq 0 ]
	echo "most at once: $output"
	[ "$output" -le 2 ]
	[ "$output" -eq 2 ]
}

@test "a timeout kills the job's whole process group" {
	wf_config '[queue]' 'kill_grace = 1'
	gpid="$BATS_TEST_TMPDIR/grandchild.pid"
	id=$(enqueue -T 1 -m 1 -- sh -c 'sleep 100 & echo $! >"$1"; sleep 100' sh "$gpid")
	start_dispatch
	run "$B/wf" queue wait --timeout "$(slow 20)" "$id"
	[ "$status" -eq 124 ]
	ended "$id" failed
	run "$B/wf" queue show --json "$id"
	[ "$status" -eq 0 ]
	[[ "$output" == *'"status":"timeout"'* ]]
	[ "$(jget "$WF_HOME/failed/$id" status)" = timeout ]
	[[ "$(jget "$WF_HOME/failed/$id" error_message)" == *"timed out"* ]]
	# The grandchild was in the job's group: it is gone too.
	[ -s "$gpid" ]
	g=$(cat "$gpid")
	wait_until 5 gone "$g"
	wait_until 10 dead "$g"
}

@test "a job that keeps failing is retried with backoff, then fails for good" {
	wf_config '[queue]' 'backoff_base = 1' 'backoff_max = 1'
	tries="$BATS_TEST_TMPDIR/tries"
	id=$(enqueue -m 3 -- sh -c 'echo try >>"$1"; exit 3' sh "$tries")
	start_dispatch
	run "$B/wf" queue wait --timeout "$(slow 30)" "$id"
	[ "$status" -eq 1 ]
	ended "$id" failed
	rec="$WF_HOME/failed/$id"
	[ "$(jget "$rec" status)" = failed ]
	[ "$(jget "$rec" attempt)" -eq 3 ]
	[ "$(jget "$rec" exit_code)" -eq 3 ]
	[[ "$(jget "$rec" error_message)" == *"exit status 3"* ]]
	[ "$(wc -l <"$tries")" -eq 3 ]
	# One header per attempt, in order.
	run grep -o -- '--- wf: attempt [0-9]*' "$WF_HOME/output/$id.log"
	[ "${lines[*]}" = "--- wf: attempt 1 --- wf: attempt 2 --- wf: attempt 3" ]
	[ "$(count deferred)" -eq 0 ]
}

@test "cancel a waiting job: it never runs; cancel a running job: its process goes" {
	wf_config '[lane.command]' 'concurrency = 1' '[queue]' 'kill_grace = 1'
	pidf="$BATS_TEST_TMPDIR/long.pid"
	ran2="$BATS_TEST_TMPDIR/ran2"
	id1=$(enqueue -- sh -c 'echo $$ >"$1"; exec sleep 100' sh "$pidf")
	id2=$(enqueue -- touch "$ran2")
	start_dispatch
	wait_until "$(slow 10)" test -s "$pidf"
	[ "$(where "$id1")" = active ]
	[ "$(where "$id2")" = queue/3-normal/new ]

	run "$B/wf" queue cancel "$id2"
	[ "$status" -eq 0 ]
	[ "$output" = "$id2 cancelled" ]
	ended "$id2" cancelled
	[ "$(jget "$WF_HOME/cancelled/$id2" status)" = cancelled ]
	[ ! -e "$ran2" ]

	pid=$(cat "$pidf")
	alive "$pid"
	run "$B/wf" queue cancel "$id1"
	[ "$status" -eq 0 ]
	[ "$output" = "$id1 cancelled" ]
	ended "$id1" cancelled
	[ "$(jget "$WF_HOME/cancelled/$id1" status)" = cancelled ]
	wait_until 5 gone "$pid"
	run "$B/wf" queue wait --timeout 5 "$id1"
	[ "$status" -eq 125 ]
	# The lane is free and nothing waits: the cancelled job did not run
	# after all.
	wait_until "$(slow 10)" active_empty
	[ ! -e "$ran2" ]
}

@test "cancel of an unknown id, and of a completed job, is refused" {
	start_dispatch
	run --separate-stderr "$B/wf" queue cancel 1700000000.M000001.nosuchjob
	[ "$status" -ne 0 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]

	id=$(enqueue -- true)
	wait_job "$id"
	run --separate-stderr "$B/wf" queue cancel "$id"
	[ "$status" -eq 65 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	ended "$id" done
}

@test "a worker that cannot be executed fails at once with exit code 127" {
	id=$(enqueue -- /nonexistent/prog arg)
	start_dispatch
	run "$B/wf" queue wait --timeout "$(slow 20)" "$id"
	[ "$status" -eq 1 ]
	ended "$id" failed
	rec="$WF_HOME/failed/$id"
	[[ "$(jget "$rec" error_message)" == *"cannot execute"* ]]
	[ "$(jget "$rec" exit_code)" -eq 127 ]
	# Not retried: no retry mends a missing program.
	[ "$(jget "$rec" attempt)" -eq 1 ]
	[ "$(count deferred)" -eq 0 ]
}

@test "a job that ignores SIGTERM is killed with SIGKILL after kill_grace" {
	wf_config '[queue]' 'kill_grace = 1'
	pidf="$BATS_TEST_TMPDIR/stubborn.pid"
	id=$(enqueue -T 1 -m 1 -- sh -c 'trap "" TERM; echo $$ >"$1"; sleep 100' sh "$pidf")
	start_dispatch
	run "$B/wf" queue wait --timeout "$(slow 20)" "$id"
	[ "$status" -eq 124 ]
	ended "$id" failed
	[ "$(jget "$WF_HOME/failed/$id" status)" = timeout ]
	# Its group got SIGTERM, ignored it, and SIGKILL a grace later.
	[ "$(jget "$WF_HOME/failed/$id" duration_ms)" -ge 1900 ]
	wait_until 5 gone "$(cat "$pidf")"
}

@test "cancel of a job waiting in deferred/ for its retry: it never runs again" {
	wf_config '[queue]' 'backoff_base = 60' 'backoff_max = 60'
	tries="$BATS_TEST_TMPDIR/tries"
	id=$(enqueue -m 3 -- sh -c 'echo try >>"$1"; exit 1' sh "$tries")
	start_dispatch
	wait_until "$(slow 10)" test -f "$WF_HOME/deferred/$id"
	ended "$id" deferred
	run "$B/wf" queue cancel "$id"
	[ "$status" -eq 0 ]
	ended "$id" cancelled
	[ "$(jget "$WF_HOME/cancelled/$id" status)" = cancelled ]
	[ "$(wc -l <"$tries")" -eq 1 ]
	run "$B/wf" queue wait --timeout 5 "$id"
	[ "$status" -eq 125 ]
}

@test "a command job runs in its cwd with its env, and nothing else of the caller's" {
	start_dispatch
	mkdir "$BATS_TEST_TMPDIR/work dir"
	WF_TEST_SECRET=leak run enqueue_wait -C "$BATS_TEST_TMPDIR/work dir" \
	    -e GREETING='hello there' -- sh -c 'pwd; echo "g=$GREETING"; echo "s=${WF_TEST_SECRET:-}"; echo "id=$WF_JOB_ID"'
	echo "wf-enqueue: $status: $output"
	[ "$status" -eq 0 ]
	id=$output
	log="$WF_HOME/output/$id.log"
	grep -qx "$BATS_TEST_TMPDIR/work dir" "$log"
	grep -qx 'g=hello there' "$log"
	grep -qx 's=' "$log"
	grep -qx "id=$id" "$log"
}

@test "a job's output is capped at output_max, and the cut is marked" {
	wf_config '[queue]' 'output_max = 4096'
	start_dispatch
	run enqueue_wait -- sh -c 'i=0; while [ $i -lt 2000 ]; do echo "line $i of a chatty job"; i=$((i + 1)); done'
	[ "$status" -eq 0 ]
	log="$WF_HOME/output/$output.log"
	# The header, 4096 bytes of output, and the note of the cut.
	[ "$(stat -c %s "$log")" -lt 4400 ]
	grep -q '^line 0 of a chatty job$' "$log"
	grep -q 'output cut at 4096 bytes' "$log"
}

# fake_agent RELEASE: a stand-in wf-agent in $BATS_TEST_TMPDIR/fakebin that
# logs when it starts and ends, releases its lane at once when RELEASE is
# 1 (a byte on fd 3, as wf-agent does when its model call returns), and
# then takes 1.5 s to finish its job
fake_agent() {
	mkdir -p "$BATS_TEST_TMPDIR/fakebin"
	cat >"$BATS_TEST_TMPDIR/fakebin/wf-agent" <<EOF2
#!/bin/sh
id=\$1
if [ "\$id" = --stdin ]; then read -r id || exit 0; fi
echo "start \$id \$(date +%s%N) \$*" >>"$BATS_TEST_TMPDIR/agents.log"
[ "\${WF_RELEASE_FD:-}" = 3 ] && echo "has-fd3 \$id" >>"$BATS_TEST_TMPDIR/agents.log"
if [ $1 = 1 ]; then printf r >&3; fi
exec 3>&-
sleep 1.5
echo "end \$id \$(date +%s%N)" >>"$BATS_TEST_TMPDIR/agents.log"
printf '{"status":"completed","exit_code":0}' >"\$WF_HOME/active/\$id.result"
EOF2
	chmod +x "$BATS_TEST_TMPDIR/fakebin/wf-agent"
	export WF_BINDIR="$BATS_TEST_TMPDIR/fakebin"
}

# t WHAT ID: a time from agents.log, in ms
t() {
	local v
	v=$(awk -v w="$1" -v id="$2" '$1 == w && $2 == id { print $3 }' "$BATS_TEST_TMPDIR/agents.log")
	echo "${v:0:13}"
}

@test "an agent that releases its lane (its model call returned) lets the lane's next job start while it finishes; one that does not, holds it" {
	for release in 1 0; do
		rm -f "$BATS_TEST_TMPDIR/agents.log"
		fake_agent "$release"
		wf_config '[lane.llm]' 'concurrency = 1' 'prestart = false'
		a=$("$B/wf-enqueue" --type llm_complete --lane llm <<<'{"request_data":{"prompt":"a"}}')
		b=$("$B/wf-enqueue" --type llm_complete --lane llm <<<'{"request_data":{"prompt":"b"}}')
		start_dispatch
		wait_until "$(slow 20)" test -e "$WF_HOME/done/$b"
		wait_until "$(slow 20)" test -e "$WF_HOME/done/$a"
		stop_dispatch
		cat "$BATS_TEST_TMPDIR/agents.log"
		grep -q "has-fd3 $a" "$BATS_TEST_TMPDIR/agents.log"
		if [ "$release" = 1 ]; then
			# b started before a ended: the lane was free
			[ "$(t start "$b")" -lt "$(t end "$a")" ]
		else
			[ "$(t start "$b")" -ge "$(t end "$a")" ]
		fi
	done
}

@test "wf-agent --stdin: a spare's job id comes on stdin; EOF before it is not an error, a line without its newline or a bad id is refused" {
	run "$B/wf-agent" --stdin </dev/null
	[ "$status" -eq 0 ]
	run "$B/wf-agent" --stdin < <(printf 'abc')
	[ "$status" -eq 64 ]
	[[ "$output" == *"no job id line"* ]]
	run "$B/wf-agent" --stdin <<<'../x'
	[ "$status" -eq 64 ]
	[[ "$output" == *"not a job id"* ]]
	id=$("$B/wf-enqueue" -- sh -c 'echo spare-ran')
	mv "$WF_HOME"/queue/*/new/"$id" "$WF_HOME/active/$id"
	run "$B/wf-agent" --stdin <<<"$id"
	[ "$status" -eq 0 ]
	grep -q '"status":"completed"' "$WF_HOME/active/$id.result"
	[[ "$output" == *spare-ran* ]]
}
