#!/usr/bin/env bats
# director: wf-director with the real wf-dispatch, wf-gate and wf-agent,
# command-backed roles (no model).  Ready tasks start in priority order,
# never more than max_active a project, never one that waits or is
# blocked; a failure stops the chain behind it until a human retries it;
# a stuck run is retried, then handed to a human; kill -9 at any point
# never starts a second run for a task; the setting survives a restart.

load helpers

setup() {
	wf_setup
	GATE_PID= DIRECTOR_PID=
	REPO="$BATS_TEST_TMPDIR/repo"
	ROLES="$BATS_TEST_TMPDIR/roles"
	FLAGS="$BATS_TEST_TMPDIR/flags"
	mkdir -p "$REPO" "$ROLES" "$FLAGS"
	# QA fails the task named by a flag file fail-<task id>
	cat >"$BATS_TEST_TMPDIR/qa.sh" <<-QA
	t=\$(jq -r .task_id "$WF_HOME/state/runs/\$WF_RUN_ID.json")
	if [ -e "$FLAGS/fail-\$t" ]; then
		printf '{"status":"fail","summary":"a test fails","details":{"tests_run":2,"tests_passed":1,"tests_failed":1}}\n'
	else
		printf '{"status":"pass","summary":"tests pass","details":{"tests_run":2,"tests_passed":2,"tests_failed":0}}\n'
	fi
	QA
	role pm "printf '{\"status\":\"pass\",\"summary\":\"spec\"}\\n'"
	role dev "sleep 0.3; printf '{\"status\":\"pass\",\"summary\":\"code\"}\\n'"
	role qa "sh $BATS_TEST_TMPDIR/qa.sh"
	role security "printf '{\"status\":\"pass\",\"summary\":\"clean\",\"details\":{\"findings\":[]}}\\n'"
	PROJ=$("$B/wf" project create --name demo --repo-path "$REPO")
	[ -n "$PROJ" ]
}

teardown() {
	local rc=0
	daemons_ok || rc=1
	stop_director
	stop_gate
	stop_dispatch
	kill_strays
	sanitizer_check || rc=1
	return $rc
}

# role NAME COMMAND [TIMEOUT]
role() {
	printf '[role]\nbackend = command\ncommand = %s\ntimeout = %s\n' "$2" \
	    "${3:-60}" >"$ROLES/$1.ini"
}

# config LINE...: the pipeline's and the director's settings, then LINE...
config() {
	# no sandbox: QA's script reads the run's file to know its task
	wf_config '[queue]' 'backoff_base = 1' '[sandbox]' 'sandbox = off' \
	    '[pipeline]' "roles_dir = $ROLES" 'auto_retry = false' \
	    'max_iter = 3' '[director]' \
	    "criteria = $(cd "$BATS_TEST_DIRNAME/../.." && pwd)/etc/director/criteria.txt" \
	    "$@"
}

start_director() {
	local log="$BATS_TEST_TMPDIR/director.log" n
	n=$(grep -c 'ready:' "$log" 2>/dev/null) || n=0
	"$B/wf-director" -v >>"$log" 2>&1 3>&- &
	DIRECTOR_PID=$!
	wait_until "$(slow 10)" ready_gt "$log" "$n" || {
		cat "$log" >&2
		return 1
	}
}

ready_gt() {
	[ "$(grep -c 'ready:' "$1" 2>/dev/null)" -gt "$2" ]
}

stop_director() {
	[ -n "${DIRECTOR_PID:-}" ] || return 0
	kill "${1:--TERM}" "$DIRECTOR_PID" 2>/dev/null || true
	wait_until 5 gone "$DIRECTOR_PID" ||
		kill -KILL "$DIRECTOR_PID" 2>/dev/null || true
	wait "$DIRECTOR_PID" 2>/dev/null || true
	DIRECTOR_PID=
}

# task TASK_ID PRIORITY [BLOCKED_BY]
task() {
	"$B/wf" task create --project-id "$PROJ" --task-id "$1" \
	    --title "task $1" --priority "$2" ${3:+--blocked-by "$3"} >/dev/null
}

# the id of task T
tid() {
	"$B/wf" task list --project-id "$PROJ" --json |
	    jq -r --arg t "$1" '.[] | select(.task_id == $t) | .id'
}

# the runs of task T (by the runs' own task_id), one id a line
runs_of() {
	local id
	id=$(tid "$1")
	cat "$WF_HOME"/state/runs/[0-9]*.json 2>/dev/null |
	    jq -r --argjson t "$id" 'select(.task_id == $t) | .id'
}

# the state of task T's run
run_state() {
	local r
	r=$(runs_of "$1" | head -n 1)
	[ -n "$r" ] && jget "$WF_HOME/state/runs/$r.json" state
}

state_of() { [ "$(run_state "$1")" = "$2" ]; }

has_run() { [ -n "$(runs_of "$1")" ]; }

# active runs of the project now (a run's state before READY_FOR_COMMIT)
active_runs() {
	cat "$WF_HOME"/state/runs/[0-9]*.json 2>/dev/null |
	    jq -s '[.[] | select(.state | IN("PM","DEV","QA","SEC","QA_FAILED","SEC_FAILED"))] | length'
}

# wait_watch SECS MAX CMD...: until CMD holds, checking at every poll that
# no more than MAX runs are active at once
wait_watch() {
	local end=$((SECONDS + $1)) max=$2 n
	shift 2
	until "$@"; do
		n=$(active_runs)
		if [ "$n" -gt "$max" ]; then
			echo "$n runs active at once, above $max" >&2
			return 1
		fi
		if [ "$SECONDS" -ge "$end" ] || ! daemons_ok; then
			echo "gave up waiting for: $*" >&2
			cat "$BATS_TEST_TMPDIR/director.log" >&2
			"$B/wf" run list >&2
			return 1
		fi
		sleep 0.1
	done
}

audit_count() {
	grep -c "\"action\":\"$1\"" "$WF_HOME/log/audit.jsonl" || true
}

@test "five tasks, two waiting on others, one dependency failing: ready ones start in priority order, at most max_active, the chain stops at the failure until a human retries it, then all reach READY_FOR_COMMIT" {
	config 'interval = 1' 'max_active = 2' 'stuck_after = 3600'
	task T1 2
	task T2 1
	task T3 3
	task T4 1 T2
	task T5 2 T1
	: >"$FLAGS/fail-$(tid T2)"
	start_dispatch
	start_gate
	start_director
	# off until turned on: nothing starts
	sleep 1.2
	[ -z "$(ls "$WF_HOME/state/runs" | grep json)" ]
	run "$B/wf" director on
	[ "$status" -eq 0 ]
	[[ "$output" == "director: on (wf-director running)"* ]]
	# the first pass: T2 (priority 1) then T1 (2); T3 waits for a slot,
	# T4 and T5 for their dependencies
	wait_watch 20 2 has_run T1
	[ "$(runs_of T2)" -lt "$(runs_of T1)" ]
	[ -z "$(runs_of T4)" ] && [ -z "$(runs_of T5)" ]
	# a task's run is its run_id, and the criteria came from the template
	"$B/wf" task show "$(tid T1)" --json >"$BATS_TEST_TMPDIR/t1.json"
	[ "$(jq -r .run_id "$BATS_TEST_TMPDIR/t1.json")" = "$(runs_of T1)" ]
	[ "$(jq -r '.acceptance_criteria[0]' "$BATS_TEST_TMPDIR/t1.json")" = \
	    "task T1: done as described in T1, nothing more" ]
	# T2 fails QA and waits for a human; T1 reaches READY_FOR_COMMIT,
	# then T3 takes its slot
	wait_watch 30 2 state_of T2 QA_FAILED
	wait_watch 30 2 state_of T1 READY_FOR_COMMIT
	wait_watch 30 2 has_run T3
	[ -z "$(runs_of T5)" ]
	# a human merges T1: T5 is ready and starts
	"$B/wf" run advance "$(runs_of T1)"
	wait_watch 30 2 has_run T5
	wait_watch 30 2 state_of T3 READY_FOR_COMMIT
	wait_watch 30 2 state_of T5 READY_FOR_COMMIT
	# T4 stays behind the failed T2, however many passes go by
	sleep 2
	[ -z "$(runs_of T4)" ]
	run "$B/wf" director status --json
	[ "$(jq -r '.ready | length' <<<"$output")" -eq 0 ]
	# the human mends T2 and retries it; merged, T4 starts at last
	rm "$FLAGS/fail-$(tid T2)"
	"$B/wf" run retry "$(runs_of T2)"
	wait_watch 30 2 state_of T2 READY_FOR_COMMIT
	"$B/wf" run advance "$(runs_of T2)"
	wait_watch 30 2 state_of T4 READY_FOR_COMMIT
	# one run a task, every one of them through READY_FOR_COMMIT
	for t in T1 T2 T3 T4 T5; do
		[ "$(runs_of $t | wc -l)" -eq 1 ]
		r=$(runs_of $t)
		jq -e '[.history[] | select(.to == "READY_FOR_COMMIT")] | length == 1' \
		    "$WF_HOME/state/runs/$r.json" >/dev/null
	done
	# each start is an audit line and an event, in priority order first
	[ "$(audit_count director.run_started)" -eq 5 ]
	[ "$(audit_count director.criteria_filled)" -eq 5 ]
	grep '"action":"director.run_started"' "$WF_HOME/log/audit.jsonl" |
	    jq -r .details.task_id | tr '\n' ' ' >"$BATS_TEST_TMPDIR/order"
	[ "$(cat "$BATS_TEST_TMPDIR/order")" = "T2 T1 T3 T5 T4 " ]
	[ "$(grep -l '"event":"director.run_started"' "$WF_HOME"/events/new/* |
	    wc -l)" -eq 5 ]
}

@test "a stuck run (its role never reports) is retried, then handed to a human with the reason" {
	config 'interval = 1' 'max_active = 1' 'stuck_after = 2' 'retries = 2'
	role dev "sleep 300" 600
	task T1 3
	start_dispatch
	start_gate
	start_director
	"$B/wf" director on >/dev/null
	wait_for_cmd 30 has_run T1
	r=$(runs_of T1)
	wait_for_cmd 40 jq -e '.waiting_for_human == true' \
	    "$WF_HOME/state/runs/$r.json"
	[ "$(jget "$WF_HOME/state/runs/$r.json" state)" = DEV ]
	[[ "$(jget "$WF_HOME/state/runs/$r.json" waiting_reason)" == *"stuck in DEV"*"after 2 retries"* ]]
	[ "$(audit_count director.retried)" -eq 2 ]
	[ "$(audit_count director.gave_up)" -eq 1 ]
	# each retry queued DEV's job again: three DEV jobs in all
	n=$(grep -l "\"run_id\":$r" -r "$WF_HOME"/queue "$WF_HOME"/active \
	    "$WF_HOME"/done "$WF_HOME"/failed 2>/dev/null |
	    xargs -r grep -l '"role":"dev"' | wc -l)
	[ "$n" -eq 3 ]
	# and no more: a held run is the human's
	sleep 3
	[ "$(audit_count director.retried)" -eq 2 ]
	[ "$(audit_count director.gave_up)" -eq 1 ]
}

@test "wf-director killed with kill -9 at random points and restarted starts no run twice" {
	config 'interval = 1' 'max_active = 3' 'stuck_after = 3600'
	for i in 1 2 3 4 5 6 7 8; do task "T$i" $(((i % 4) + 1)); done
	start_dispatch
	start_gate
	"$B/wf" director on >/dev/null
	# killed right between a run's creation and its task's link (in its
	# first pass, before it is ready)
	WF_FAULT=director.created "$B/wf-director" 2>>"$BATS_TEST_TMPDIR/director.log" 3>&- &
	DIRECTOR_PID=$!
	wait_for_cmd 10 dead "$DIRECTOR_PID"
	wait "$DIRECTOR_PID" 2>/dev/null || true
	[ "$(cat "$WF_HOME"/state/runs/[0-9]*.json | jq -s length)" -eq 1 ]
	# then at random points, over and over
	for _ in $(seq 1 12); do
		start_director
		sleep "0.$((RANDOM % 5))"
		stop_director -KILL
	done
	start_director
	wait_for_cmd 50 all_ready_for_commit 8
	for i in 1 2 3 4 5 6 7 8; do
		[ "$(runs_of "T$i" | wc -l)" -eq 1 ] ||
		    { echo "T$i: runs $(runs_of "T$i" | tr '\n' ' ')"; false; }
		[ "$("$B/wf" task show "$(tid "T$i")" --json | jq -r .run_id)" = \
		    "$(runs_of "T$i")" ]
	done
}

@test "with an interval of an hour, what inotify sees starts a pass at once: the switch turned on, a run that leaves the active states" {
	config 'interval = 3600' 'max_active = 1' 'stuck_after = 3600'
	task T1 1
	task T2 2
	start_director
	sleep 0.5
	[ -z "$(runs_of T1)" ]
	"$B/wf" director on >/dev/null
	wait_for_cmd 5 has_run T1
	# one active run at most: T2 waits
	sleep 1
	[ -z "$(runs_of T2)" ]
	"$B/wf" run set-state "$(runs_of T1)" READY_FOR_COMMIT --force \
	    --why test >/dev/null
	wait_for_cmd 5 has_run T2
	[ "$(audit_count director.run_started)" -eq 2 ]
}

@test "the setting survives a restart; wf director refuses what is out of range" {
	run "$B/wf" director status --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .enabled <<<"$output")" = false ]
	run "$B/wf" director on --max-active 3 --stuck-after 60
	[ "$status" -eq 0 ]
	start_director
	stop_director
	start_director
	run "$B/wf" director status --json
	[ "$(jq -r .enabled <<<"$output")" = true ]
	[ "$(jq -r .max_active <<<"$output")" = 3 ]
	[ "$(jq -r .stuck_after <<<"$output")" = 60 ]
	[ "$(jq -r .running <<<"$output")" = true ]
	run -64 "$B/wf" director on --max-active 0
	run -64 "$B/wf" director off --retries 2
	run -64 "$B/wf" director sideways
	run "$B/wf" director off
	[[ "$output" == "director: off"* ]]
	[ "$(jq -r .enabled "$WF_HOME/state/director.json")" = false ]
	[ "$(audit_count director.settings)" -eq 2 ]
}

# wait_for_cmd SECS CMD...: poll until CMD holds
wait_for_cmd() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		if [ "$SECONDS" -ge "$end" ] || ! daemons_ok; then
			echo "gave up waiting for: $*" >&2
			cat "$BATS_TEST_TMPDIR/director.log" >&2
			"$B/wf" run list >&2
			return 1
		fi
		sleep 0.1
	done
}

# all_ready_for_commit N: N runs, all at READY_FOR_COMMIT
all_ready_for_commit() {
	[ "$(cat "$WF_HOME"/state/runs/[0-9]*.json 2>/dev/null |
	    jq -s '[.[] | select(.state == "READY_FOR_COMMIT")] | length')" -eq "$1" ]
}

# api METHOD PATH [BODY] (TOKEN unset: none): the reply's body in $output,
# its status in $code
api() {
	local out="$BATS_TEST_TMPDIR/reply" args
	args=(-s -o "$out" -w '%{http_code}' -X "$1")
	[ -z "${TOKEN:-}" ] || args+=(-H "Authorization: Bearer $TOKEN")
	[ $# -lt 3 ] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
	code=$(curl "${args[@]}" "$HTTPD_URL$2")
	output=$(<"$out")
}

@test "/api/director: GET says the setting; POST with a token changes it as wf director does; without one, 401" {
	TOKEN=$("$B/wf" token add alice)
	start_httpd
	api GET /api/director
	[ "$code" = 200 ]
	[ "$(jq -r .enabled <<<"$output")" = false ]
	TOKEN= api POST /api/director '{"enabled":true}'
	[ "$code" = 401 ]
	[ "$(jq -r .enabled "$WF_HOME/state/director.json" 2>/dev/null)" != true ]
	api POST /api/director '{"enabled":true,"max_active":4,"retries":0}'
	[ "$code" = 200 ]
	[ "$(jq -r .enabled <<<"$output")" = true ]
	[ "$(jq -r .max_active <<<"$output")" = 4 ]
	[ "$(jq -r .retries <<<"$output")" = 0 ]
	run "$B/wf" director status --json
	[ "$(jq -r .max_active <<<"$output")" = 4 ]
	api POST /api/director '{"max_active":65}'
	[ "$code" = 400 ]
	[[ "$output" == *max_active* ]]
	api POST /api/director '{"enabled":"yes"}'
	[ "$code" = 400 ]
	api POST /api/director '{"sideways":1}'
	[ "$code" = 400 ]
	api POST /api/director '{"enabled":false}'
	[ "$code" = 200 ]
	[ "$(jq -r .enabled "$WF_HOME/state/director.json")" = false ]
	# the limits set before stay
	[ "$(jq -r .max_active "$WF_HOME/state/director.json")" = 4 ]
	[ "$(audit_count director.settings)" -eq 2 ]
	stop_httpd
}
