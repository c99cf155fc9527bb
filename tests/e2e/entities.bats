#!/usr/bin/env bats
# entities: wf project|task|bug|env through the real CLI, no daemon: round
# trips for each kind, JSON that parses, the errors and their exit codes,
# a project's context, the audit trail and the bug.created event.

bats_require_minimum_version 1.5.0

load helpers

setup() {
	wf_setup
	mkdir -p "$BATS_TEST_TMPDIR/repo"
	REPO=$(cd "$BATS_TEST_TMPDIR/repo" && pwd -P)
}

teardown() { wf_teardown; }

# parses: stdin is JSON
parses() {
	python3 -m json.tool >/dev/null
}

# audit ACTION: how many audit lines have this action
audit() {
	grep -c "\"action\":\"$1\"" "$WF_HOME/log/audit.jsonl" || true
}

@test "project: create, show, list, update, delete" {
	cd "$BATS_TEST_TMPDIR"
	run -0 "$B/wf" project create --name demo --repo-path repo \
	    --languages c,python --languages sh --test-command 'make check'
	[ "$output" = 1 ]
	[ -f "$WF_HOME/state/projects/1.json" ]
	run -0 --separate-stderr "$B/wf" project show --json 1
	parses <<<"$output"
	# a relative repo_path is made absolute
	[ "$(jq -r .repo_path <<<"$output")" = "$REPO" ]
	[ "$(jq -c .languages <<<"$output")" = '["c","python","sh"]' ]
	[ "$(jq -r .primary_branch <<<"$output")" = main ]
	run -0 "$B/wf" project show 1
	[[ "$output" == *"test_command         make check"* ]]
	[[ "$output" == *"repo_path            $REPO"* ]]
	run -0 "$B/wf" project list
	[[ "${lines[0]}" == "ID  NAME  REPO_PATH  "*"  TEST_COMMAND" ]]
	[[ "${lines[1]}" == "1   demo  $REPO"*"make check" ]]
	run -0 --separate-stderr "$B/wf" project list --json
	parses <<<"$output"
	[ "$(jq length <<<"$output")" -eq 1 ]
	run -0 "$B/wf" project update 1 --description 'a demo' --name demo2
	run -0 --separate-stderr "$B/wf" project show 1 --json
	[ "$(jq -r .name <<<"$output")" = demo2 ]
	[ "$(jq -r .description <<<"$output")" = 'a demo' ]
	[ "$(jq -r .test_command <<<"$output")" = 'make check' ]
	run -0 "$B/wf" project delete 1
	run -66 "$B/wf" project show 1
	[[ "$output" == *"project 1: no such project"* ]]
	run -0 "$B/wf" project create --name again
	[ "$output" = 2 ]
}

@test "project: --data, with the flags over it; --json prints the record" {
	run -0 --separate-stderr "$B/wf" project create --json \
	    --data '{"name":"x","description":"from data","key_files":["a"]}' \
	    --description 'from a flag'
	parses <<<"$output"
	[ "$(jq -r .id <<<"$output")" = 1 ]
	[ "$(jq -r .description <<<"$output")" = 'from a flag' ]
	[ "$(jq -c .key_files <<<"$output")" = '["a"]' ]
	echo '{"lint_command":"make lint"}' | "$B/wf" project update 1 --data -
	run -0 --separate-stderr "$B/wf" project show 1 --json
	[ "$(jq -r .lint_command <<<"$output")" = 'make lint' ]
}

@test "errors: unknown flag, wrong type, missing field, taken name, bad repo_path" {
	"$B/wf" project create --name demo >/dev/null
	run -64 "$B/wf" project create --name x --colour blue
	[[ "$output" == *"--colour: unknown flag"* ]]
	[[ "$output" == *"usage: wf project create"* ]]
	run -64 "$B/wf" task create --project-id 1 --task-id T1 --title t \
	    --priority high
	[[ "$output" == *"--priority: 'high' is not an integer"* ]]
	run -64 "$B/wf" task create --project-id one --task-id T1 --title t
	[[ "$output" == *"--project-id"* ]]
	run -64 "$B/wf" project create --name
	[[ "$output" == *"--name needs a value"* ]]
	run -65 "$B/wf" project create --description 'no name'
	[[ "$output" == *"project: name is required"* ]]
	run -65 "$B/wf" task create --project-id 1 --title t
	[[ "$output" == *"task_id is required"* ]]
	run -65 "$B/wf" project create --name demo
	[[ "$output" == *"name 'demo' is taken by project 1"* ]]
	run -65 "$B/wf" project create --name y --repo-path /no/such/dir
	[[ "$output" == *"repo_path"*"/no/such/dir"*"No such file"* ]]
	run -65 "$B/wf" project create --name y --repo-path /etc/passwd
	[[ "$output" == *"not a directory"* ]]
	run -65 "$B/wf" task create --project-id 7 --task-id T1 --title t
	[[ "$output" == *"project 7: no such project"* ]]
	run -65 "$B/wf" task create --project-id 1 --task-id T1 --title t \
	    --status doing
	[[ "$output" == *"status must be one of backlog|in_progress"* ]]
	run -65 "$B/wf" task create --project-id 1 --task-id T1 --title t \
	    --priority 9
	[[ "$output" == *"priority must be 1 to 5"* ]]
	# read-only fields are wf's own
	run -65 "$B/wf" project create --name y --id 9
	[[ "$output" == *"id is set by wf"* ]]
	run -65 "$B/wf" project create --data '{"name":"y","created_at":"2024-01-01T00:00:00Z"}'
	[[ "$output" == *"created_at is set by wf"* ]]
	run -65 "$B/wf" project create --data '{"name":"y","bogus":1}'
	[[ "$output" == *"unknown field 'bogus'"* ]]
	run -65 "$B/wf" project create --data '{"name":"y","languages":"c"}'
	[[ "$output" == *"languages must be an array of strings"* ]]
	run -65 "$B/wf" project create --data 'not json'
	[[ "$output" == *"--data: not a JSON object"* ]]
	# refused, never altered: a NUL (escaped, or raw on stdin) and bytes
	# that are not UTF-8, from --data or a flag
	run -65 "$B/wf" project create --data '{"name":"y\u0000z"}'
	[[ "$output" == *"--data: name: a NUL (\u0000) in a string, refused"* ]]
	run -65 bash -c 'printf "{\"name\":\"y\\0z\"}" | "$1" project create --data -' _ "$B/wf"
	[[ "$output" == *"--data: name: a NUL byte in a string, refused"* ]]
	run -65 "$B/wf" project create --data $'{"name":"y\xffz"}'
	[[ "$output" == *"name: not UTF-8"* ]]
	run -65 "$B/wf" project create --name $'caf\xe9'
	[[ "$output" == *"project: name is not UTF-8"* ]]
	run -65 "$B/wf" bug create --title ok --description $'\xc0\xaf'
	[[ "$output" == *"description is not UTF-8"* ]]
	run -64 "$B/wf" project update 1
	[[ "$output" == *"nothing to change"* ]]
	# nothing refused was written
	run -0 --separate-stderr "$B/wf" project list --json
	[ "$(jq length <<<"$output")" -eq 1 ]
	[ "$(find "$WF_HOME/state/tasks" -name '*.json' | wc -l)" -eq 0 ]
}

@test "errors: ids are positive integers; a missing one is 66" {
	"$B/wf" project create --name demo >/dev/null
	for id in abc 0 -1 1x 1.5 ''; do
		run -64 "$B/wf" project show "$id"
		[[ "$output" == *"not a project id"* ]]
	done
	run -64 "$B/wf" project show
	run -64 "$B/wf" project show 1 2
	run -66 "$B/wf" project show 99
	run -66 "$B/wf" project update 99 --name z
	run -66 "$B/wf" project delete 99
	run -66 "$B/wf" task status 99 done
	run -66 "$B/wf" env show 99
	run -66 "$B/wf" project context 99
}

@test "errors: no verb, an unknown verb, no runtime tree" {
	run -64 "$B/wf" project
	[[ "$output" == *"usage: wf project create"* ]]
	run -64 "$B/wf" project frob
	[[ "$output" == *"project frob: unknown verb"* ]]
	run -64 "$B/wf" project status 1 done
	run -64 "$B/wf" env context 1
	WF_HOME="$BATS_TEST_TMPDIR/none" run -78 "$B/wf" project list
	[[ "$output" == *"wf init"* ]]
}

@test "help: every verb of every kind, on stdout, exit 0" {
	for kind in project task bug env; do
		run -0 --separate-stderr "$B/wf" "$kind" --help
		[[ "$output" == "usage: wf $kind create"* ]]
		[ -z "$stderr" ]
		for verb in create list show update delete; do
			run -0 --separate-stderr "$B/wf" "$kind" "$verb" -h
			[[ "$output" == "usage: wf $kind $verb"* ]]
			[[ "$output" == *"Exit status:"* ]]
		done
	done
	for kv in "task status" "bug status" "project context"; do
		# shellcheck disable=SC2086
		run -0 --separate-stderr "$B/wf" $kv --help
		[[ "$output" == "usage: wf $kv ID"* ]]
	done
	run -0 "$B/wf" project create --help
	[[ "$output" == *"--repo-path PATH"*"the repository on this machine"* ]]
	[[ "$output" == *"--name TEXT"*"(required)"* ]]
	[[ "$output" == *"--languages A,B,..."* ]]
	[[ "$output" != *"--created-at"* ]]
	run -0 "$B/wf" task create --help
	[[ "$output" == *"--blocked-by"* ]]
	[[ "$output" == *"--acceptance-criteria"* ]]
	# (the help wraps lines: a default may start on the next one)
	[[ "$(tr -s ' \n' '  ' <<<"$output")" == *"(default: backlog)"* ]]
	run -0 "$B/wf" task status --help
	[[ "$output" == *"backlog, in_progress, blocked, done, failed, cancelled"* ]]
	run -0 "$B/wf" env create --help
	[[ "$output" == *"--env-type VALUE"*"production"* ]]
	[[ "$output" == *"--health-check-url URL"* ]]
	run -0 "$B/wf" project context --help
	[[ "$output" == *"latest_run"* ]]
	# help changes nothing
	run -0 "$B/wf" project create --name x --help
	[ ! -e "$WF_HOME/state/projects/1.json" ]
}

@test "task: create, status, list by project and status, unique task_id per project" {
	"$B/wf" project create --name a >/dev/null
	"$B/wf" project create --name b >/dev/null
	run -0 "$B/wf" task create --project-id 1 --task-id T1 --title 'first' \
	    --priority 2 --acceptance-criteria 'it builds, it passes' \
	    --description 'the details'
	[ "$output" = 1 ]
	run -0 "$B/wf" task create --project-id 1 --task-id T2 --title second \
	    --blocked-by T1
	run -65 "$B/wf" task create --project-id 1 --task-id T1 --title dup
	[[ "$output" == *"task_id 'T1' is taken"* ]]
	run -0 "$B/wf" task create --project-id 2 --task-id T1 --title other
	[ "$output" = 3 ]
	run -0 --separate-stderr "$B/wf" task show 1 --json
	parses <<<"$output"
	[ "$(jq -c .acceptance_criteria <<<"$output")" = '["it builds","it passes"]' ]
	[ "$(jq -r .status <<<"$output")" = backlog ]
	[ "$(jq -r .priority <<<"$output")" = 2 ]
	run -0 "$B/wf" task status 1 in_progress
	[ "$output" = "1 in_progress" ]
	run -65 "$B/wf" task status 1 doing
	run -0 --separate-stderr "$B/wf" task list --project-id 1 --json
	parses <<<"$output"
	[ "$(jq length <<<"$output")" -eq 2 ]
	[ "$(jq -c .[1].blocked_by <<<"$output")" = '["T1"]' ]
	run -0 --separate-stderr "$B/wf" task list --status in_progress --json
	[ "$(jq -r '.[].task_id' <<<"$output")" = T1 ]
	run -64 "$B/wf" task list --status doing
	run -0 "$B/wf" task list
	[ "${#lines[@]}" -eq 4 ]
	[[ "${lines[0]}" == "ID  PROJECT_ID  TASK_ID  STATUS       STAGE  READY    PRIORITY  TITLE" ]]
	[[ "${lines[1]}" == "1   1           T1       in_progress  NONE   ready    2         first" ]]
	[[ "${lines[2]}" == "2   1           T2       backlog      NONE   waiting  3         second" ]]
	run -0 "$B/wf" task update 2 --title 'second, renamed' --priority 1
	run -0 --separate-stderr "$B/wf" task show 2 --json
	[ "$(jq -r .title <<<"$output")" = 'second, renamed' ]
	run -0 "$B/wf" task delete 3
	run -66 "$B/wf" task show 3
}

# ready ID: the readiness state of task ID, as wf task show --json says
ready() {
	"$B/wf" task show "$1" --json | jq -r .readiness.state
}

@test "task dependencies: unknown ids, other projects' ids and cycles refused with the path; nothing written" {
	"$B/wf" project create --name a >/dev/null
	"$B/wf" project create --name b >/dev/null
	"$B/wf" task create --project-id 1 --task-id T-3 --title three >/dev/null
	"$B/wf" task create --project-id 1 --task-id T-5 --title five --blocked-by T-3 >/dev/null
	"$B/wf" task create --project-id 2 --task-id T-9 --title nine >/dev/null
	before=$(cat "$WF_HOME"/state/tasks/*.json | md5sum)
	n=$(audit task.updated)
	run -65 --separate-stderr "$B/wf" task update 1 --blocked-by T-5
	[ "$stderr" = "wf: blocked_by: cycle T-3 -> T-5 -> T-3" ]
	run -65 --separate-stderr "$B/wf" task create --project-id 1 --task-id T-6 --title six --blocked-by T-6
	[ "$stderr" = "wf: blocked_by: cycle T-6 -> T-6" ]
	run -65 --separate-stderr "$B/wf" task create --project-id 1 --task-id T-6 --title six --blocked-by T-3,T-8
	[ "$stderr" = "wf: blocked_by: no task T-8 in project 1" ]
	run -65 --separate-stderr "$B/wf" task create --project-id 1 --task-id T-6 --title six --blocked-by T-9
	[ "$stderr" = "wf: blocked_by: T-9 is a task of project 2, not of project 1" ]
	run -65 --separate-stderr "$B/wf" task create --project-id 1 --task-id T-6 --title six --data '{"blocked_by":["T-3","T-3"]}'
	[ "$stderr" = "wf: blocked_by: T-3 is listed twice" ]
	# the stage is wf's to say, not a caller's
	run -65 --separate-stderr "$B/wf" task update 1 --data '{"pipeline_stage":"DEV"}'
	[[ "$stderr" == *"pipeline_stage is set by wf"* ]]
	# a task waited on keeps its name and is not deleted
	run -65 --separate-stderr "$B/wf" task update 1 --task-id T-33
	[ "$stderr" = "wf: task_id: T-5 waits on T-3; drop that edge first" ]
	run -65 --separate-stderr "$B/wf" task delete 1
	[ "$stderr" = "wf: task T-3: T-5 waits on it; drop that edge first" ]
	[ "$(cat "$WF_HOME"/state/tasks/*.json | md5sum)" = "$before" ]
	[ ! -e "$WF_HOME/state/tasks/4.json" ]
	[ "$(audit task.updated)" -eq "$n" ]
	# a diamond is no cycle
	run -0 "$B/wf" task create --project-id 1 --task-id T-7 --title seven --blocked-by T-3,T-5
}

@test "task readiness: follows the dependencies; a failed or cancelled one blocks until a human retries it, drops the edge or cancels" {
	"$B/wf" project create --name a >/dev/null
	"$B/wf" task create --project-id 1 --task-id T-1 --title one --priority 2 >/dev/null
	"$B/wf" task create --project-id 1 --task-id T-2 --title two --blocked-by T-1 >/dev/null
	"$B/wf" task create --project-id 1 --task-id T-3 --title three --blocked-by T-1,T-2 >/dev/null
	[ "$(ready 1)" = ready ]
	[ "$(ready 2)" = waiting ]
	run -0 --separate-stderr "$B/wf" task show 3 --json
	[ "$(jq -r .readiness.why <<<"$output")" = "waits on T-1 (backlog); T-2 (backlog)" ]
	[ "$(jq -c '[.readiness.waits_on[] | .task_id, .state]' <<<"$output")" = '["T-1","waiting","T-2","waiting"]' ]
	[ "$(jq -r .pipeline_stage <<<"$output")" = NONE ]
	run -0 "$B/wf" task show 3
	[[ "$output" == *"readiness            waiting"* ]]
	[[ "$output" == *"why                  waits on T-1 (backlog); T-2 (backlog)"* ]]
	run -0 --separate-stderr "$B/wf" task list --ready --json
	[ "$(jq -r '[.[].task_id] | join(",")' <<<"$output")" = T-1 ]

	# the stage follows the run that works on the task
	"$B/wf" run create --project-id 1 --task-id 1 >/dev/null 2>&1
	[ "$("$B/wf" task show 1 --json | jq -r .pipeline_stage)" = PM ]
	"$B/wf" run set-state 1 QA --force --why test >/dev/null
	[ "$("$B/wf" task show 1 --json | jq -r .pipeline_stage)" = QA ]
	run -0 --separate-stderr "$B/wf" task show 2 --json
	[ "$(jq -r .readiness.why <<<"$output")" = "waits on T-1 (backlog, at QA)" ]
	"$B/wf" run set-state 1 READY_FOR_COMMIT --force --why test >/dev/null
	[ "$("$B/wf" task show 1 --json | jq -r .pipeline_stage)" = COMPLETE ]
	# ...but the edge waits for the task to be done
	[ "$(ready 2)" = waiting ]
	"$B/wf" task status 1 done >/dev/null
	[ "$(ready 2)" = ready ]
	[ "$(ready 3)" = waiting ]
	run -0 --separate-stderr "$B/wf" task list --ready --json
	[ "$(jq -r '[.[].task_id] | join(",")' <<<"$output")" = T-2 ]

	# fail closed: T-2 failed blocks T-3 until a human decides
	"$B/wf" task status 2 failed >/dev/null
	[ "$(ready 3)" = blocked ]
	run -0 --separate-stderr "$B/wf" task show 3 --json
	[[ "$(jq -r .readiness.why <<<"$output")" == "blocked: T-2 failed; a human decides"* ]]
	run -0 --separate-stderr "$B/wf" task list --ready --json
	[ "$output" = '[]' ]
	# retry the dependency: back in the backlog, T-3 waits again
	"$B/wf" task status 2 backlog >/dev/null
	[ "$(ready 3)" = waiting ]
	# cancelled blocks as failed does
	"$B/wf" task status 2 cancelled >/dev/null
	[ "$(ready 3)" = blocked ]
	run -0 --separate-stderr "$B/wf" task show 3 --json
	[[ "$(jq -r .readiness.why <<<"$output")" == "blocked: T-2 was cancelled;"* ]]
	# drop the edge: T-3 waits on T-1 alone, which is done
	"$B/wf" task update 3 --blocked-by T-1 >/dev/null
	[ "$(ready 3)" = ready ]
	run -0 --separate-stderr "$B/wf" task list --ready --json
	[ "$(jq -r '[.[].task_id] | join(",")' <<<"$output")" = T-3 ]
	# an abandoned run blocks the tasks behind its task
	"$B/wf" task create --project-id 1 --task-id T-4 --title four >/dev/null
	"$B/wf" task create --project-id 1 --task-id T-5 --title five --blocked-by T-4 >/dev/null
	"$B/wf" run create --project-id 1 --task-id 4 >/dev/null 2>&1
	"$B/wf" run abandon 2 >/dev/null
	[ "$(ready 5)" = blocked ]
	[ "$("$B/wf" task show 4 --json | jq -r .pipeline_stage)" = NONE ]
	# dropping every edge
	"$B/wf" task update 5 --blocked-by '' >/dev/null
	[ "$("$B/wf" task show 5 --json | jq -c .blocked_by)" = '[]' ]
	[ "$(ready 5)" = ready ]
}

@test "bug: create makes a bug.created event; status; list" {
	"$B/wf" project create --name a >/dev/null
	[ "$(count events/new)" -eq 0 ]
	run -0 "$B/wf" bug create --title 'it broke' --app-name web \
	    --url https://x/page --project-id 1 --description 'steps'
	[ "$output" = 1 ]
	[ "$(count events/new)" -eq 1 ]
	ev=$(find "$WF_HOME/events/new" -type f)
	parses <"$ev"
	[ "$(jq -r .event "$ev")" = bug.created ]
	[ "$(jq -r .payload.title "$ev")" = 'it broke' ]
	[ "$(jq -r .payload.id "$ev")" = 1 ]
	[ "$(jq -r .payload.status "$ev")" = open ]
	run -0 "$B/wf" bug create --title 'no project'
	[ "$(count events/new)" -eq 2 ]
	run -0 "$B/wf" bug status 2 closed
	run -0 --separate-stderr "$B/wf" bug list --status open --json
	[ "$(jq -r '.[].id' <<<"$output")" = 1 ]
	run -0 --separate-stderr "$B/wf" bug list --project-id 1 --json
	[ "$(jq length <<<"$output")" -eq 1 ]
	run -0 "$B/wf" bug list
	[[ "${lines[0]}" == "ID  STATUS  APP_NAME  TITLE" ]]
	[[ "${lines[2]}" == "2   closed  -         no project" ]]
	run -0 "$B/wf" bug show 1
	[[ "$output" == *"app_name             web"* ]]
	run -65 "$B/wf" bug create --title x --project-id 9
	[ "$(count events/new)" -eq 2 ]
}

@test "env: create, list, show, update, delete" {
	"$B/wf" project create --name a >/dev/null
	"$B/wf" project create --name b >/dev/null
	run -0 "$B/wf" env create --project-id 1 --name prod --env-type production \
	    --url https://example.org --ssh-host h --ssh-user deploy \
	    --deploy-command './deploy.sh' --health-check-url https://example.org/health \
	    --test-command 'make smoke' --rollback-command './rollback.sh'
	[ "$output" = 1 ]
	run -65 "$B/wf" env create --project-id 1 --name prod
	run -0 "$B/wf" env create --project-id 2 --name prod
	run -65 "$B/wf" env create --project-id 1 --name s --env-type moon
	[[ "$output" == *"env_type must be one of"* ]]
	run -0 "$B/wf" env list --project-id 1
	[ "${#lines[@]}" -eq 2 ]
	[[ "${lines[1]}" == "1   1           prod  production  https://example.org" ]]
	run -0 --separate-stderr "$B/wf" env show 1 --json
	parses <<<"$output"
	[ "$(jq -r .rollback_command <<<"$output")" = ./rollback.sh ]
	run -0 "$B/wf" env update 1 --ssh-port 2222 --url https://example.com
	run -0 --separate-stderr "$B/wf" env show 1 --json
	[ "$(jq -r .ssh_port <<<"$output")" = 2222 ]
	[ "$(jq -r .url <<<"$output")" = https://example.com ]
	run -65 "$B/wf" env update 1 --ssh-port 70000
	run -0 "$B/wf" env delete 1
	run -66 "$B/wf" env show 1
	# a project in use is not deleted
	run -65 "$B/wf" project delete 2
	[[ "$output" == *"in use by 1 environment"* ]]
}

@test "project context: the project, its tasks, environments, latest run and open bugs" {
	"$B/wf" project create --name a --repo-path "$REPO" >/dev/null
	"$B/wf" project create --name other >/dev/null
	"$B/wf" task create --project-id 1 --task-id T1 --title one >/dev/null
	"$B/wf" task create --project-id 1 --task-id T2 --title two >/dev/null
	"$B/wf" task create --project-id 2 --task-id T1 --title elsewhere >/dev/null
	"$B/wf" env create --project-id 1 --name prod --env-type production >/dev/null
	"$B/wf" bug create --title open-one --project-id 1 >/dev/null
	"$B/wf" bug create --title fixed --project-id 1 >/dev/null
	"$B/wf" bug create --title busy --project-id 1 >/dev/null
	"$B/wf" bug create --title not-ours --project-id 2 >/dev/null
	"$B/wf" bug status 2 resolved >/dev/null
	"$B/wf" bug status 3 in_progress >/dev/null
	# an environment written by another tool, with secrets in it
	printf '%s' '{"id":9,"project_id":1,"name":"hand","ssh_password":"hunter2","api_token":"t0k","deploy_key":"k3y","Secret_Thing":"s","key_files":["a"]}' \
	    >"$WF_HOME/state/environments/9.json"
	run -0 --separate-stderr "$B/wf" project context 1 --json
	parses <<<"$output"
	[ "$(jq -r .project.name <<<"$output")" = a ]
	[ "$(jq -r '[.tasks[].task_id] | join(",")' <<<"$output")" = T1,T2 ]
	[ "$(jq -r '[.environments[].name] | join(",")' <<<"$output")" = prod,hand ]
	[ "$(jq -r '[.bugs[].title] | join(",")' <<<"$output")" = open-one,busy ]
	[ "$(jq -r .latest_run <<<"$output")" = null ]
	[[ "$output" != *hunter2* ]]
	[[ "$output" != *t0k* ]]
	[[ "$output" != *k3y* ]]
	[[ "$output" != *Secret_Thing* ]]
	[ "$(jq -c '.environments[1].key_files' <<<"$output")" = '["a"]' ]
	# the latest run is the one with the highest id
	for i in 1 2 3; do
		printf '{"id":%d,"project_id":%d,"state":"PM"}' "$i" $((i == 3 ? 2 : 1)) \
		    >"$WF_HOME/state/runs/$i.json"
	done
	run -0 --separate-stderr "$B/wf" project context 1 --json
	[ "$(jq -r .latest_run.id <<<"$output")" = 2 ]
	run -0 "$B/wf" project context 1
	[[ "$output" == *"tasks: 2"* ]]
	[[ "$output" == *"latest run: 2, state PM"* ]]
	[[ "$output" == *"open bugs: 2"* ]]
	[[ "$output" != *hunter2* ]]
}

@test "audit: every change is a line in log/audit.jsonl" {
	"$B/wf" project create --name a >/dev/null
	"$B/wf" project update 1 --description d >/dev/null
	"$B/wf" task create --project-id 1 --task-id T1 --title t >/dev/null
	"$B/wf" task status 1 done >/dev/null
	"$B/wf" bug create --title b >/dev/null
	"$B/wf" bug status 1 closed >/dev/null
	"$B/wf" env create --project-id 1 --name e >/dev/null
	"$B/wf" env delete 1 >/dev/null
	"$B/wf" task delete 1 >/dev/null
	"$B/wf" project delete 1 >/dev/null
	# refusals are not changes
	"$B/wf" project create --name a --bogus x 2>/dev/null || true
	"$B/wf" project show 1 2>/dev/null || true
	log="$WF_HOME/log/audit.jsonl"
	while read -r line; do parses <<<"$line"; done <"$log"
	[ "$(wc -l <"$log")" -eq 10 ]
	for a in project.created project.updated project.deleted task.created \
	    task.status_changed task.deleted bug.created bug.status_changed \
	    environment.created environment.deleted; do
		[ "$(audit "$a")" -eq 1 ]
	done
	line=$(grep '"task.status_changed"' "$log")
	[ "$(jq -r .entity_type <<<"$line")" = task ]
	[ "$(jq -r .entity_id <<<"$line")" = 1 ]
	[ "$(jq -c .details <<<"$line")" = '{"from":"backlog","to":"done"}' ]
	line=$(grep '"project.updated"' "$log")
	[ "$(jq -c .details <<<"$line")" = '{"description":{"from":null,"to":"d"}}' ]
	[ "$(jq -r .actor <<<"$line")" = "$(id -un)" ]
}
