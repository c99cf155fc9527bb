#!/usr/bin/env bats
# seed_api: every curl of the seed's README ("API Reference" of Workflow
# Hub), replayed as written against the real wf-httpd on 127.0.0.1, with
# a token: the same method, path and body (the seed's placeholders filled
# in: {id} with the id just made, /path/to/repo with a real directory), in
# the README's order.  Each must do what the seed's README says it does.
# The runs are brought to the state each call is for by reports through
# the same API and applied by the real wf-gate; the queue's cancel is
# applied by the real wf-dispatch to a job that is running against a fake
# model which answers slowly.  The credential the seed's body creates
# (api_key_encrypted) is given back by wf cred get --reveal.

load helpers

setup() {
	wf_setup
	no_model_env
	GATE_PID=
	HTTPD_PID=
	FAKE_PID=
	REPO="$BATS_TEST_TMPDIR/repo"
	mkdir -p "$REPO"
	# a model that takes its time: the seed's job is running when it is
	# cancelled
	"$PY" "$BATS_TEST_DIRNAME/../helpers/fake_llm.py" --port 0 \
	    --portfile "$BATS_TEST_TMPDIR/fake.port" --delay-ms 60000 \
	    2>>"$BATS_TEST_TMPDIR/fake.err" 3>&- &
	FAKE_PID=$!
	wait_until 10 test -s "$BATS_TEST_TMPDIR/fake.port"
	wf_config '[queue]' 'backoff_base = 1' \
	    '[llm]' 'provider = openai' \
	    "base_url = http://127.0.0.1:$(<"$BATS_TEST_TMPDIR/fake.port")" \
	    'model = stand-in' 'timeout = 120' \
	    '[pipeline]' 'auto_retry = false' 'max_iter = 3' 'tdd = false'
	TOKEN=$("$B/wf" token add alice)
	start_httpd
	start_gate
	# the seed's server: http://localhost:8000
	S=$HTTPD_URL
}

teardown() {
	local rc=0
	daemons_ok || rc=1
	if [ -n "${HTTPD_PID:-}" ] && ! alive "$HTTPD_PID"; then
		echo "wf-httpd (pid $HTTPD_PID) died" >&2
		rc=1
	fi
	stop_httpd
	stop_gate
	stop_dispatch
	if [ -n "$FAKE_PID" ]; then
		kill -TERM "$FAKE_PID" 2>/dev/null || true
		wait "$FAKE_PID" 2>/dev/null || true
	fi
	kill_strays
	sanitizer_check || rc=1
	[ $rc -eq 0 ] || cat "$BATS_TEST_TMPDIR"/*.log >&2
	return $rc
}

# c ARG...: the seed's curl, as its README writes it, with the token
# added; the reply's body in $output, its status in $code
c() {
	local out="$BATS_TEST_TMPDIR/reply"
	code=$(curl -s -o "$out" -w '%{http_code}' \
	    -H "Authorization: Bearer $TOKEN" "$@")
	output=$(<"$out")
	echo "$* -> $code $output" >&2
}

# report RUN ROLE STATUS: a report through the API (not one of the
# seed's curls: it brings a run to the state a curl is for)
report() {
	c -X POST "$S/api/runs/$1/report" -H "Content-Type: application/json" \
	    -d "{\"role\":\"$2\",\"status\":\"$3\",\"summary\":\"$2 $3\",\"details\":{\"tests_run\":1,\"tests_passed\":$([ "$3" = pass ] && echo 1 || echo 0),\"tests_failed\":$([ "$3" = pass ] && echo 0 || echo 1)}}"
	[ "$code" = 202 ]
}

state_is() {
	[ "$(jget "$WF_HOME/state/runs/$1.json" state)" = "$2" ]
}

# wait_state RUN STATE: wf-gate has applied the reports
wait_state() {
	wait_until "$(slow 10)" state_is "$1" "$2" || {
		jq -c '{state, history}' "$WF_HOME/state/runs/$1.json" >&2
		return 1
	}
}

# to_state RUN STATE: from PM, through passing reports, to QA or SEC
to_state() {
	report "$1" pm pass
	wait_state "$1" DEV
	report "$1" dev pass
	wait_state "$1" QA
	[ "$2" = QA ] && return 0
	report "$1" qa pass
	wait_state "$1" SEC
}

@test "every curl of the seed's README does what the seed says, the seed's credential body included" {
	### Job Queue
	# Get queue status
	c "$S/api/queue/status"
	[ "$code" = 200 ]
	[ "$(jq -c .waiting_by_priority <<<"$output")" = '{"critical":0,"high":0,"normal":0,"low":0}' ]

	# Enqueue job (wf-dispatch runs it against the slow model)
	start_dispatch
	c -X POST "$S/api/queue/enqueue" \
	    -H "Content-Type: application/json" \
	    -d '{
    "job_type": "llm_complete",
    "request_data": {"prompt": "Hello"},
    "priority": 3,
    "timeout": 300
  }'
	[ "$code" = 201 ]
	[ "$(jq -r .status <<<"$output")" = pending ]
	job=$(jq -r .id <<<"$output")
	wait_until "$(slow 10)" only_in "$job" active
	[ "$(jq -r .priority "$WF_HOME/active/$job")" = 3 ]
	[ "$(jq -r .timeout "$WF_HOME/active/$job")" = 300 ]
	[ "$(jq -r .request_data.prompt "$WF_HOME/active/$job")" = Hello ]

	# Cancel job
	c -X POST "$S/api/queue/jobs/$job/cancel"
	[ "$code" = 202 ]
	ended "$job" cancelled
	[ "$(jq -r .status "$WF_HOME/cancelled/$job")" = cancelled ]
	stop_dispatch

	### Projects
	# List projects
	c "$S/api/projects"
	[ "$code" = 200 ]
	[ "$output" = '[]' ]

	# Create project
	c -X POST "$S/api/projects/create" \
	    -H "Content-Type: application/json" \
	    -d "{\"name\": \"My Project\", \"description\": \"...\", \"repo_path\": \"$REPO\"}"
	[ "$code" = 201 ]
	pid=$(jq -r .id <<<"$output")
	[ "$(jq -r .name <<<"$output")" = "My Project" ]
	[ "$(jq -r .repo_path <<<"$output")" = "$REPO" ]
	c "$S/api/projects"
	[ "$(jq -r '.[0].name' <<<"$output")" = "My Project" ]

	# Get project with full context (for orchestrator)
	c "$S/api/projects/$pid/context"
	[ "$code" = 200 ]
	[ "$(jq -r .project.description <<<"$output")" = ... ]
	[ "$(jq -c '[.tasks, .environments, .bugs]' <<<"$output")" = '[[],[],[]]' ]

	# Update project
	c -X PATCH "$S/api/projects/$pid/update" \
	    -H "Content-Type: application/json" \
	    -d '{"languages": ["python"], "frameworks": ["django"]}'
	[ "$code" = 200 ]
	[ "$(jq -c '[.languages, .frameworks]' <<<"$output")" = '[["python"],["django"]]' ]

	# Execute project pipeline
	c -X POST "$S/api/projects/$pid/execute"
	[ "$code" = 201 ]
	run1=$(jq -r .id <<<"$output")
	[ "$(jq -r .state <<<"$output")" = PM ]
	# its PM agent is queued
	c "$S/api/queue/jobs?status=pending"
	[ "$(jq "[.[] | select(.job_type == \"agent_run\" and .run_id == $run1)] | length" <<<"$output")" -eq 1 ]

	### Credentials
	# List credentials for a project
	c "$S/api/projects/$pid/credentials"
	[ "$code" = 200 ]
	[ "$output" = '[]' ]

	# Create credential: the seed's own body
	c -X POST "$S/api/projects/$pid/credentials/create" \
	    -H "Content-Type: application/json" \
	    -d '{
    "name": "GitHub API",
    "credential_type": "api_key",
    "service": "github",
    "api_key_encrypted": "your_api_key"
  }'
	[ "$code" = 201 ]
	cid=$(jq -r .id <<<"$output")
	[ "$(jq -r '[.name, .credential_type, .service] | join(",")' <<<"$output")" = "GitHub API,api_key,github" ]
	# sealed: the value is nowhere in the reply, the list, the state, the log
	[[ "$output" != *your_api_key* ]]
	[[ "$output" != *_encrypted* ]]
	c "$S/api/projects/$pid/credentials"
	[ "$(jq -r '.[0].name' <<<"$output")" = "GitHub API" ]
	[[ "$output" != *your_api_key* ]]
	! grep -rq your_api_key "$WF_HOME/state" "$WF_HOME/log"
	# and the vault gives it back
	run "$B/wf" cred get "$cid" --reveal
	[ "$status" -eq 0 ]
	[ "$output" = your_api_key ]

	# Delete credential
	c -X DELETE "$S/api/credentials/$cid/delete"
	[ "$code" = 200 ]
	[ ! -e "$WF_HOME/state/credentials/$cid.json" ]
	c "$S/api/projects/$pid/credentials"
	[ "$output" = '[]' ]

	### Environments
	# List environments for a project
	c "$S/api/projects/$pid/environments"
	[ "$code" = 200 ]
	[ "$output" = '[]' ]

	# Create environment
	c -X POST "$S/api/projects/$pid/environments/create" \
	    -H "Content-Type: application/json" \
	    -d '{
    "name": "Production",
    "env_type": "production",
    "url": "https://app.example.com",
    "ssh_host": "server.example.com",
    "ssh_user": "deploy"
  }'
	[ "$code" = 201 ]
	[ "$(jq -r '[.name, .env_type, .url, .ssh_host, .ssh_user] | join(",")' <<<"$output")" = \
	    "Production,production,https://app.example.com,server.example.com,deploy" ]
	c "$S/api/projects/$pid/environments"
	[ "$(jq length <<<"$output")" -eq 1 ]

	### Tasks
	# Create task
	c -X POST "$S/api/projects/$pid/tasks/create" \
	    -H "Content-Type: application/json" \
	    -d '{"task_id": "T1", "title": "Implement login form"}'
	[ "$code" = 201 ]
	tid=$(jq -r .id <<<"$output")
	[ "$(jq -r '[.task_id, .title] | join(",")' <<<"$output")" = "T1,Implement login form" ]

	# Update task status
	c -X POST "$S/api/tasks/$tid/status" \
	    -H "Content-Type: application/json" \
	    -d '{"status": "in_progress"}'
	[ "$code" = 200 ]
	[ "$(jq -r .status <<<"$output")" = in_progress ]

	# Execute single task through pipeline
	c -X POST "$S/api/tasks/$tid/execute"
	[ "$code" = 201 ]
	run2=$(jq -r .id <<<"$output")
	[ "$(jq -r '[.state, .task_id] | join(",")' <<<"$output")" = "PM,$tid" ]

	### Runs (Development Cycles)
	# Create a run
	c -X POST "$S/api/projects/$pid/runs/create" \
	    -H "Content-Type: application/json" \
	    -d '{"name": "Run 2025-12-26_01"}'
	[ "$code" = 201 ]
	run3=$(jq -r .id <<<"$output")
	[ "$(jq -r '[.name, .state] | join(",")' <<<"$output")" = "Run 2025-12-26_01,PM" ]

	# Get run details
	c "$S/api/runs/$run3"
	[ "$code" = 200 ]
	[ "$(jq -r '[.id, .name, .state, .iteration] | join(",")' <<<"$output")" = \
	    "$run3,Run 2025-12-26_01,PM,1" ]

	# Submit agent report (QA's, to a run in QA): its pass moves it on
	to_state "$run3" QA
	c -X POST "$S/api/runs/$run3/report" \
	    -H "Content-Type: application/json" \
	    -d '{
    "role": "qa",
    "status": "pass",
    "summary": "All 35 tests pass",
    "details": {"tests_run": 35, "tests_passed": 35}
  }'
	[ "$code" = 202 ]
	wait_state "$run3" SEC
	c "$S/api/runs/$run3"
	[ "$(jq -r .results.qa.summary <<<"$output")" = "All 35 tests pass" ]
	[ "$(jq -r .results.qa.details.tests_run <<<"$output")" = 35 ]

	# Advance to next state (SEC passed: READY_FOR_COMMIT, then MERGED)
	report "$run3" security pass
	wait_state "$run3" READY_FOR_COMMIT
	c -X POST "$S/api/runs/$run3/advance"
	[ "$code" = 200 ]
	[ "$(jq -r .state <<<"$output")" = MERGED ]

	# Retry from failed state (the project's run, failed by QA)
	to_state "$run1" QA
	report "$run1" qa fail
	wait_state "$run1" QA_FAILED
	c -X POST "$S/api/runs/$run1/retry"
	[ "$code" = 200 ]
	[ "$(jq -r '[.state, .iteration] | join(",")' <<<"$output")" = DEV,2 ]

	# Reset to DEV state (from QA/SEC failed: the task's run, failed by SEC)
	to_state "$run2" SEC
	report "$run2" security fail
	wait_state "$run2" SEC_FAILED
	c -X POST "$S/api/runs/$run2/reset-to-dev"
	[ "$code" = 200 ]
	[ "$(jq -r .state <<<"$output")" = DEV ]

	# Human approval for deployment (the run ready for it)
	c -X POST "$S/api/runs/$run3/advance"
	[ "$(jq -r .state <<<"$output")" = READY_FOR_DEPLOY ]
	c -X POST "$S/api/runs/$run3/approve-deploy"
	[ "$code" = 200 ]
	[ "$(jq -r '[.state, .approved_by] | join(",")' <<<"$output")" = DEPLOYED,http:alice ]

	### Bug Reports
	# List bugs
	c "$S/api/bugs"
	[ "$code" = 200 ]
	[ "$output" = '[]' ]

	# Create bug
	c -X POST "$S/api/bugs/create" \
	    -H "Content-Type: application/json" \
	    -d '{
    "title": "Login button not working",
    "description": "...",
    "app_name": "frontend"
  }'
	[ "$code" = 201 ]
	bid=$(jq -r .id <<<"$output")
	[ "$(jq -r '[.title, .app_name] | join(",")' <<<"$output")" = "Login button not working,frontend" ]
	c "$S/api/bugs"
	[ "$(jq -r '.[0].id' <<<"$output")" = "$bid" ]

	# Update bug status
	c -X POST "$S/api/bugs/$bid/status" \
	    -H "Content-Type: application/json" \
	    -d '{"status": "resolved"}'
	[ "$code" = 200 ]
	[ "$(jq -r .status <<<"$output")" = resolved ]

	### Webhooks
	# Create webhook (for n8n integration)
	c -X POST "$S/api/webhooks/create" \
	    -H "Content-Type: application/json" \
	    -d '{
    "name": "Slack Notifications",
    "url": "https://your-n8n-instance/webhook/...",
    "events": ["run.state_changed", "bug.created"]
  }'
	[ "$code" = 201 ]
	[ "$(jq -c '[.name, .url, .events]' <<<"$output")" = \
	    '["Slack Notifications","https://your-n8n-instance/webhook/...",["run.state_changed","bug.created"]]' ]
	c "$S/api/webhooks"
	[ "$(jq length <<<"$output")" -eq 1 ]
}

@test "the seed's other *_encrypted fields: several make a secret of fields; none, two ways or a non-string is a 400" {
	c -X POST "$S/api/projects/create" -H "Content-Type: application/json" \
	    -d '{"name": "p"}'
	[ "$code" = 201 ]
	# basic auth the seed's way: username in the clear, password sealed
	c -X POST "$S/api/projects/1/credentials/create" \
	    -H "Content-Type: application/json" \
	    -d '{"name": "db", "credential_type": "basic_auth", "username": "app", "password_encrypted": "hunter2", "token_encrypted": null, "api_key_encrypted": ""}'
	[ "$code" = 201 ]
	[ "$(jq -r .username <<<"$output")" = app ]
	run "$B/wf" cred get 1 --reveal
	[ "$output" = hunter2 ]
	# OAuth: two secrets, two fields of one secret
	c -X POST "$S/api/projects/1/credentials/create" \
	    -H "Content-Type: application/json" \
	    -d '{"name": "oauth", "credential_type": "oauth", "client_secret_encrypted": "cs-1", "refresh_token_encrypted": "rt-2"}'
	[ "$code" = 201 ]
	[ "$(jq -c .secret_fields <<<"$output")" = '["client_secret","refresh_token"]' ]
	run "$B/wf" cred get 2 --reveal --field refresh_token
	[ "$output" = rt-2 ]
	run "$B/wf" cred get 2 --reveal --field client_secret
	[ "$output" = cs-1 ]
	! grep -rqE 'hunter2|cs-1|rt-2' "$WF_HOME/state" "$WF_HOME/log"

	# refused, and nothing made
	c -X POST "$S/api/projects/1/credentials/create" \
	    -H "Content-Type: application/json" \
	    -d '{"name": "x", "credential_type": "api_key", "api_key_encrypted": ""}'
	[ "$code" = 400 ]
	[[ "$output" == *api_key_encrypted* ]]
	c -X POST "$S/api/projects/1/credentials/create" \
	    -H "Content-Type: application/json" \
	    -d '{"name": "x", "credential_type": "api_key", "secret": "a", "api_key_encrypted": "b"}'
	[ "$code" = 400 ]
	[[ "$output" == *"given twice"* ]]
	c -X POST "$S/api/projects/1/credentials/create" \
	    -H "Content-Type: application/json" \
	    -d '{"name": "x", "credential_type": "ssh_key", "ssh_key_encrypted": 42}'
	[ "$code" = 400 ]
	[[ "$output" == *"ssh_key_encrypted: a string is needed"* ]]
	c -X POST "$S/api/projects/1/credentials/create" \
	    -H "Content-Type: application/json" \
	    -d '{"name": "x", "credential_type": "api_key", "apikey_encrypted": "b"}'
	[ "$code" = 400 ]
	[[ "$output" == *apikey_encrypted* ]]
	c "$S/api/projects/1/credentials"
	[ "$(jq length <<<"$output")" -eq 2 ]
}
