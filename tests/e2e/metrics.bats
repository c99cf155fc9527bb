#!/usr/bin/env bats
# metrics: GET /metrics of the real wf-httpd, scraped over 127.0.0.1 with
# curl and no token, checked with promtool (the Prometheus text format)
# and for its values: jobs waiting by lane and priority before wf-dispatch
# runs, outcomes, retries and the wait histogram once it has run them, a
# run through wf-dispatch and wf-gate (runs by state, gate verdicts), its
# events dead-lettered by wf-notify, and each daemon's marker.

load helpers

setup() {
	wf_setup
	GATE_PID=
	HTTPD_PID=
	NOTIFY_PID=
	REPO="$BATS_TEST_TMPDIR/repo"
	ROLES="$BATS_TEST_TMPDIR/roles"
	mkdir -p "$REPO" "$ROLES"
	cp "$BATS_TEST_DIRNAME/fixtures/run_tests.sh" "$REPO/run_tests.sh"
	wf_config '[queue]' 'backoff_base = 1' \
	    '[pipeline]' "roles_dir = $ROLES" 'auto_retry = false' \
	    'max_iter = 3' 'tdd = false' \
	    '[notify]' 'max_attempts = 1' 'timeout = 2'
	start_httpd
}

teardown() {
	local rc=0
	daemons_ok || rc=1
	stop_notify
	stop_httpd
	stop_gate
	stop_dispatch
	kill_strays
	sanitizer_check || rc=1
	[ $rc -eq 0 ] || cat "$BATS_TEST_TMPDIR/httpd.log" >&2
	return $rc
}

start_notify() {
	local log="$BATS_TEST_TMPDIR/notify.log"
	"$B/wf-notify" -v >>"$log" 2>&1 3>&- &
	NOTIFY_PID=$!
	wait_until "$(slow 10)" grep -q 'ready:' "$log" || {
		cat "$log" >&2
		return 1
	}
}

stop_notify() {
	[ -n "${NOTIFY_PID:-}" ] || return 0
	kill -TERM "$NOTIFY_PID" 2>/dev/null || true
	wait_until 5 gone "$NOTIFY_PID" || kill -KILL "$NOTIFY_PID" 2>/dev/null || true
	wait "$NOTIFY_PID" 2>/dev/null || true
	NOTIFY_PID=
}

role() {
	printf '[role]\nbackend = command\ncommand = %s\ntimeout = 60\n' "$2" \
	    >"$ROLES/$1.ini"
}

# scrape: GET /metrics without a token into $M (the body) and $BATS_TEST_TMPDIR/m;
# it must be a 200 of the text format that promtool accepts
scrape() {
	local code
	code=$(curl -s -o "$BATS_TEST_TMPDIR/m" -D "$BATS_TEST_TMPDIR/h" \
	    -w '%{http_code}' "$HTTPD_URL/metrics")
	[ "$code" = 200 ] || { cat "$BATS_TEST_TMPDIR/m" >&2; return 1; }
	grep -qi '^content-type: text/plain; version=0.0.4' "$BATS_TEST_TMPDIR/h"
	M=$(<"$BATS_TEST_TMPDIR/m")
	promtool check metrics <"$BATS_TEST_TMPDIR/m" || {
		cat "$BATS_TEST_TMPDIR/m" >&2
		return 1
	}
}

# value SERIES: the value of one series of the last scrape ("" when absent)
value() {
	# (through the environment: awk -v would undo the escapes)
	S=$1 awk '$1 == ENVIRON["S"] { print $2 }' "$BATS_TEST_TMPDIR/m"
}

# is SERIES VALUE: the series has that value in the last scrape
is() {
	local v
	v=$(value "$1")
	[ "$v" = "$2" ] || { echo "$1: '$v', not '$2'" >&2; return 1; }
}

# metric_is SERIES VALUE: the same after a new scrape (for wait_until)
metric_is() { scrape >/dev/null 2>&1 && [ "$(value "$1")" = "$2" ]; }

@test "jobs waiting by lane and priority, then their outcomes, retries and wait times; promtool accepts every scrape" {
	for _ in 1 2 3; do "$B/wf-enqueue" -p high -- true >/dev/null; done
	"$B/wf-enqueue" -p low -- true >/dev/null
	"$B/wf-enqueue" -p normal -m 2 -- false >/dev/null
	lid=$("$B/wf-enqueue" -p critical -t llm_complete -d '{"prompt":"hi"}')
	sleep 0.2
	scrape
	is 'wf_jobs_waiting{lane="command",priority="high"}' 3
	is 'wf_jobs_waiting{lane="command",priority="normal"}' 1
	is 'wf_jobs_waiting{lane="command",priority="low"}' 1
	is 'wf_jobs_waiting{lane="command",priority="critical"}' 0
	is 'wf_jobs_waiting{lane="llm",priority="critical"}' 1
	is 'wf_jobs_running{lane="command"}' 0
	is 'wf_daemon_up{daemon="wf-httpd"}' 1
	is 'wf_daemon_up{daemon="wf-dispatch"}' 0
	# the oldest job has waited 0.2 s at least, and not a minute
	old=$(value 'wf_job_oldest_waiting_seconds{lane="command"}')
	awk -v v="$old" 'BEGIN { exit !(v >= 0.2 && v < 60) }'
	is 'wf_job_oldest_waiting_seconds{lane="vision"}' 0.000
	# nothing has ended: no histogram series yet, but the family is there
	[[ "$M" == *"# TYPE wf_job_wait_seconds histogram"* ]]
	[ -z "$(value 'wf_job_wait_seconds_count{lane="command",type="command"}')" ]

	# the llm job cannot run here (no model): take it out while no
	# daemon runs
	rm "$WF_HOME/queue/1-critical/new/$lid"
	start_dispatch
	wait_until "$(slow 20)" metric_is \
	    'wf_jobs_ended_total{lane="command",type="command",outcome="failed"}' 1
	wait_until "$(slow 20)" metric_is \
	    'wf_jobs_ended_total{lane="command",type="command",outcome="completed"}' 4
	is 'wf_job_retries_total{lane="command",type="command"}' 1
	is 'wf_job_wait_seconds_count{lane="command",type="command"}' 5
	is 'wf_job_wait_seconds_bucket{lane="command",type="command",le="+Inf"}' 5
	is 'wf_job_run_seconds_count{lane="command",type="command"}' 5
	# the failed job waited its backoff (1 s) before its second attempt
	[ "$(value 'wf_job_wait_seconds_bucket{lane="command",type="command",le="0.5"}')" -le 4 ]
	is 'wf_jobs_waiting{lane="command",priority="high"}' 0
	is 'wf_jobs_waiting{lane="llm",priority="critical"}' 0
	is 'wf_daemon_up{daemon="wf-dispatch"}' 1
	is 'wf_metrics_records_behind' 0
	# a scrape again counts nothing twice
	scrape
	is 'wf_jobs_ended_total{lane="command",type="command",outcome="completed"}' 4
	is 'wf_job_wait_seconds_count{lane="command",type="command"}' 5
	stop_dispatch
	scrape
	is 'wf_daemon_up{daemon="wf-dispatch"}' 0
}

@test "a run: runs by state, gate verdicts, its events dead-lettered, the daemons up" {
	role pm "printf '{\"status\":\"pass\",\"summary\":\"spec written\"}\\n'"
	role dev "printf '{\"status\":\"pass\",\"summary\":\"code written\"}\\n'"
	role qa 'sh -c "$WF_TEST_COMMAND"'
	role security "printf '{\"status\":\"pass\",\"summary\":\"clean\",\"details\":{\"findings\":[]}}\\n'"
	"$B/wf" project create --name demo --repo-path "$REPO" \
	    --test-command 'sh run_tests.sh' >/dev/null
	# a receiver that is not there: every delivery is dead at once
	"$B/wf" webhook create --name gone --url http://127.0.0.1:9/hook \
	    --events 'run.*' >/dev/null
	start_dispatch
	start_gate
	start_notify
	"$B/wf" run create --project-id 1 --name first >/dev/null
	wait_until "$(slow 60)" metric_is 'wf_runs{state="READY_FOR_COMMIT"}' 1
	is 'wf_runs{state="PM"}' 0
	is 'wf_gate_reports_total{role="pm",status="pass"}' 1
	is 'wf_gate_reports_total{role="dev",status="pass"}' 1
	is 'wf_gate_reports_total{role="qa",status="pass"}' 1
	is 'wf_gate_reports_total{role="security",status="pass"}' 1
	is 'wf_gate_reports_total{role="qa",status="fail"}' 0
	is 'wf_gate_refusals_total{role="qa"}' 0
	is 'wf_jobs_ended_total{lane="agent",type="agent_run",outcome="completed"}' 4
	is 'wf_daemon_up{daemon="wf-dispatch"}' 1
	is 'wf_daemon_up{daemon="wf-gate"}' 1
	is 'wf_daemon_up{daemon="wf-notify"}' 1
	is 'wf_daemon_up{daemon="wf-httpd"}' 1
	# the director is one of the daemons, not started here
	is 'wf_daemon_up{daemon="wf-director"}' 0
	# every event of the run is one dead letter, and one attempt logged
	# dead: the gauge, the counter and the directory agree
	wait_until "$(slow 20)" test "$(count events/new)" -eq 0
	sleep 0.5
	scrape
	n=$(count events/dead)
	[ "$n" -ge 5 ]
	is 'wf_webhook_dead_letters' "$n"
	is 'wf_webhook_deliveries_total{outcome="dead"}' "$n"
	is 'wf_webhook_deliveries_total{outcome="delivered"}' 0
}

@test "/metrics needs no token on loopback, takes GET only, and stays well-formed under a hostile model name" {
	# a job record of the terminal directory as wf-dispatch writes it,
	# with a model name that needs escaping
	"$B/wf-enqueue" -t llm_complete -d '{"prompt":"hi"}' >/dev/null
	f=$(ls "$WF_HOME"/queue/3-normal/new/*)
	name=${f##*/}
	jq -c '. + {status:"completed", started_at:.created_at,
	    completed_at:.created_at, duration_ms:1200, attempt:1,
	    result_data:{model:"evil\"mo\\del\nx", usage:{prompt_tokens:7,
	    completion_tokens:3}}}' "$f" >"$WF_HOME/done/$name"
	rm "$f"
	scrape
	is 'wf_llm_tokens_total{model="evil\"mo\\del\nx",direction="in"}' 7
	is 'wf_llm_tokens_total{model="evil\"mo\\del\nx",direction="out"}' 3
	is 'wf_job_run_seconds_bucket{lane="llm",type="llm_complete",le="1"}' 0
	is 'wf_job_run_seconds_bucket{lane="llm",type="llm_complete",le="2.5"}' 1
	run curl -s -o /dev/null -w '%{http_code}' -X POST "$HTTPD_URL/metrics"
	[ "$output" = 405 ]
	# another name for this machine is refused, as for the rest (403)
	run curl -s -o /dev/null -w '%{http_code}' -H 'Host: evil.example' \
	    "$HTTPD_URL/metrics"
	[ "$output" = 403 ]
}
