#!/usr/bin/env bats
# httpd: the real wf-httpd on a free port of 127.0.0.1, driven with curl:
# entities, the queue, a run through the real wf-dispatch and wf-gate to a
# deploy approved through the API (approver http:NAME), a run's diff,
# merge (and its refused conflict) and abandon, a report applied by
# wf-gate, tokens refused and nothing written, bad input, the page and its
# traps, and the signals.

load helpers

setup() {
	wf_setup
	GATE_PID=
	HTTPD_PID=
	REPO="$BATS_TEST_TMPDIR/repo"
	ROLES="$BATS_TEST_TMPDIR/roles"
	WEB="$BATS_TEST_TMPDIR/web"
	mkdir -p "$REPO" "$ROLES" "$WEB"
	cp "$BATS_TEST_DIRNAME/fixtures/run_tests.sh" "$REPO/run_tests.sh"
	echo '<!doctype html><title>wf</title>' >"$WEB/index.html"
	echo 'body { color: black; }' >"$WEB/style.css"
	wf_config '[queue]' 'backoff_base = 1' \
	    '[pipeline]' "roles_dir = $ROLES" 'auto_retry = false' \
	    'max_iter = 3' 'tdd = false'
	TOKEN=$("$B/wf" token add alice)
	[ ${#TOKEN} -eq 64 ]
	start_httpd -w "$WEB"
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
	kill_strays
	sanitizer_check || rc=1
	[ $rc -eq 0 ] || cat "$BATS_TEST_TMPDIR/httpd.log" >&2
	return $rc
}

# role NAME COMMAND: a command-backed role in the test's roles dir
role() {
	printf '[role]\nbackend = command\ncommand = %s\ntimeout = 60\n' "$2" \
	    >"$ROLES/$1.ini"
}

# api METHOD PATH [BODY]: a request with the token; the body of the reply
# in $output, its status in $code
api() {
	local out="$BATS_TEST_TMPDIR/reply" args
	args=(-s -o "$out" -w '%{http_code}' -X "$1"
	    -H "Authorization: Bearer $TOKEN")
	[ $# -lt 3 ] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
	code=$(curl "${args[@]}" "$HTTPD_URL$2")
	output=$(<"$out")
}

# anon METHOD PATH [BODY]: the same without a token
anon() {
	local out="$BATS_TEST_TMPDIR/reply" args
	args=(-s -o "$out" -w '%{http_code}' -X "$1")
	[ $# -lt 3 ] || args+=(--data-binary "$3")
	code=$(curl "${args[@]}" "$HTTPD_URL$2")
	output=$(<"$out")
}

# state_is RUN STATE (read from the run's file: this is polled)
state_is() {
	[ "$(jget "$WF_HOME/state/runs/$1.json" state)" = "$2" ]
}

wait_state() {
	wait_until "$(slow "${3:-30}")" state_is "$1" "$2" || {
		jq -c '{state, history}' "$WF_HOME/state/runs/$1.json" >&2
		cat "$BATS_TEST_TMPDIR"/gate.log "$BATS_TEST_TMPDIR"/dispatch.log >&2
		return 1
	}
}

# tree: every file of the state and the queues, for "nothing written"
tree() {
	(cd "$WF_HOME" && find state queue reports events ctl log -type f |
	    sort | xargs -r md5sum)
}

@test "projects and tasks: create, list, show, update, context; records as the CLI prints them" {
	api POST /api/projects/create "{\"name\":\"demo\",\"repo_path\":\"$REPO\",\"test_command\":\"sh run_tests.sh\"}"
	echo "$output"
	[ "$code" = 201 ]
	pid=$(jq -r .id <<<"$output")
	[ "$pid" = 1 ]
	api POST "/api/projects/$pid/tasks/create" '{"title":"write the parser","task_id":"T-1","priority":2}'
	[ "$code" = 201 ]
	tid=$(jq -r .id <<<"$output")
	[ "$(jq -r .project_id <<<"$output")" = "$pid" ]
	api POST "/api/projects/$pid/tasks/create" '{"title":"second","task_id":"T-2"}'
	[ "$code" = 201 ]

	anon GET /api/projects
	[ "$code" = 200 ]
	[ "$output" = "$("$B/wf" project list --json)" ]
	anon GET "/api/projects/$pid/tasks"
	[ "$(jq length <<<"$output")" -eq 2 ]
	[ "$output" = "$("$B/wf" task list --project-id "$pid" --json)" ]
	anon GET "/api/tasks/$tid"
	[ "$output" = "$("$B/wf" task show "$tid" --json)" ]

	api POST "/api/tasks/$tid/status" '{"status":"in_progress"}'
	[ "$code" = 200 ]
	[ "$(jq -r .status <<<"$output")" = in_progress ]
	anon GET "/api/projects/$pid/tasks?status=in_progress"
	[ "$(jq -r '.[].id' <<<"$output")" = "$tid" ]
	api PATCH "/api/tasks/$tid/update" '{"title":"write the lexer"}'
	[ "$code" = 200 ]
	[ "$(jq -r .title <<<"$output")" = "write the lexer" ]
	api PATCH "/api/projects/$pid/update" '{"description":"a demo"}'
	[ "$code" = 200 ]

	anon GET "/api/projects/$pid/context"
	[ "$code" = 200 ]
	[ "$output" = "$("$B/wf" project context "$pid" --json)" ]
	[ "$(jq '.tasks | length' <<<"$output")" -eq 2 ]
	[ "$(jq -r .project.description <<<"$output")" = "a demo" ]

	# the board is wf board --json, byte for byte
	anon GET /api/board
	[ "$output" = "$("$B/wf" board --json)" ]
	[ "$(jq '.tasks.in_progress | length' <<<"$output")" -eq 1 ]
	anon GET "/api/board?project_id=$pid"
	[ "$output" = "$("$B/wf" board --project-id "$pid" --json)" ]

	# every change is audited under the token's name
	anon GET "/api/log?limit=50&project_id=$pid"
	[ "$code" = 200 ]
	[ "$(jq -r '[.[].actor] | unique | join(",")' <<<"$output")" = http:alice ]
	[ "$(jq -r '.[0].action' <<<"$output")" = project.created ]
	grep -q '"actor":"http:alice","action":"task.status_changed"' \
	    "$WF_HOME/log/audit.jsonl"

	# a project in use is not deleted (409); then environments, bugs
	api DELETE "/api/projects/$pid/delete"
	[ "$code" = 409 ]
	[[ "$output" == *"in use by 2 tasks"* ]]
	api POST "/api/projects/$pid/environments/create" '{"name":"staging","url":"http://localhost:1"}'
	[ "$code" = 201 ]
	eid=$(jq -r .id <<<"$output")
	api PATCH "/api/environments/$eid/update" '{"url":"http://localhost:2"}'
	[ "$code" = 200 ]
	anon GET "/api/projects/$pid/environments"
	[ "$(jq -r '.[0].url' <<<"$output")" = http://localhost:2 ]
	api DELETE "/api/environments/$eid/delete"
	[ "$code" = 200 ]
	[ ! -e "$WF_HOME/state/environments/$eid.json" ]
	api POST /api/bugs/create "{\"title\":\"it crashes\",\"project_id\":$pid}"
	[ "$code" = 201 ]
	bid=$(jq -r .id <<<"$output")
	ls "$WF_HOME"/events/new | grep -q .
	api POST "/api/bugs/$bid/status" '{"status":"resolved"}'
	[ "$code" = 200 ]
	anon GET /api/bugs
	[ "$(jq -r '.[0].status' <<<"$output")" = resolved ]
}

@test "task dependencies: a cycle and an unknown id refused (400, the path); readiness, ?ready=1, a retry and a dropped edge" {
	api POST /api/projects/create '{"name":"deps"}'
	[ "$code" = 201 ]
	api POST /api/projects/create '{"name":"other"}'
	api POST /api/projects/2/tasks/create '{"title":"elsewhere","task_id":"T-9"}'
	[ "$code" = 201 ]
	api POST /api/projects/1/tasks/create '{"title":"three","task_id":"T-3"}'
	[ "$code" = 201 ]
	api POST /api/projects/1/tasks/create '{"title":"five","task_id":"T-5","blocked_by":["T-3"]}'
	[ "$code" = 201 ]
	five=$(jq -r .id <<<"$output")
	before=$(tree)
	api PATCH /api/tasks/2/update '{"blocked_by":["T-5"]}'
	[ "$code" = 400 ]
	[ "$output" = '{"error":"blocked_by: cycle T-3 -> T-5 -> T-3"}' ]
	api POST /api/projects/1/tasks/create '{"title":"six","task_id":"T-6","blocked_by":["T-8"]}'
	[ "$code" = 400 ]
	[ "$output" = '{"error":"blocked_by: no task T-8 in project 1"}' ]
	api POST /api/projects/1/tasks/create '{"title":"six","task_id":"T-6","blocked_by":["T-9"]}'
	[ "$code" = 400 ]
	[ "$output" = '{"error":"blocked_by: T-9 is a task of project 2, not of project 1"}' ]
	api POST /api/projects/1/tasks/create '{"title":"six","task_id":"T-6","pipeline_stage":"DEV"}'
	[ "$code" = 400 ]
	[ "$(tree)" = "$before" ]

	anon GET "/api/tasks/$five"
	[ "$code" = 200 ]
	[ "$(jq -r .readiness.state <<<"$output")" = waiting ]
	[ "$(jq -r .readiness.why <<<"$output")" = "waits on T-3 (backlog)" ]
	[ "$(jq -r .pipeline_stage <<<"$output")" = NONE ]
	[ "$output" = "$("$B/wf" task show "$five" --json)" ]
	anon GET "/api/projects/1/tasks?ready=1"
	[ "$code" = 200 ]
	[ "$(jq -r '[.[].task_id] | join(",")' <<<"$output")" = T-3 ]
	[ "$output" = "$("$B/wf" task list --project-id 1 --ready --json)" ]
	anon GET "/api/projects/1/tasks?ready=yes"
	[ "$code" = 400 ]

	# fail closed, then a human's retry, then a dropped edge
	api POST /api/tasks/2/status '{"status":"failed"}'
	[ "$code" = 200 ]
	anon GET "/api/tasks/$five"
	[ "$(jq -r .readiness.state <<<"$output")" = blocked ]
	anon GET "/api/projects/1/tasks?ready=1"
	[ "$output" = '[]' ]
	api POST /api/tasks/2/status '{"status":"backlog"}'
	anon GET "/api/tasks/$five"
	[ "$(jq -r .readiness.state <<<"$output")" = waiting ]
	api PATCH "/api/tasks/$five/update" '{"blocked_by":[]}'
	[ "$code" = 200 ]
	anon GET "/api/projects/1/tasks?ready=1"
	[ "$(jq -r '[.[].task_id] | join(",")' <<<"$output")" = T-3,T-5 ]
}

@test "credentials and webhooks: secrets go in, never come out" {
	api POST /api/projects/create '{"name":"demo"}'
	api POST /api/projects/1/credentials/create '{"name":"db","credential_type":"database","secret":"hunter2-s3cret"}'
	echo "$output"
	[ "$code" = 201 ]
	[[ "$output" != *hunter2* ]]
	cid=$(jq -r .id <<<"$output")
	anon GET /api/projects/1/credentials
	[ "$code" = 200 ]
	[ "$(jq length <<<"$output")" -eq 1 ]
	[[ "$output" != *hunter2* ]]
	[[ "$output" != *'"box"'* ]]
	! grep -rq hunter2 "$WF_HOME/state" "$WF_HOME/log"
	# the vault opens it: the CLI reads what the API sealed
	run "$B/wf" cred get "$cid" --reveal
	[ "$output" = hunter2-s3cret ]
	api POST /api/projects/1/credentials/create '{"name":"x","credential_type":"database"}'
	[ "$code" = 400 ]
	[[ "$output" == *secret* ]]
	api DELETE "/api/credentials/$cid/delete"
	[ "$code" = 200 ]
	[ ! -e "$WF_HOME/state/credentials/$cid.json" ]

	api POST /api/webhooks/create '{"name":"hook","url":"http://127.0.0.1:9/x","events":["run.*"]}'
	[ "$code" = 201 ]
	made=$(jq -r .secret <<<"$output")
	[[ "$made" == whsec_* ]]
	anon GET /api/webhooks
	[ "$(jq -r '.[0].has_secret' <<<"$output")" = true ]
	[[ "$output" != *"$made"* ]]
	[[ "$output" != *'"secret"'* ]]
	api POST /api/webhooks/create '{"name":"bad","url":"ftp://x"}'
	[ "$code" = 400 ]
	# an event pattern the CLI refuses, the API refuses too
	api POST /api/webhooks/create '{"name":"bad","url":"http://127.0.0.1:9/y","events":["bad event!"]}'
	[ "$code" = 400 ]
	[[ "$output" == *"events: 'bad event!' is not a name or a glob"* ]]
	api POST /api/webhooks/create '{"name":"bad","url":"http://127.0.0.1:9/y","events":[7]}'
	[ "$code" = 400 ]
	[ "$(ls "$WF_HOME/state/webhooks" | grep -c '\.json$')" -eq 1 ]
	api DELETE /api/webhooks/1/delete
	[ "$code" = 200 ]
	anon GET /api/webhooks
	[ "$output" = "[]" ]
}

# dead NAME WEBHOOK_ID: a dead delivery as wf-notify leaves it in events/dead
dead() {
	printf '{"id":"%s","event_id":"e1","event":"bug.created","webhook_id":%s,"attempt":5,"max_attempts":5,"next_at":1,"state":"dead","body":"{\\"secret-body\\":1}","last_status":500,"last_error":"HTTP 500","created_at":"2026-01-01T00:00:00.000Z","dead_at":1767225600000}' \
	    "$1" "$2" >"$WF_HOME/events/dead/$1"
}

@test "dead deliveries: listed without their body, redelivered one and all with a token" {
	api POST /api/webhooks/create '{"name":"hook","url":"http://127.0.0.1:9/x","secret":"topsecret-1"}'
	[ "$code" = 201 ]
	dead 1700000000.M1.a.w1 1
	dead 1700000001.M2.a.w1 1
	dead 1700000002.M3.a.w1 1
	anon GET /api/webhooks/deliveries
	[ "$code" = 400 ]
	anon GET '/api/webhooks/deliveries?dead=1'
	[ "$code" = 200 ]
	[ "$(jq -r 'map(.id) | join(" ")' <<<"$output")" = "1700000000.M1.a.w1 1700000001.M2.a.w1 1700000002.M3.a.w1" ]
	[ "$(jq -r '.[0].last_error' <<<"$output")" = "HTTP 500" ]
	[[ "$output" != *secret-body* ]]
	[[ "$output" != *topsecret* ]]
	anon GET '/api/webhooks/deliveries?dead=1&webhook_id=2'
	[ "$output" = "[]" ]
	# no token: refused, nothing moved
	anon POST /api/webhooks/deliveries/1700000000.M1.a.w1/redeliver
	[ "$code" = 401 ]
	anon POST /api/webhooks/deliveries/redeliver-all
	[ "$code" = 401 ]
	[ "$(ls "$WF_HOME/events/dead" | wc -l)" -eq 3 ]
	api POST /api/webhooks/deliveries/1700000000.M1.a.w1/redeliver
	[ "$code" = 200 ]
	[ ! -e "$WF_HOME/events/dead/1700000000.M1.a.w1" ]
	f="$WF_HOME/events/deferred/1700000000.M1.a.w1"
	[ "$(jq -r '"\(.attempt) \(.state)"' "$f")" = "0 pending" ]
	[ "$(jq -r .body "$f")" = '{"secret-body":1}' ]
	api POST /api/webhooks/deliveries/1700000000.M1.a.w1/redeliver
	[ "$code" = 404 ]
	api POST /api/webhooks/deliveries/.x/redeliver
	[ "$code" = 400 ]
	grep -q '"webhook.redeliver"' "$WF_HOME/log/audit.jsonl"
	# an inactive webhook's: refused with why, left dead
	"$B/wf" webhook update 1 --inactive >/dev/null
	api POST /api/webhooks/deliveries/1700000001.M2.a.w1/redeliver
	[ "$code" = 409 ]
	[[ "$output" == *inactive* ]]
	"$B/wf" webhook update 1 --active >/dev/null
	api POST /api/webhooks/deliveries/redeliver-all
	[ "$code" = 200 ]
	[ "$(jq -r '.redelivered | length' <<<"$output")" -eq 2 ]
	[ "$(jq -r '.failed | length' <<<"$output")" -eq 0 ]
	[ "$(ls "$WF_HOME/events/dead" | wc -l)" -eq 0 ]
	[ "$(ls "$WF_HOME/events/deferred" | wc -l)" -eq 3 ]
	anon GET '/api/webhooks/deliveries?dead=1'
	[ "$output" = "[]" ]
}

@test "the queue: enqueue, see it in status and list, cancel it through wf-dispatch" {
	api POST /api/queue/enqueue '{"job_type":"command","request_data":{"argv":["sleep","30"]},"priority":"high","timeout":60}'
	echo "$output"
	[ "$code" = 201 ]
	id=$(jq -r .id <<<"$output")
	only_in "$id" queue/2-high/new
	anon GET /api/queue/status
	[ "$(jq .waiting_by_priority.high <<<"$output")" -eq 1 ]
	[ "$output" = "$("$B/wf" queue status --json)" ]
	anon GET /api/queue/jobs
	[ "$(jq -r '.[0].id' <<<"$output")" = "$id" ]
	anon GET "/api/queue/jobs/$id"
	[ "$(jq -r .position <<<"$output")" = 1 ]
	anon GET "/api/queue/jobs?status=bogus"
	[ "$code" = 400 ]
	anon GET /api/queue/jobs/nosuchjob
	[ "$code" = 404 ]
	anon GET '/api/queue/jobs/..bad'
	[ "$code" = 400 ]
	# the same validation as wf-enqueue
	api POST /api/queue/enqueue '{"job_type":"nosuch"}'
	[ "$code" = 400 ]
	[[ "$output" == *job_type* ]]
	api POST /api/queue/enqueue '{"job_type":"command","request_data":{"argv":["true"]},"colour":"red"}'
	[ "$code" = 400 ]
	[[ "$output" == *colour* ]]

	start_dispatch
	wait_until "$(slow 10)" only_in "$id" active
	api POST "/api/queue/jobs/$id/cancel"
	[ "$code" = 202 ]
	[ "$(jq -r .requested <<<"$output")" = cancel ]
	ended "$id" cancelled
	api POST "/api/queue/jobs/$id/cancel"
	[ "$code" = 409 ]
	anon GET "/api/queue/jobs?status=cancelled"
	[ "$(jq -r '.[0].id' <<<"$output")" = "$id" ]
	grep -q "\"actor\":\"http:alice\",\"action\":\"job.cancel_requested\"" \
	    "$WF_HOME/log/audit.jsonl"
	api POST "/api/queue/jobs/$id/retry"
	[ "$code" = 202 ]
}

@test "no token, a wrong token, a removed token: 401 and nothing written" {
	before=$(tree)
	anon POST /api/projects/create '{"name":"sneaky"}'
	[ "$code" = 401 ]
	[[ "$output" == *"token is needed"* ]]
	TOKEN=$(printf '%064d' 0) api POST /api/projects/create '{"name":"sneaky"}'
	[ "$code" = 401 ]
	TOKEN=not-even-hex api DELETE /api/projects/1/delete
	[ "$code" = 401 ]
	anon POST /api/queue/enqueue '{"job_type":"command","request_data":{"argv":["true"]}}'
	[ "$code" = 401 ]
	[ "$(tree)" = "$before" ]
	[ -z "$(queued)" ]
	[ ! -e "$WF_HOME/log/audit.jsonl" ]
	grep -q '401 POST /api/projects/create: no token' "$BATS_TEST_TMPDIR/httpd.log"
	# a 401 says how to authenticate
	run curl -s -i -X POST "$HTTPD_URL/api/projects/create"
	[[ "$output" == *"WWW-Authenticate: Bearer"* ]]
	# reads are open
	anon GET /api/projects
	[ "$code" = 200 ]
	# a removed token is refused from the next request on
	api POST /api/projects/create '{"name":"ok"}'
	[ "$code" = 201 ]
	"$B/wf" token rm alice
	api POST /api/projects/create '{"name":"late"}'
	[ "$code" = 401 ]
	[ ! -e "$WF_HOME/state/projects/2.json" ]
}

@test "bad input: malformed JSON, unknown field, bad id, huge body, wrong method, unknown route" {
	before=$(tree)
	api POST /api/projects/create '{"name": "x",'
	[ "$code" = 400 ]
	[ "$(wc -l <<<"$output")" -eq 1 ]
	[[ "$(jq -r .error <<<"$output")" == *"malformed JSON"* ]]
	api POST /api/projects/create '[1,2]'
	[ "$code" = 400 ]
	api POST /api/projects/create '{"name":"x"} {"name":"y"}'
	[ "$code" = 400 ]
	api POST /api/projects/create '{"name":"x","colour":"red"}'
	[ "$code" = 400 ]
	[[ "$(jq -r .error <<<"$output")" == *"colour"* ]]
	api POST /api/projects/create '{"name":"x","repo_path":"relative/dir"}'
	[ "$code" = 400 ]
	api GET /api/projects/abc
	[ "$code" = 400 ]
	api GET /api/projects/0
	[ "$code" = 400 ]
	api GET /api/projects/99999999999999999999
	[ "$code" = 400 ]
	api GET /api/projects/42
	[ "$code" = 404 ]
	api GET /api/nosuch
	[ "$code" = 404 ]
	api DELETE /api/projects
	[ "$code" = 405 ]
	run curl -s -i -X PUT "$HTTPD_URL/api/projects/1/update"
	[[ "$output" == *" 405 "* ]]
	[[ "$output" == *"Allow: PATCH"* ]]
	head -c 2000000 /dev/zero | tr '\0' a >"$BATS_TEST_TMPDIR/big"
	api POST /api/projects/create "@$BATS_TEST_TMPDIR/big"
	[ "$code" = 413 ]
	long=$(printf 'a%.0s' $(seq 1 1100))
	api GET "/api/$long"
	[ "$code" = 414 ]
	[ "$(tree)" = "$before" ]
	# the headers of every reply
	run curl -s -i "$HTTPD_URL/api/health"
	[[ "$output" == *"Content-Type: application/json"* ]]
	[[ "$output" == *"Cache-Control: no-store"* ]]
	[[ "$output" == *"X-Content-Type-Options: nosniff"* ]]
	# and the daemon is still serving
	anon GET /api/health
	[ "$code" = 200 ]
	[ "$(jq -r .status <<<"$output")" = ok ]
}

@test "refused, not altered: a NUL (\\u0000 or raw), bytes not UTF-8, %00 in a path, an id out of range: a 400 naming the field, nothing stored" {
	api POST /api/projects/create '{"name":"p1"}'
	[ "$code" = 201 ]
	api POST /api/projects/1/tasks/create '{"title":"t","task_id":"T-1"}'
	[ "$code" = 201 ]
	api POST /api/projects/1/runs/create '{}'
	[ "$code" = 201 ]
	rid=$(jq -r .id <<<"$output")
	before=$(tree)
	api POST /api/projects/create '{"name":"ok\u0000evil"}'
	[ "$code" = 400 ]
	[ "$(jq -r .error <<<"$output")" = 'name: a NUL (\u0000) in a string, refused' ]
	# a raw NUL byte
	printf '{"name":"ok\0evil"}' >"$BATS_TEST_TMPDIR/nul"
	api POST /api/projects/create "@$BATS_TEST_TMPDIR/nul"
	[ "$code" = 400 ]
	[ "$(jq -r .error <<<"$output")" = 'name: a NUL byte in a string, refused' ]
	printf '{"name":"p2","description":"caf\351"}' >"$BATS_TEST_TMPDIR/latin1"
	api POST /api/projects/create "@$BATS_TEST_TMPDIR/latin1"
	[ "$code" = 400 ]
	[ "$(jq -r .error <<<"$output")" = 'description: not UTF-8 in a string, refused' ]
	# overlong "/" and a UTF-16 surrogate in UTF-8: not UTF-8 either
	for bad in '\300\257' '\355\240\200' '\364\220\200\200'; do
		printf "{\"name\":\"x$bad\"}" >"$BATS_TEST_TMPDIR/bad"
		api POST /api/projects/create "@$BATS_TEST_TMPDIR/bad"
		[ "$code" = 400 ]
	done
	api PATCH /api/tasks/1/update '{"title":"a\u0000b"}'
	[ "$code" = 400 ]
	[[ "$(jq -r .error <<<"$output")" == 'title: a NUL'* ]]
	for path in /api/projects/1%00 /api/projects/1%00/tasks \
	    '/api/projects?x=%00'; do
		api GET "$path"
		[ "$code" = 400 ]
		[[ "$output" == *'%00 (a NUL byte)'* ]]
	done
	api POST /api/projects/1%00/update '{"name":"p9"}'
	[ "$code" = 400 ]
	api POST /api/projects/1/tasks/create '{"title":"t2","priority":1e300}'
	[ "$code" = 400 ]
	[[ "$(jq -r .error <<<"$output")" == *priority* ]]
	api POST /api/projects/create '{"name":"p3","\u0000x":1}'
	[ "$code" = 400 ]
	for n in 1e300 -1e300 1.5 9007199254740993; do
		api POST /api/projects/1/runs/create "{\"task_id\":$n}"
		[ "$code" = 400 ]
		[[ "$(jq -r .error <<<"$output")" == "task_id: not an integer"* ]]
		api POST "/api/runs/$rid/report" "{\"run_id\":$n,\"role\":\"pm\",\"status\":\"pass\"}"
		[ "$code" = 400 ]
		[[ "$(jq -r .error <<<"$output")" == *"run_id must be a run id"* ]]
	done
	# another run's id is refused, not replaced by the path's
	api POST "/api/runs/$rid/report" "{\"run_id\":$((rid + 1)),\"role\":\"pm\",\"status\":\"pass\"}"
	[ "$code" = 400 ]
	[ "$(tree)" = "$before" ]
	# and what is UTF-8 goes in and comes out as it went in
	api POST /api/projects/create '{"name":"caf\u00e9 \u2603 \ud83d\ude00"}'
	[ "$code" = 201 ]
	[ "$("$B/wf" project list --json | jq -r '.[1].name')" = "café ☃ 😀" ]
	# an escaped backslash then "u0000" is text, not a NUL
	api POST /api/projects/create '{"name":"lit\\u0000"}'
	[ "$code" = 201 ]
	[ "$("$B/wf" project list --json | jq -r '.[2].name')" = 'lit\u0000' ]
}

@test "the page: /ui/ files with their type and CSP, / redirects, no way out of the web dir" {
	run curl -s -i "$HTTPD_URL/"
	[[ "$output" == *" 302 "* ]]
	[[ "$output" == *"Location: /ui/"* ]]
	run curl -s -i "$HTTPD_URL/ui/"
	[[ "$output" == *" 200 "* ]]
	[[ "$output" == *"Content-Type: text/html; charset=utf-8"* ]]
	[[ "$output" == *"Content-Security-Policy: default-src 'self'"* ]]
	[[ "$output" == *"<title>wf</title>"* ]]
	run curl -s -i "$HTTPD_URL/ui/style.css"
	[[ "$output" == *"Content-Type: text/css"* ]]
	anon GET /ui/nosuch.js
	[ "$code" = 404 ]
	# .. is never a name, whatever the client sends
	run curl -s -o /dev/null -w '%{http_code}' --path-as-is \
	    "$HTTPD_URL/ui/../etc/passwd"
	[ "$output" = 404 ]
	run curl -s --path-as-is "$HTTPD_URL/ui/../../../../etc/passwd"
	[[ "$output" != *root:* ]]
	run curl -s -o /dev/null -w '%{http_code}' "$HTTPD_URL/ui/.hidden"
	[ "$output" = 404 ]
	# a symbolic link in the web dir is not followed
	ln -s /etc/passwd "$WEB/passwd.txt"
	run curl -s -o /dev/null -w '%{http_code}' "$HTTPD_URL/ui/passwd.txt"
	[ "$output" = 403 ]
	mkdir "$WEB/sub"
	ln -s /etc "$WEB/etc"
	echo 'x' >"$WEB/sub/a.js"
	run curl -s "$HTTPD_URL/ui/sub/a.js"
	[ "$output" = x ]
	run curl -s -o /dev/null -w '%{http_code}' "$HTTPD_URL/ui/etc/passwd"
	[ "$output" = 403 ]
	anon POST /ui/index.html
	[ "$code" = 405 ]
}

@test "DNS rebinding: on loopback, a request naming another host is refused, with its body and token unread" {
	port=${HTTPD_URL##*:}
	for h in "127.0.0.1:$port" "localhost:$port" "LOCALHOST" "[::1]:$port"; do
		run curl -s -o /dev/null -w '%{http_code}' -H "Host: $h" "$HTTPD_URL/api/health"
		[ "$output" = 200 ]
	done
	for h in "evil.example:$port" "127.0.0.1.evil.example" "localhostx:$port"; do
		run curl -s -o /dev/null -w '%{http_code}' -H "Host: $h" "$HTTPD_URL/api/board"
		[ "$output" = 403 ]
		run curl -s -o /dev/null -w '%{http_code}' -H "Host: $h" "$HTTPD_URL/ui/"
		[ "$output" = 403 ]
	done
	run curl -s -H "Host: evil.example" "$HTTPD_URL/api/board"
	[[ "$output" == *'"error":"Host: not a name of this machine'* ]]
	# even with a good token, nothing is written
	run curl -s -o /dev/null -w '%{http_code}' -H "Host: evil.example" \
	    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
	    --data-binary '{"name":"rebound","repo_path":"/tmp"}' \
	    "$HTTPD_URL/api/projects/create"
	[ "$output" = 403 ]
	[ "$("$B/wf" project list --json | jq length)" -eq 0 ]
}

@test "a run through wf-dispatch and wf-gate, advanced and approved through the API: approver http:alice" {
	role pm "printf '{\"status\":\"pass\",\"summary\":\"spec written\"}\\n'"
	role dev "printf '{\"status\":\"pass\",\"summary\":\"code written\"}\\n'"
	role qa 'sh -c "$WF_TEST_COMMAND"'
	role security "printf '{\"status\":\"pass\",\"summary\":\"clean\",\"details\":{\"findings\":[]}}\\n'"
	api POST /api/projects/create "{\"name\":\"demo\",\"repo_path\":\"$REPO\",\"test_command\":\"sh run_tests.sh\"}"
	[ "$code" = 201 ]
	start_dispatch
	start_gate
	api POST /api/projects/1/execute '{"name":"first"}'
	echo "$output"
	[ "$code" = 201 ]
	rid=$(jq -r .id <<<"$output")
	[ "$(jq -r .state <<<"$output")" = PM ]
	wait_state "$rid" READY_FOR_COMMIT 60
	# READY_FOR_DEPLOY is not approved past by advance
	api POST "/api/runs/$rid/approve-deploy"
	[ "$code" = 409 ]
	api POST "/api/runs/$rid/advance"
	[ "$code" = 200 ]
	[ "$(jq -r .state <<<"$output")" = MERGED ]
	api POST "/api/runs/$rid/advance"
	[ "$(jq -r .state <<<"$output")" = READY_FOR_DEPLOY ]
	api POST "/api/runs/$rid/advance"
	[ "$code" = 409 ]
	# the approver is the token's name, never a field of the body
	api POST "/api/runs/$rid/approve-deploy" '{"approved_by":"mallory"}'
	[ "$code" = 400 ]
	[[ "$output" == *approved_by* ]]
	api POST "/api/runs/$rid/approve-deploy" '{"env":"nosuch"}'
	[ "$code" = 404 ]
	state_is "$rid" READY_FOR_DEPLOY
	anon POST "/api/runs/$rid/approve-deploy"
	[ "$code" = 401 ]
	state_is "$rid" READY_FOR_DEPLOY
	api POST "/api/runs/$rid/approve-deploy"
	[ "$code" = 200 ]
	[ "$(jq -r .state <<<"$output")" = DEPLOYED ]
	[ "$(jq -r .approved_by <<<"$output")" = http:alice ]
	anon GET "/api/runs/$rid"
	[ "$output" = "$("$B/wf" run show "$rid" --json)" ]
	anon GET "/api/runs?project_id=1"
	[ "$(jq length <<<"$output")" -eq 1 ]
	grep -q '"actor":"http:alice"' "$WF_HOME/log/audit.jsonl"
}

gitc() { git -c user.name=u -c user.email=u@localhost "$@"; }

@test "a run's diff, merge and abandon: the diff as JSON, a conflict refused with nothing changed, a merge, an abandon; 401 without a token" {
	GREPO="$BATS_TEST_TMPDIR/calc"
	mkdir -p "$GREPO"
	git -C "$GREPO" init -q -b main
	echo shared >"$GREPO/shared.txt"
	git -C "$GREPO" add -A
	gitc -C "$GREPO" commit -qm one
	base=$(git -C "$GREPO" rev-parse main)
	api POST /api/projects/create "{\"name\":\"calc\",\"repo_path\":\"$GREPO\"}"
	[ "$code" = 201 ]
	gp=$(jq -r .id <<<"$output")
	api POST "/api/projects/$gp/execute" '{"name":"fix"}'
	[ "$code" = 201 ]
	rid=$(jq -r .id <<<"$output")
	wt=$(jq -r .worktree <<<"$output")
	[ "$wt" = "$WF_HOME/work/run-$rid" ] && [ -f "$wt/.git" ]
	# what its DEV would have done, on wf/run-N in its worktree
	echo "run $rid" >"$wt/shared.txt"
	echo new >"$wt/new.txt"
	git -C "$wt" add -A
	gitc -C "$wt" commit -qm work
	tip=$(git -C "$GREPO" rev-parse "wf/run-$rid")
	"$B/wf" run set-state "$rid" READY_FOR_COMMIT --force --why t >/dev/null

	# the diff: where it began, the stat, the patch git gives
	anon GET "/api/runs/$rid/diff"
	echo "$output"
	[ "$code" = 200 ]
	[ "$(jq -r '[.run_id, .branch, .base_branch, .base_commit] | join("|")' <<<"$output")" = "$rid|wf/run-$rid|main|$base" ]
	[ "$(jq -r .stat <<<"$output")" = "$(git -C "$GREPO" diff --stat "$base" "wf/run-$rid")" ]
	[[ "$(jq -r .stat <<<"$output")" == *'new.txt    | 1 +'*'shared.txt | 2 +-'*'2 files changed, 2 insertions(+), 1 deletion(-)' ]]
	[ "$(jq -r .diff <<<"$output")" = "$(git -C "$GREPO" diff "$base" "wf/run-$rid")" ]
	[[ "$(jq -r .diff <<<"$output")" == *$'\n-shared\n+run '"$rid"* ]]
	anon GET /api/runs/999/diff
	[ "$code" = 404 ]
	# a run of a project that is no git repository has none
	api POST /api/projects/create "{\"name\":\"plain\",\"repo_path\":\"$REPO\"}"
	pp=$(jq -r .id <<<"$output")
	api POST "/api/projects/$pp/execute" '{}'
	plain=$(jq -r .id <<<"$output")
	anon GET "/api/runs/$plain/diff"
	[ "$code" = 409 ]
	[[ "$(jq -r .error <<<"$output")" == "run $plain has no branch of its own ($REPO is not a git repository"* ]]

	# the user changed the same line on main meanwhile: a conflict
	echo 'the user' >"$GREPO/shared.txt"
	gitc -C "$GREPO" commit -qam mine
	mine=$(git -C "$GREPO" rev-parse main)
	before=$(tree)
	anon POST "/api/runs/$rid/merge"
	[ "$code" = 401 ]
	api POST "/api/runs/$rid/merge" '{"into":"elsewhere"}'
	[ "$code" = 400 ]
	api POST "/api/runs/$rid/merge"
	echo "$output"
	[ "$code" = 409 ]
	[[ "$(jq -r .error <<<"$output")" == *'does not merge into main cleanly'*'conflicts in: shared.txt' ]]
	# nothing changed: the store, the branch, main, the user's tree
	[ "$(tree)" = "$before" ]
	state_is "$rid" READY_FOR_COMMIT
	[ "$(git -C "$GREPO" rev-parse main)" = "$mine" ]
	[ "$(git -C "$GREPO" rev-parse "wf/run-$rid")" = "$tip" ]
	[ -z "$(git -C "$GREPO" status --porcelain)" ]
	[ "$(cat "$GREPO/shared.txt")" = 'the user' ]

	# once the user's commit is gone, it merges: a fast-forward
	gitc -C "$GREPO" reset -q --hard HEAD~1
	api POST "/api/runs/$rid/merge"
	echo "$output"
	[ "$code" = 200 ]
	[ "$(jq -r '[.state, .merge.how, .merge.into, .merge.commit, .merge.by] | join("|")' <<<"$output")" = "MERGED|fast-forward|main|$tip|http:alice" ]
	[ "$(git -C "$GREPO" rev-parse main)" = "$tip" ]
	[ "$(cat "$GREPO/new.txt")" = new ]
	grep '"action":"run.merged"' "$WF_HOME/log/audit.jsonl" | grep -q '"actor":"http:alice"'
	api POST "/api/runs/$rid/merge"
	[ "$code" = 409 ]
	[[ "$(jq -r .error <<<"$output")" == 'run is MERGED: merge needs READY_FOR_COMMIT' ]]

	# abandon: a human's, with a reason; the worktree goes, the branch stays
	before=$(tree)
	anon POST "/api/runs/$rid/abandon" '{"why":"by nobody"}'
	[ "$code" = 401 ]
	api POST "/api/runs/$rid/abandon" '{"reason":"x"}'
	[ "$code" = 400 ]
	[ "$(tree)" = "$before" ]
	[ -d "$wt" ]
	api POST "/api/runs/$rid/abandon" '{"why":"superseded"}'
	echo "$output"
	[ "$code" = 200 ]
	[ "$(jq -r '[.state, .history[-1].why] | join("|")' <<<"$output")" = 'ABANDONED|abandoned by http:alice: superseded' ]
	[ ! -e "$wt" ]
	git -C "$GREPO" rev-parse -q --verify "refs/heads/wf/run-$rid" >/dev/null
	api POST "/api/runs/$rid/abandon"
	[ "$code" = 409 ]
	[[ "$(jq -r .error <<<"$output")" == 'run is ABANDONED: it has ended already' ]]
	# the branch's diff stays readable
	anon GET "/api/runs/$rid/diff"
	[ "$code" = 200 ]
	# with no body at all, too
	api POST "/api/runs/$plain/abandon"
	[ "$code" = 200 ]
	[ "$(jq -r .state <<<"$output")" = ABANDONED ]
}

@test "a run started with a free-text request keeps it; a command PM gets it as WF_REQUEST" {
	cat >"$REPO/pm.sh" <<-'EOF'
	printf '%s' "$WF_REQUEST" >"request.$WF_RUN_ID"
	printf '{"status":"pass","summary":"read the request"}\n'
	EOF
	role pm 'sh pm.sh'
	api POST /api/projects/create "{\"name\":\"demo\",\"repo_path\":\"$REPO\"}"
	[ "$code" = 201 ]
	req='Add a "dark mode" toggle; keep <b>it</b> simple.
Second line: ünïcode too.'
	body=$(jq -nc --arg r "$req" '{name: "asked", request: $r}')
	# the request is checked: a string, not too long
	api POST /api/projects/1/execute '{"request":7}'
	[ "$code" = 400 ]
	api POST /api/projects/1/execute "$(jq -nc '{request: ("x" * 70000)}')"
	[ "$code" = 400 ]
	[[ "$output" == *'request: longer than'* ]]
	[ -z "$(ls "$WF_HOME/state/runs" | grep '\.json$')" ]
	api POST /api/projects/1/execute "$body"
	echo "$output"
	[ "$code" = 201 ]
	rid=$(jq -r .id <<<"$output")
	[ "$(jq -r .request <<<"$output")" = "$req" ]
	[ "$(jq -r .request "$WF_HOME/state/runs/$rid.json")" = "$req" ]
	# a blank one is none
	api POST /api/projects/1/execute '{"request":"  \n "}'
	[ "$code" = 201 ]
	[ "$(jq -r 'has("request")' <<<"$output")" = false ]
	blank=$(jq -r .id <<<"$output")
	start_dispatch
	wait_until "$(slow 30)" test -e "$REPO/request.$rid" -a -e "$REPO/request.$blank"
	[ "$(cat "$REPO/request.$rid")" = "$req" ]
	[ ! -s "$REPO/request.$blank" ]
}

@test "a report dropped through the API is applied by wf-gate" {
	api POST /api/projects/create "{\"name\":\"demo\",\"repo_path\":\"$REPO\"}"
	api POST /api/projects/1/tasks/create '{"title":"t","task_id":"T-1"}'
	start_gate
	# no wf-dispatch: the PM agent job waits, and the report stands in
	api POST /api/tasks/1/execute
	[ "$code" = 201 ]
	rid=$(jq -r .id <<<"$output")
	[ "$(jq -r .task_id <<<"$output")" = 1 ]
	api POST "/api/runs/$rid/report" '{"role":"pm","status":"maybe"}'
	[ "$code" = 400 ]
	api POST "/api/runs/99/report" '{"role":"pm","status":"pass"}'
	[ "$code" = 404 ]
	api POST "/api/runs/$rid/report" '{"role":"pm","status":"pass","summary":"spec via the API"}'
	echo "$output"
	[ "$code" = 202 ]
	rep=$(jq -r .report_id <<<"$output")
	[ -n "$rep" ]
	wait_state "$rid" DEV
	[ "$(jq -r .results.pm.summary "$WF_HOME/state/runs/$rid.json")" = "spec via the API" ]
	wait_until "$(slow 5)" test -e "$WF_HOME/reports/cur/$rep"
}

@test "signals: SIGHUP keeps serving (and reloads), SIGTERM exits 0" {
	anon GET /api/health
	[ "$code" = 200 ]
	kill -HUP "$HTTPD_PID"
	wait_until 5 grep -q reloaded "$BATS_TEST_TMPDIR/httpd.log"
	alive "$HTTPD_PID"
	anon GET /api/health
	[ "$code" = 200 ]
	api POST /api/projects/create '{"name":"after-hup"}'
	[ "$code" = 201 ]
	stop_httpd
	[ "$HTTPD_RC" -eq 0 ]
	grep -q 'stopped' "$BATS_TEST_TMPDIR/httpd.log"
}

@test "start-up refusals: a remote address without allow_remote, a bad address, a taken port" {
	run -78 "$B/wf-httpd" -l 0.0.0.0:0
	[[ "$output" == *"not a loopback address"* ]]
	[ "${#lines[@]}" -eq 1 ]
	run -64 "$B/wf-httpd" -l nonsense
	[ "${#lines[@]}" -eq 1 ]
	wf_config '[httpd]' 'listen = 127.0.0.1:notaport'
	run -78 "$B/wf-httpd"
	[[ "$output" == *"$WF_CONFIG: line 2: listen: '127.0.0.1:notaport' is not ADDR:PORT"* ]]
	: >"$WF_CONFIG"
	# a taken port, from another spool (on this one, the first wf-httpd
	# refuses a second whatever its port)
	WF_HOME="$BATS_TEST_TMPDIR/other" "$B/wf" init >/dev/null
	run -69 env WF_HOME="$BATS_TEST_TMPDIR/other" timeout 10 \
	    "$B/wf-httpd" -l "127.0.0.1:$HTTPD_PORT"
	[[ "$output" == *"cannot listen"* ]]
	run -75 timeout 10 "$B/wf-httpd" -l 127.0.0.1:0
	[[ "$output" == *"already running (pid $HTTPD_PID)"* ]]
}
