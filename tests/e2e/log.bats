#!/usr/bin/env bats
# log: wf log over log/audit.jsonl: the filters (--run, --project,
# --entity, --since), --json, lines it cannot read, a job's end recorded by
# wf-dispatch, and --follow (inotify), also when the file does not exist
# yet.

load helpers

setup() {
	wf_setup
	FOLLOW_PID=
	REPO="$BATS_TEST_TMPDIR/repo"
	mkdir -p "$REPO"
	A=$WF_HOME/log/audit.jsonl
}

teardown() {
	if [ -n "$FOLLOW_PID" ]; then
		kill -KILL "$FOLLOW_PID" 2>/dev/null || true
		wait "$FOLLOW_PID" 2>/dev/null || true
	fi
	wf_teardown
}

# some entities: projects 1 and 2, a task of each, a run of project 1
entities() {
	"$B/wf" project create --name one --repo-path "$REPO" >/dev/null
	"$B/wf" project create --name two --repo-path "$REPO" >/dev/null
	"$B/wf" task create --project-id 1 --task-id T1 --title a >/dev/null
	"$B/wf" task create --project-id 2 --task-id T1 --title b >/dev/null
	"$B/wf" project update 2 --description changed >/dev/null
	"$B/wf" run create --project-id 1 >/dev/null
}

# actions [ARG...]: the "action entity_type:entity_id" of wf log --json
actions() {
	"$B/wf" log --json "$@" | jq -r '.[] | "\(.action) \(.entity_type):\(.entity_id)"'
}

@test "every line, oldest first, one a line in the human form" {
	entities
	run -0 "$B/wf" log
	[ "${#lines[@]}" -eq "$(wc -l <"$A")" ]
	[[ ${lines[0]} =~ ^20[0-9-]+T[0-9:.]+Z\ $(id -un)\ project.created\ project:1\ .*name=one ]]
	[[ ${lines[4]} == *"project.updated project:2"* ]]
	[[ $output == *"run.created run:1"* ]]
}

@test "--project, --entity and --run keep the lines of what they name" {
	entities
	run -0 actions --project 1
	[[ $output == *"project.created project:1"* ]]
	[[ $output == *"task.created task:1"* ]]
	[[ $output == *"run.created run:1"* ]]
	[[ $output != *"project:2"* && $output != *"task:2"* ]]
	run -0 actions --project 2
	[ "$output" = "$(printf 'project.created project:2\ntask.created task:2\nproject.updated project:2')" ]
	run -0 actions --entity task:2
	[ "$output" = "task.created task:2" ]
	run -0 actions --entity run:1
	[ "$output" = "run.created run:1" ]
	run -0 actions --entity run:2
	[ -z "$output" ]
	# filters combine
	run -0 actions --project 1 --entity task:1
	[ "$output" = "task.created task:1" ]
	run -64 "$B/wf" log --entity task
	run -64 "$B/wf" log --run x
	run -64 "$B/wf" log extra
}

@test "--run keeps the run's lines and the jobs' ends that name it (audited by wf-dispatch)" {
	entities
	id=$(enqueue --run-id 1 -- true)
	other=$(enqueue -- false)
	start_dispatch
	wait_job "$id"
	ended "$id" done
	wait_job "$other" || true
	wait_until "$(slow 10)" grep -q "\"entity_id\":\"$other\"" "$A"
	run -0 "$B/wf" log --run 1 --json
	[[ $output == *'"action":"run.created"'* ]]
	line=$(jq -c ".[] | select(.entity_id == \"$id\")" <<<"$output")
	[ "$(jq -r .action <<<"$line")" = job.completed ]
	[ "$(jq -r .actor <<<"$line")" = wf-dispatch ]
	[ "$(jq -r .details.exit_code <<<"$line")" = 0 ]
	[[ $output != *"$other"* ]]
	run -0 actions --entity "job:$other"
	[ "$output" = "job.failed job:$other" ]
}

@test "--since: a time, a date or a span back from now" {
	entities
	printf '{"timestamp":"2020-01-01T00:00:00.000Z","actor":"old","action":"project.created","entity_type":"project","entity_id":9,"details":{}}\n' >>"$A"
	run -0 actions
	[[ $output == *"project:9"* ]]
	run -0 actions --since 1h
	[[ $output != *"project:9"* ]]
	[[ $output == *"project.created project:1"* ]]
	run -0 actions --since 2019-12-31
	[[ $output == *"project:9"* ]]
	run -0 actions --since 2020-01-01T00:00:01Z
	[[ $output != *"project:9"* && $output == *"project:1"* ]]
	run -0 actions --since 2099-01-01
	[ -z "$output" ]
	run -64 "$B/wf" log --since yesterday
	[[ $output == *--since* ]]
}

@test "--json prints one array of the lines; a bad or an overlong line is skipped with a warning" {
	entities
	run -0 "$B/wf" log --json
	[ "${#lines[@]}" -eq 1 ]
	json_ok <<<"$output"
	[ "$(jq -c '.[]' <<<"$output")" = "$(jq -c . "$A")" ]
	n=$(wc -l <"$A")
	echo 'not json' >>"$A"
	head -c 70000 /dev/zero | tr '\0' x >>"$A"
	echo >>"$A"
	"$B/wf" project create --name three --repo-path "$REPO" >/dev/null
	run -0 --separate-stderr "$B/wf" log --json
	[ "$(jq length <<<"$output")" -eq $((n + 1)) ]
	[[ "$(jq -c ".[$n]" <<<"$output")" == *'"name":"three"'* ]]
	[[ $stderr == *":$((n + 1)): not a JSON object"* ]]
	[[ $stderr == *":$((n + 2)): longer than 65536 bytes"* ]]
	# no audit trail yet: nothing, and no error
	rm "$A"
	run -0 "$B/wf" log
	[ -z "$output" ]
}

# follow_start ARG...: wf log --follow in the background, into follow.out
follow_start() {
	"$B/wf" log --follow "$@" >"$BATS_TEST_TMPDIR/follow.out" 2>"$BATS_TEST_TMPDIR/follow.err" &
	FOLLOW_PID=$!
	sleep 0.3
	alive "$FOLLOW_PID"
}

has() { grep -q "$1" "$BATS_TEST_TMPDIR/follow.out"; }
has_n() { [ "$(grep -c "$1" "$BATS_TEST_TMPDIR/follow.out")" -eq "$2" ]; }

@test "--follow prints new lines as they come, from a file not made yet; SIGINT ends it with 0" {
	[ ! -e "$A" ]
	follow_start --json
	"$B/wf" project create --name one --repo-path "$REPO" >/dev/null
	wait_until "$(slow 5)" has '"name":"one"'
	"$B/wf" task create --project-id 1 --task-id T1 --title a >/dev/null
	wait_until "$(slow 5)" has '"action":"task.created"'
	[ "$(wc -l <"$BATS_TEST_TMPDIR/follow.out")" -eq 2 ]
	json_ok --lines <"$BATS_TEST_TMPDIR/follow.out"
	kill -INT "$FOLLOW_PID"
	wait_until 5 gone "$FOLLOW_PID"
	wait "$FOLLOW_PID"
	FOLLOW_PID=
	[ ! -s "$BATS_TEST_TMPDIR/follow.err" ]
}

@test "--follow with a filter prints what was there, then only the new lines that match" {
	"$B/wf" project create --name one --repo-path "$REPO" >/dev/null
	"$B/wf" project create --name two --repo-path "$REPO" >/dev/null
	follow_start --project 2
	wait_until "$(slow 5)" has 'project.created project:2'
	"$B/wf" project update 1 --description x >/dev/null
	"$B/wf" project update 2 --description y >/dev/null
	wait_until "$(slow 5)" has 'project.updated project:2'
	! has 'project:1'
	# a log rotation: the file is replaced, and the new one is followed
	mv "$A" "$A.1"
	"$B/wf" project update 2 --description z >/dev/null
	wait_until "$(slow 5)" has_n 'project.updated project:2' 2
	! has 'project:1'
	kill -TERM "$FOLLOW_PID"
	wait_until 5 gone "$FOLLOW_PID"
	FOLLOW_PID=
}
