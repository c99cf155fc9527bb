#!/usr/bin/env bats
# board: wf board, the store as a text Kanban board: tasks in the columns
# of their stage (the seed's Backlog ... Complete, from the run that works
# on each) and what those not ready wait on, runs by state with iteration, tokens and why one waits for a
# human, open bugs, the queue's counts; --project-id keeps to a project;
# --json says the same; it fits 100 columns.

load helpers

setup() {
	wf_setup
}

teardown() {
	wf_teardown
}

# board_fixture: two projects; calc has tasks in four statuses (CALC-3
# waits on CALC-1), two runs (one moved on to READY_FOR_DEPLOY and made to
# wait for a human, with tokens; the other, in PM, works on CALC-2) and
# bugs; other has a task and a run of its own.
board_fixture() {
	P=$("$B/wf" project create --name calc)
	Q=$("$B/wf" project create --name other)
	"$B/wf" task create --project-id "$P" --task-id CALC-1 \
	    --title 'add adds its operands' >/dev/null
	"$B/wf" task create --project-id "$P" --task-id CALC-2 \
	    --title 'keep mul working' --status in_progress >/dev/null
	"$B/wf" task create --project-id "$P" --task-id CALC-3 \
	    --title 'a title far too long to fit in a column of the board' \
	    --status blocked --blocked-by CALC-1 >/dev/null
	"$B/wf" task create --project-id "$P" --task-id CALC-4 \
	    --title 'write the tests' --status done >/dev/null
	"$B/wf" task create --project-id "$Q" --task-id OTHER-1 \
	    --title 'elsewhere' >/dev/null
	R1=$("$B/wf" run create --project-id "$P" --name fix-add)
	R2=$("$B/wf" run create --project-id "$P" --name second --task-id 2)
	R3=$("$B/wf" run create --project-id "$Q" --name other-run)
	"$B/wf" run set-state "$R1" READY_FOR_DEPLOY --force --why test \
	    >/dev/null
	# what the pipeline would have written: the store is plain files
	f="$WF_HOME/state/runs/$R1.json"
	jq '.tokens_in = 599 | .tokens_out = 200 | .iteration = 2 |
	    .waiting_for_human = true |
	    .waiting_reason = "deploy needs a human approval"' "$f" >"$f.new"
	mv "$f.new" "$f"
	"$B/wf" bug create --project-id "$P" --title 'crash on 0' >/dev/null
	"$B/wf" bug create --project-id "$P" --title 'typo' >/dev/null
	b=$("$B/wf" bug create --project-id "$P" --title 'fixed one')
	"$B/wf" bug update "$b" --status resolved >/dev/null
}

@test "the board shows tasks by stage and what they wait on, runs by state with tokens and the human's wait, bugs and the queue" {
	board_fixture
	run "$B/wf" board --project-id "$P"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "wf board: project $P (calc)" ]]
	# the stage columns, the seed's, and their counts, in order: CALC-2's
	# run is in PM; CALC-1 and CALC-3 have none; CALC-4 is done
	[[ "$output" =~ Backlog\ \(2\)\ +PM\ \(1\)\ +DEV\ \(0\)\ +QA\ \(0\)\ +SEC\ \(0\)\ +DOCS\ \(0\)\ +Complete\ \(1\) ]]
	# one row holds the first task of each column, under its heading
	row=$(grep '^CALC-1 ' <<<"$output")
	[[ "$row" == "CALC-1 add a~ CALC-2 keep ~ "*" CALC-4 write~" ]]
	# each under its heading: the columns start where the headings do
	head=$(grep '^Backlog (' <<<"$output")
	for c in PM:CALC-2 Complete:CALC-4; do
		pre=${head%%"${c%%:*}"*}
		[ "${row:${#pre}:6}" = "${c#*:}" ]
	done
	[ "$(grep -A1 '^CALC-1 ' <<<"$output" | tail -1)" = "CALC-3 a tit~" ]
	# what a task not ready waits on, in full
	[[ "$output" == *$'NOT READY\n  CALC-3 waits on CALC-1 (backlog)\n'* ]]
	"$B/wf" task status 1 failed >/dev/null
	run "$B/wf" board --project-id "$P"
	[[ "$output" == *"  CALC-3 blocked: CALC-1 failed; a human decides: retry it, drop the edge, or cancel this task"* ]]
	"$B/wf" task status 1 backlog >/dev/null
	run "$B/wf" board --project-id "$P"
	[[ "$output" != *"elsewhere"* ]]
	[[ "$output" != *"other-run"* ]]
	# runs by state, with id, name, iteration and tokens
	[[ "$output" == *"READY_FOR_DEPLOY (1)"* ]]
	[[ "$output" =~ \#$R1\ +fix-add\ +p$P\ +iter\ 2\ +tokens\ 599/200 ]]
	[[ "$output" == *"waiting for a human: deploy needs a human approval"* ]]
	[[ "$output" =~ PM\ \(1\).*\#$R2\ +second ]]
	runs=${output#*$'\nRUNS\n'}
	[[ "$runs" =~ ^PM\ \(1\) ]]
	[[ "$runs" != *"DEV ("* ]]
	# bugs and the queue (each run create queued PM's job)
	[[ "$output" == *"BUGS   2 open, 0 in_progress, 1 resolved, 0 closed"* ]]
	[[ "$output" == *"QUEUE  3 waiting, 0 running, 0 failed"* ]]
	# 100 columns at most
	while IFS= read -r l; do
		[ "${#l}" -le 100 ] || { echo "too wide: $l"; false; }
	done <<<"$output"

	# every project
	run "$B/wf" board
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "wf board: all projects" ]
	[[ "$output" == *"Backlog (3)"* ]]
	[[ "$output" == *"OTHER-1 else~"* ]]
	[[ "$output" =~ \#$R3\ +other-run\ +p$Q ]]
	[[ "$output" == *"PM (2)"* ]]
}

@test "wf board --json: the same data as one object" {
	board_fixture
	run "$B/wf" board --project-id "$P" --json
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	j=$output
	[ "$(jq -r .project.name <<<"$j")" = calc ]
	[ "$(jq -r '.tasks.backlog[0].task_id' <<<"$j")" = CALC-1 ]
	[ "$(jq -r '.tasks.in_progress[0].title' <<<"$j")" = 'keep mul working' ]
	[ "$(jq -r '.tasks.blocked[0].title' <<<"$j")" = \
	    'a title far too long to fit in a column of the board' ]
	[ "$(jq '.tasks.done | length' <<<"$j")" -eq 1 ]
	[ "$(jq '.tasks.failed | length' <<<"$j")" -eq 0 ]
	# and by stage, each with its status and readiness
	[ "$(jq -c '.stages | map_values(map(.task_id))' <<<"$j")" = \
	    '{"NONE":["CALC-1","CALC-3"],"PM":["CALC-2"],"DEV":[],"QA":[],"SEC":[],"DOCS":[],"COMPLETE":["CALC-4"]}' ]
	[ "$(jq -r '.stages.NONE[1] | "\(.status) \(.blocked_by[0]) \(.readiness.state): \(.readiness.why)"' <<<"$j")" = \
	    'blocked CALC-1 waiting: waits on CALC-1 (backlog)' ]
	[ "$(jq -r '.stages.PM[0].status' <<<"$j")" = in_progress ]
	[ "$(jq -r '.runs.READY_FOR_DEPLOY[0] | "\(.id) \(.name) \(.iteration) \(.tokens_in) \(.tokens_out) \(.waiting_for_human)"' <<<"$j")" = \
	    "$R1 fix-add 2 599 200 true" ]
	[ "$(jq -r '.runs.READY_FOR_DEPLOY[0].waiting_reason' <<<"$j")" = \
	    'deploy needs a human approval' ]
	[ "$(jq -r '.runs.PM | map(.id) | join(",")' <<<"$j")" = "$R2" ]
	[ "$(jq -r '.runs.PM[0].waiting_reason' <<<"$j")" = null ]
	[ "$(jq -c '[.runs | to_entries[] | select(.value | length > 0) | .key]' <<<"$j")" = \
	    '["PM","READY_FOR_DEPLOY"]' ]
	[ "$(jq -c .bugs <<<"$j")" = \
	    '{"open":2,"in_progress":0,"resolved":1,"closed":0}' ]
	[ "$(jq -r '.queue | "\(.waiting) \(.running) \(.failed)"' <<<"$j")" = \
	    "3 0 0" ]

	run "$B/wf" board --json
	[ "$status" -eq 0 ]
	[ "$(jq -r .project <<<"$output")" = null ]
	[ "$(jq '.tasks.backlog | length' <<<"$output")" -eq 2 ]
	[ "$(jq '.runs.PM | length' <<<"$output")" -eq 2 ]
}

@test "wf board: an empty store, a project that is not there, bad usage" {
	run "$B/wf" board
	[ "$status" -eq 0 ]
	[[ "$output" == *"(no tasks)"* ]]
	[[ "$output" == *"(no runs)"* ]]
	[[ "$output" == *"QUEUE  0 waiting, 0 running, 0 failed"* ]]

	run "$B/wf" board --project-id 42
	[ "$status" -eq 66 ]
	[[ "$output" == *"no such project"* ]]

	run "$B/wf" board --project-id x
	[ "$status" -eq 64 ]
	run "$B/wf" board extra
	[ "$status" -eq 64 ]
	run "$B/wf" board --help
	[ "$status" -eq 0 ]
	[[ "$output" == "usage: wf board"* ]]
}
