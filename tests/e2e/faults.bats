#!/usr/bin/env bats
# faults: wf-dispatch killed with SIGKILL while jobs run, and its recovery
# of active/ (a job with a result is finalised, not re-run); input that is
# not a job (malformed, oversized, unknown field, symlink, bad name) goes to
# corrupt/ with its reason while the daemon keeps serving; files that reach
# new/ other than by rename (a symlink or a hard link made in place, a
# writer that skips tmp/) are neither missed nor taken half-written.

load helpers

setup() { wf_setup; }
teardown() { wf_teardown; }

@test "kill -9 of wf-dispatch while jobs run: after a restart every job ends exactly once" {
	wf_config '[lane.command]' 'concurrency = 4'
	for i in $(seq 1 20); do
		echo '{"job_type":"command","request_data":{"argv":["sleep","0.3"]}}'
	done >"$BATS_TEST_TMPDIR/jobs"
	mapfile -t ids < <("$B/wf-enqueue" --batch <"$BATS_TEST_TMPDIR/jobs")
	[ "${#ids[@]}" -eq 20 ]
	start_dispatch
	# Some jobs are running: kill the daemon under them.
	wait_until "$(slow 10)" count_ge active 1
	kill -KILL "$DISPATCH_PID"
	wait "$DISPATCH_PID" || true
	DISPATCH_PID=
	[ "$(find "$WF_HOME/active" -maxdepth 1 -type f ! -name '*.pid' ! -name '*.result' | wc -l)" -ge 1 ]

	start_dispatch
	for id in "${ids[@]}"; do
		run wait_job "$id" "$(slow 30)"
		[ "$status" -eq 0 ]
	done
	for id in "${ids[@]}"; do
		ended "$id" done
	done
	[ "$(count done)" -eq 20 ]
	[ "$(count failed)" -eq 0 ]
	[ "$(count cancelled)" -eq 0 ]
	[ "$(count deferred)" -eq 0 ]
	[ -z "$(queued)" ]
	wait_until "$(slow 10)" active_empty
	# The jobs the kill interrupted ran again, their attempt counted.
	[ "$(grep -l '"attempt":2' "$WF_HOME"/done/* | wc -l)" -ge 1 ]
	grep -q 'recovered [0-9]* job' "$BATS_TEST_TMPDIR/dispatch.log"
}

@test "recovery finalises a job from its active/ID.result without running it" {
	id=1700000000.M000001.recovered
	ran="$BATS_TEST_TMPDIR/ran"
	printf '{"job_type":"command","request_data":{"argv":["touch","%s"]}}' "$ran" \
	    >"$WF_HOME/active/$id"
	printf '{"status":"completed","exit_code":0}' >"$WF_HOME/active/$id.result"
	start_dispatch
	run wait_job "$id" 10
	[ "$status" -eq 0 ]
	ended "$id" done
	[ "$(jget "$WF_HOME/done/$id" status)" = completed ]
	[ "$(jget "$WF_HOME/done/$id" exit_code)" -eq 0 ]
	[ ! -e "$ran" ]
	wait_until "$(slow 10)" active_empty
	[ -z "$(queued)" ]
}

# drop NAME: stdin into queue/3-normal/new/NAME by the maildir protocol
drop() {
	cat >"$WF_HOME/queue/3-normal/tmp/$1"
	mv "$WF_HOME/queue/3-normal/tmp/$1" "$WF_HOME/queue/3-normal/new/$1"
}

@test "what is not a job goes to corrupt/ with its reason; the daemon keeps serving" {
	start_dispatch
	printf '{"job_type":"command","request_data":' | drop bad-json
	{
		printf '{"job_type":"command","request_data":{"argv":["echo","'
		head -c 1200000 /dev/zero | tr '\0' A
		printf '"]}}'
	} | drop big-job
	printf '{"job_type":"command","request_data":{"argv":["true"]},"colour":"red"}' |
	    drop unknown-field
	# A symlink to a real job elsewhere (renamed into new/, as the
	# protocol says): moved, its target untouched.
	real="$BATS_TEST_TMPDIR/real-job.json"
	printf '{"job_type":"command","request_data":{"argv":["touch","%s"]}}' \
	    "$BATS_TEST_TMPDIR/symlink-ran" >"$real"
	cp "$real" "$real.orig"
	ln -s "$real" "$WF_HOME/queue/3-normal/tmp/sym-job"
	mv "$WF_HOME/queue/3-normal/tmp/sym-job" "$WF_HOME/queue/3-normal/new/sym-job"
	# A name that starts as a valid one but is not: wf gives it an id of
	# its own when it claims it (README), and a file that is not a job
	# then goes to corrupt/ under that id.
	printf 'this is not json' | drop '1700000000.M000001 bad name!'
	# Refused, not altered: a NUL would cut the argument, bytes not
	# UTF-8 would be stored as they came.
	printf '{"job_type":"command","request_data":{"argv":["echo","a\\u0000b"]}}' |
	    drop nul-job
	printf '{"job_type":"command","request_data":{"argv":["echo","\377"]}}' |
	    drop utf8-job

	wait_until "$(slow 10)" count_ge corrupt 13
	wait_until 2 test -L "$WF_HOME/corrupt/sym-job"
	[ "$(find "$WF_HOME/corrupt" -name '*.why' | wc -l)" -eq 7 ]
	[ "$(find "$WF_HOME/corrupt" ! -name '*.why' ! -type d | wc -l)" -eq 7 ]
	c="$WF_HOME/corrupt"
	grep -qi 'malformed json' "$c/bad-json.why"
	grep -q 'larger than' "$c/big-job.why"
	grep -q 'colour: unknown field' "$c/unknown-field.why"
	grep -qi 'symlink' "$c/sym-job.why"
	grep -qF 'argv: a NUL (\u0000) in a string, refused' "$c/nul-job.why"
	grep -q 'argv: not UTF-8 in a string, refused' "$c/utf8-job.why"
	[ -L "$c/sym-job" ]
	[ "$(readlink "$c/sym-job")" = "$real" ]
	cmp "$real" "$real.orig"
	[ ! -e "$BATS_TEST_TMPDIR/symlink-ran" ]
	# The bad name: out of the queue, in corrupt/ under a valid name.
	badwhy=$(cd "$c" && ls *.why | grep -vx -e bad-json.why -e big-job.why \
	    -e unknown-field.why -e sym-job.why -e nul-job.why -e utf8-job.why)
	[ -n "$badwhy" ]
	grep -qi 'malformed json' "$c/$badwhy"
	cmp <(printf 'this is not json') "$c/${badwhy%.why}"
	[ -z "$(queued)" ]
	wait_until "$(slow 10)" active_empty

	run enqueue_wait -- echo still serving
	[ "$status" -eq 0 ]
	grep -q 'still serving' "$WF_HOME/output/$output.log"
	alive "$DISPATCH_PID"
}

@test "a job dropped under a bad name runs under an id of wf's own" {
	start_dispatch
	ran="$BATS_TEST_TMPDIR/badname-ran"
	printf '{"job_type":"command","request_data":{"argv":["touch","%s"]}}' "$ran" |
	    drop '1700000000.M000002 bad name!'
	wait_until "$(slow 10)" count_ge done 1
	[ -e "$ran" ]
	id=$(ls "$WF_HOME/done")
	[[ "$id" =~ ^[A-Za-z0-9._-]+$ ]]
	ended "$id" done
	[ -z "$(queued)" ]
	[ "$(count corrupt)" -eq 0 ]
}

@test "a symlink made in place in new/ while the daemon runs goes to corrupt/" {
	start_dispatch
	real="$BATS_TEST_TMPDIR/real-job.json"
	printf '{"job_type":"command","request_data":{"argv":["touch","%s"]}}' \
	    "$BATS_TEST_TMPDIR/symlink-ran" >"$real"
	cp "$real" "$real.orig"
	ln -s "$real" "$WF_HOME/queue/3-normal/new/sym-job"
	# inotify: it is seen at once, or never (3 s is plenty, even under ASan).
	wait_until 3 test -e "$WF_HOME/corrupt/sym-job.why"
	grep -qi 'symlink' "$WF_HOME/corrupt/sym-job.why"
	[ -L "$WF_HOME/corrupt/sym-job" ]
	cmp "$real" "$real.orig"
	[ ! -e "$BATS_TEST_TMPDIR/symlink-ran" ]
	[ -z "$(queued)" ]
}

@test "a job delivered the classic maildir way (link into new/, unlink tmp/) runs" {
	start_dispatch
	q="$WF_HOME/queue/3-normal"
	id=$(date +%s).M$$.linked
	printf '{"job_type":"command","request_data":{"argv":["true"]}}' >"$q/tmp/$id"
	ln "$q/tmp/$id" "$q/new/$id"
	rm "$q/tmp/$id"
	run wait_job "$id" 5
	[ "$status" -eq 0 ]
	ended "$id" done
}

@test "a job written straight into new/ (no tmp/) is taken once closed, not half-written" {
	start_dispatch
	f="$WF_HOME/queue/3-normal/new/$(date +%s).M$$.direct"
	# The daemon is busy (stopped) while the writer opens the file and
	# writes its first half: it must wait for the close.
	kill -STOP "$DISPATCH_PID"
	exec 5>"$f"
	printf '{"job_type":"command",' >&5
	kill -CONT "$DISPATCH_PID"
	sleep 0.3
	printf '"request_data":{"argv":["true"]}}' >&5
	exec 5>&-
	id=${f##*/}
	run wait_job "$id" "$(slow 10)"
	[ "$status" -eq 0 ]
	ended "$id" done
	[ "$(count corrupt)" -eq 0 ]
}

@test "wf-dispatch killed right after it started a job (WF_FAULT): the attempt was spent, the job never runs again" {
	wf_config '[queue]' 'max_attempts = 1'
	ran="$BATS_TEST_TMPDIR/ran"
	id=$(enqueue -- sh -c "echo x >>'$ran'; sleep 0.5")
	WF_FAULT=dispatch.started start_dispatch || true
	wait_until 10 dead "$DISPATCH_PID"
	wait "$DISPATCH_PID" 2>/dev/null || true
	DISPATCH_PID=
	# its start was said before it started
	[ -e "$WF_HOME/active/$id.pid" ]
	start_dispatch
	wait_until 10 ended "$id" failed
	jget "$WF_HOME/failed/$id" error_message | grep -q 'interrupted'
	[ "$(jget "$WF_HOME/failed/$id" attempt)" -eq 1 ]
	sleep 0.7
	[ "$(wc -l <"$ran" 2>/dev/null || echo 0)" -le 1 ]
}

@test "wf-dispatch killed after a failed attempt's retry was recorded, before its active/ file went (WF_FAULT dispatch.settled): the job runs max_attempts times, no more" {
	# Found by bench/crash.sh: recovery took the job in active/ (a
	# command job: no result file) for one that never ended and requeued
	# it beside its record in deferred/; both copies ran, and the second
	# dropped the first one's record in failed/: 3 runs of a job of 2.
	wf_config '[queue]' 'backoff_base = 1' 'backoff_max = 1'
	ran="$BATS_TEST_TMPDIR/ran"
	id=$(enqueue -m 2 -- sh -c "echo x >>'$ran'; exit 3")
	WF_FAULT=dispatch.settled start_dispatch || true
	wait_until "$(slow 10)" dead "$DISPATCH_PID"
	wait "$DISPATCH_PID" 2>/dev/null || true
	DISPATCH_PID=
	# the retry is recorded, and the job is still in active/
	[ -e "$WF_HOME/deferred/$id" ]
	[ -e "$WF_HOME/active/$id" ]
	start_dispatch
	wait_until "$(slow 20)" ended "$id" failed
	[ "$(jget "$WF_HOME/failed/$id" attempt)" -eq 2 ]
	# a twin would run a second or later: give it its backoff and more
	sleep 2.5
	only_in "$id" failed
	[ "$(wc -l <"$ran")" -eq 2 ]
}
