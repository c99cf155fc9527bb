#!/usr/bin/env bats
# pipeline: runs through the real wf-dispatch, wf-gate and wf-agent with
# command-backed roles (no model): PM -> DEV -> QA -> SEC -> READY_FOR_COMMIT
# -> MERGED -> READY_FOR_DEPLOY -> DEPLOYED, the failures and retries, the
# gates' own evidence, bad reports, and wf-gate killed mid-way.
#
# The project is a git-less directory whose test script prints TAP; the
# flag file tests_fail in it makes the tests fail.

load helpers

setup() {
	wf_setup
	GATE_PID=
	REPO="$BATS_TEST_TMPDIR/repo"
	ROLES="$BATS_TEST_TMPDIR/roles"
	mkdir -p "$REPO" "$ROLES"
	cp "$BATS_TEST_DIRNAME/fixtures/run_tests.sh" "$REPO/run_tests.sh"
	role pm "printf '{\"status\":\"pass\",\"summary\":\"spec written\",\"tokens_in\":10,\"tokens_out\":4}\\n'"
	role dev "echo dev at work in \$PWD && printf '{\"status\":\"pass\",\"summary\":\"code written\"}\\n'"
	role qa 'sh -c "$WF_TEST_COMMAND"'
	role security "printf '{\"status\":\"pass\",\"summary\":\"clean\",\"details\":{\"findings\":[]}}\\n'"
	pipeline_config false 3
	PROJ=$("$B/wf" project create --name demo --repo-path "$REPO" \
	    --test-command 'sh run_tests.sh')
	[ -n "$PROJ" ]
}

teardown() {
	local rc=0
	# a daemon that died during the test fails it
	daemons_ok || rc=1
	[ -z "${HTTP_PID:-}" ] || kill "$HTTP_PID" 2>/dev/null || true
	stop_gate
	stop_dispatch
	kill_strays
	sanitizer_check || rc=1
	# wf-agent's stderr is in its job's log
	if grep -rEl 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' \
	    "$WF_HOME/output" >&2 2>/dev/null; then
		rc=1
	fi
	return $rc
}

# role NAME COMMAND: a command-backed role in the test's roles dir
role() {
	printf '[role]\nbackend = command\ncommand = %s\ntimeout = 60\n' "$2" \
	    >"$ROLES/$1.ini"
}

# pipeline_config AUTO_RETRY MAX_ITER
pipeline_config() {
	wf_config '[queue]' 'backoff_base = 1' \
	    '[pipeline]' "roles_dir = $ROLES" "auto_retry = $1" \
	    "max_iter = $2" 'sec_block = high'
}



start_all() {
	start_dispatch
	start_gate
}

# fetch RUN: read the run's record (wf run show --json) and flatten it with
# one jq into $RUN, one line each: "PATH=VALUE" for every scalar
# (.results.qa.status=pass, .history.0.from=PM), "PATH#=N" for the length
# of every array, "moves FROM TO=N" for the moves in its history.  (A jq
# per field is too slow.)
fetch() {
	RUN=$("$B/wf" run show "$1" --json | jq -r '
	    (paths(type | . != "object" and . != "array") as $p | "." + ($p | map(tostring) | join(".")) +
		"=" + (getpath($p) | tostring)),
	    (paths(type == "array") as $p | "." + ($p | map(tostring) | join(".")) +
		"#=" + (getpath($p) | length | tostring)),
	    (.history | group_by(.from + " " + .to)[] |
		"moves \(.[0].from) \(.[0].to)=\(length)")')
	[ -n "$RUN" ]
}

# q PATH: the fetched run's value at PATH; null when it has none
q() {
	local line
	while IFS= read -r line; do
		if [[ $line == "$1="* ]]; then
			printf '%s\n' "${line#"$1="}"
			return 0
		fi
	done <<<"$RUN"
	echo null
}

# moves FROM TO: entries of the fetched run's history from -> to
moves() {
	local n
	n=$(q "moves $1 $2")
	[ "$n" = null ] && n=0
	echo "$n"
}


# wait_for SECS CMD...: poll until CMD succeeds, at most SECS seconds;
# give up at once when a daemon died
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		if [ "$SECONDS" -ge "$end" ] || ! daemons_ok; then
			echo "gave up waiting for: $*" >&2
			dump
			return 1
		fi
		sleep 0.1
	done
}

# pipeline ARG...: wf pipeline ARG..., stopped (status 99) when a daemon
# dies under it
pipeline() {
	local out="$BATS_TEST_TMPDIR/pipeline.out" p rc
	"$B/wf" pipeline "$@" >"$out" 2>&1 3>&- &
	p=$!
	while alive "$p"; do
		if ! daemons_ok; then
			kill "$p" 2>/dev/null
			wait "$p" 2>/dev/null
			cat "$out"
			dump 2>&1
			return 99
		fi
		sleep 0.1
	done
	wait "$p"
	rc=$?
	cat "$out"
	return $rc
}

# state_is RUN STATE (read from the run's file: this is polled)
state_is() {
	[ "$(jget "$WF_HOME/state/runs/$1.json" state)" = "$2" ]
}

# wait_state RUN STATE [SECS]
wait_state() {
	wait_for "$(slow "${3:-20}")" state_is "$1" "$2"
}

dump() {
	{
		echo "--- runs"
		"$B/wf" run list 2>&1
		for f in "$WF_HOME"/state/runs/*.json; do
			[ -e "$f" ] && jq -c '{id, state, iteration, waiting_for_human, waiting_reason, history: [.history[] | "\(.from)->\(.to): \(.why)"]}' "$f"
		done
		echo "--- gate.log"
		cat "$BATS_TEST_TMPDIR/gate.log" 2>/dev/null
		echo "--- dispatch.log"
		cat "$BATS_TEST_TMPDIR/dispatch.log" 2>/dev/null
	} >&2
}

# the run id from wf pipeline's first line
run_id_of() {
	sed -n 's/^run \([0-9][0-9]*\) created for project.*/\1/p' <<<"$1" | head -n 1
}

@test "a run goes from PM to DEPLOYED: gates, two advances and a human's approval" {
	start_all
	run pipeline --project-id "$PROJ" --timeout "$(slow 60)"
	echo "$output"
	[ "$status" -eq 0 ]
	rid=$(run_id_of "$output")
	[ -n "$rid" ]
	[[ "$output" == *"run $rid: READY_FOR_COMMIT"* ]]
	[[ "$output" == *"wf run advance $rid"* ]]
	state_is "$rid" READY_FOR_COMMIT
	fetch "$rid"
	# every role's step is recorded once, and QA's pass was verified by
	# the gate running the project's tests itself
	[ "$(moves PM DEV)" -eq 1 ]
	[ "$(moves DEV QA)" -eq 1 ]
	[ "$(moves QA SEC)" -eq 1 ]
	[ "$(moves SEC READY_FOR_COMMIT)" -eq 1 ]
	[ "$(q .results.qa.details.verified_by)" = wf-gate ]
	[ "$(q .results.qa.details.tests_run)" -eq 2 ]
	[ "$(q .results.qa.details.tests_failed)" -eq 0 ]
	[ "$(q .iteration)" -eq 1 ]
	[ "$(q .tokens_in)" -eq 10 ]
	[ "$(q .tokens_out)" -eq 4 ]
	# the dev role ran in the project's repository
	grep -rqs "dev at work in $REPO" "$WF_HOME/output"

	run "$B/wf" run advance "$rid"
	[ "$status" -eq 0 ]
	[ "$output" = "run $rid: MERGED" ]
	run "$B/wf" run advance "$rid"
	[ "$status" -eq 0 ]
	[ "$output" = "run $rid: READY_FOR_DEPLOY" ]
	grep -qs '"event":"run.ready_for_deploy"' "$WF_HOME"/events/new/*
	# no one advances past READY_FOR_DEPLOY
	run "$B/wf" run advance "$rid"
	[ "$status" -ne 0 ]
	state_is "$rid" READY_FOR_DEPLOY
	run "$B/wf" run approve-deploy "$rid"
	[ "$status" -eq 0 ]
	[ "$output" = "run $rid: DEPLOYED" ]
	fetch "$rid"
	[ "$(q .approved_by)" = "$(id -un)" ]
	[ "$(q .approved_at)" != null ]
	[ "$(q .history#)" -eq 7 ]
	# once more is refused
	run "$B/wf" run approve-deploy "$rid"
	[ "$status" -ne 0 ]
}

@test "QA fails with auto_retry off: QA_FAILED; the tests are fixed, wf run retry, and it passes" {
	touch "$REPO/tests_fail"
	# DEV, a command, reads the handoffs before it in $WF_HANDOFFS
	role dev "$(cat <<'EOF'
echo "handed: $(jq -r 'map(.role + ":" + .status) | join(",")' "$WF_HANDOFFS")" && printf '{"status":"pass","summary":"code written"}\n'
EOF
)"
	start_all
	run pipeline --project-id "$PROJ" --timeout "$(slow 20)"
	echo "$output"
	[ "$status" -eq 1 ]
	rid=$(run_id_of "$output")
	[[ "$output" == *"run $rid: QA_FAILED"* ]]
	[[ "$output" == *"stopped:"* ]]
	state_is "$rid" QA_FAILED
	fetch "$rid"
	[ "$(q .waiting_for_human)" = true ]
	[ "$(q .results.qa.status)" = fail ]
	[ "$(q .results.qa.details.tests_failed)" -eq 1 ]
	[ "$(moves QA_FAILED DEV)" -eq 0 ]

	rm "$REPO/tests_fail"
	run "$B/wf" run retry "$rid"
	[ "$status" -eq 0 ]
	[ "$output" = "run $rid: DEV" ]
	wait_state "$rid" READY_FOR_COMMIT
	fetch "$rid"
	[ "$(q .iteration)" -eq 2 ]
	[ "$(q .waiting_for_human)" = false ]
	[ "$(moves QA_FAILED DEV)" -eq 1 ]
	[ "$(moves QA SEC)" -eq 1 ]
	[ "$(moves SEC READY_FOR_COMMIT)" -eq 1 ]
	# DEV was handed PM's work first, then its own and QA's failure
	grep -rqx 'handed: pm:pass' "$WF_HOME/output"
	grep -rqx 'handed: pm:pass,dev:pass,qa:fail' "$WF_HOME/output"
	run -0 "$B/wf" run show "$rid" --handoffs --json
	echo "$output"
	[ "$(jq length <<<"$output")" -eq 6 ]
	[ "$(jq -r '.[2] | .role + " " + .status + " " + .next' <<<"$output")" = "qa fail QA_FAILED" ]
	[ "$(jq -r '.[2].tests.tests_failed' <<<"$output")" -eq 1 ]
	[ "$(jq -r '.[3] | .role + " " + (.iteration | tostring)' <<<"$output")" = "dev 2" ]
	[ "$(jq -r '.[3].asked.findings[0].from' <<<"$output")" = qa ]
	[ "$(jq -r '.[3].asked.findings | length' <<<"$output")" -eq 1 ]
	[ "$(jq -r '.[1].asked.findings' <<<"$output")" = null ]
	run -0 "$B/wf" run show "$rid" --handoffs
	[[ "$output" == *"== handoff 4: DEV, iteration 2, pass"*"given: qa's findings: "* ]]
	# retry is for failed runs only
	run "$B/wf" run retry "$rid"
	[ "$status" -ne 0 ]
}

@test "SEC's pass with a high finding is refused by the gate: SEC_FAILED" {
	role security "printf '{\"status\":\"pass\",\"summary\":\"one issue\",\"details\":{\"findings\":[{\"severity\":\"high\",\"title\":\"x\"}]}}\\n'"
	start_all
	run pipeline --project-id "$PROJ" --timeout "$(slow 20)"
	echo "$output"
	[ "$status" -eq 1 ]
	rid=$(run_id_of "$output")
	state_is "$rid" SEC_FAILED
	fetch "$rid"
	[ "$(moves SEC SEC_FAILED)" -eq 1 ]
	[[ "$(q ".history.$(($(q .history#) - 1)).why")" == *"SEC gate"* ]]
	# the agent's words are kept; the gate's verdict is in the history
	[ "$(q .results.security.status)" = pass ]
	[ "$(q .results.security.details.findings.0.title)" = x ]
	grep -q '"action":"run.gate_failed"' "$WF_HOME/log/audit.jsonl"
	# its handoff says what the gate made of the pass
	[ "$(q .handoffs.3.role)" = security ]
	[ "$(q .handoffs.3.status)" = fail ]
	[[ "$(q .handoffs.3.refused)" == *"SEC gate"* ]]
	[ "$(q .handoffs.3.findings)" -eq 1 ]
	[ "$(q .handoffs.3.next)" = SEC_FAILED ]
	# reset-to-dev --tasks turns the finding into a task
	run "$B/wf" run reset-to-dev "$rid" --tasks
	[ "$status" -eq 0 ]
	fetch "$rid"
	[ "$(q .iteration)" -eq 2 ]
	run "$B/wf" task list --project-id "$PROJ" --json
	[ "$status" -eq 0 ]
	[ "$(jq -r '.[0].title' <<<"$output")" = x ]
	[ "$(jq -r '.[0].priority' <<<"$output")" -eq 2 ]
	# and the run goes round again, failing SEC the same way
	wait_state "$rid" SEC_FAILED
	fetch "$rid"
	[ "$(moves SEC SEC_FAILED)" -eq 2 ]
	# DEV's second handoff: it was given SEC's finding
	[ "$(q .handoffs.4.role)" = dev ]
	[ "$(q .handoffs.4.iteration)" -eq 2 ]
	[ "$(q .handoffs.4.asked.findings.0.from)" = security ]
	[ "$(q .handoffs.4.asked.findings.0.findings.0.title)" = x ]
}

@test "max_iter 2 with auto_retry: tests that always fail stop the run in QA_FAILED for a human" {
	pipeline_config true 2
	touch "$REPO/tests_fail"
	start_all
	run pipeline --project-id "$PROJ" --timeout "$(slow 30)"
	echo "$output"
	[ "$status" -eq 1 ]
	rid=$(run_id_of "$output")
	[[ "$output" == *"stopped:"*"max_iter 2"* ]]
	state_is "$rid" QA_FAILED
	fetch "$rid"
	[ "$(q .waiting_for_human)" = true ]
	[[ "$(q .waiting_reason)" == *max_iter* ]]
	[ "$(q .iteration)" -eq 2 ]
	[ "$(moves QA QA_FAILED)" -eq 2 ]
	[ "$(moves QA_FAILED DEV)" -eq 1 ]
	# and it stays there: no agent job is left for it
	sleep 0.5
	state_is "$rid" QA_FAILED
	[ "$(count queue/2-high/new)" -eq 0 ]
}

@test "the gate refuses QA's pass when the project's own tests fail, and keeps both" {
	role qa "printf '{\"status\":\"pass\",\"summary\":\"all good\",\"details\":{\"tests_run\":5,\"tests_failed\":0}}\\n'"
	touch "$REPO/tests_fail"
	start_all
	run pipeline --project-id "$PROJ" --timeout "$(slow 20)"
	echo "$output"
	[ "$status" -eq 1 ]
	rid=$(run_id_of "$output")
	state_is "$rid" QA_FAILED
	fetch "$rid"
	[ "$(q .gate.agrees)" = false ]
	[ "$(q .gate.agent_said)" = pass ]
	[ "$(q .gate.agent_report.status)" = pass ]
	[ "$(q .gate.agent_report.details.tests_run)" -eq 5 ]
	[ "$(q .gate.tests_run)" -eq 2 ]
	[ "$(q .gate.tests_failed)" -eq 1 ]
	[ "$(q .gate.job_status)" = failed ]
	# the report the run decided on is the gate's
	[ "$(q .results.qa.status)" = fail ]
	[ "$(q .results.qa.details.verified_by)" = wf-gate ]
	[ "$(q .results.qa.details.tests_failed)" -eq 1 ]
	# the gate's test run is a command job of its own, in failed/
	gjob=$(q .gate.job_id)
	[ -f "$WF_HOME/failed/$gjob" ]
}

@test "malformed reports go to corrupt/ with a reason and an audit line; wf-gate keeps serving" {
	start_gate
	rid=$("$B/wf" run create --project-id "$PROJ")
	[ -n "$rid" ]
	drop() {
		printf '%s' "$2" >"$WF_HOME/reports/tmp/$1"
		mv "$WF_HOME/reports/tmp/$1" "$WF_HOME/reports/new/$1"
	}
	drop bad1 'this is not json'
	drop bad2 "{\"run_id\":$rid,\"role\":\"pm\",\"status\":\"pass\",\"evil\":1}"
	drop bad3 "{\"run_id\":$rid,\"role\":\"qa\",\"status\":\"pass\",\"details\":{\"tests_run\":1,\"tests_failed\":0}}"
	drop bad4 '{"role":"pm","status":"pass"}'
	# refused, not altered: an id out of range, a NUL (escaped and
	# raw), bytes that are not UTF-8
	drop bad5 '{"run_id":1e300,"role":"pm","status":"pass"}'
	drop bad6 "{\"run_id\":$rid.5,\"role\":\"pm\",\"status\":\"pass\"}"
	drop bad7 "{\"run_id\":$rid,\"role\":\"pm\",\"status\":\"pass\",\"summary\":\"ok\\u0000evil\"}"
	printf '{"run_id":%s,"role":"pm","status":"pass","summary":"ok\0evil"}' "$rid" >"$WF_HOME/reports/tmp/bad8"
	mv "$WF_HOME/reports/tmp/bad8" "$WF_HOME/reports/new/bad8"
	printf '{"run_id":%s,"role":"pm","status":"pass","summary":"ok\377\376"}' "$rid" >"$WF_HOME/reports/tmp/bad9"
	mv "$WF_HOME/reports/tmp/bad9" "$WF_HOME/reports/new/bad9"
	for r in bad1 bad2 bad3 bad4 bad5 bad6 bad7 bad8 bad9; do
		wait_for "$(slow 10)" test -f "$WF_HOME/corrupt/report-$r.why"
		[ -f "$WF_HOME/corrupt/report-$r" ]
		[ ! -e "$WF_HOME/reports/new/$r" ]
		[ ! -e "$WF_HOME/reports/cur/$r" ]
		# the audit line comes just after the quarantine
		wait_for "$(slow 10)" grep -q "\"action\":\"report.rejected\".*\"report\":\"$r\"" "$WF_HOME/log/audit.jsonl"
	done
	grep -q 'not a JSON object' "$WF_HOME/corrupt/report-bad1.why"
	grep -q "unknown field 'evil'" "$WF_HOME/corrupt/report-bad2.why"
	grep -q 'not expected' "$WF_HOME/corrupt/report-bad3.why"
	grep -q 'run_id' "$WF_HOME/corrupt/report-bad4.why"
	for r in bad5 bad6; do
		grep -q 'run_id must be a run id' "$WF_HOME/corrupt/report-$r.why"
		! grep -q -- '-9223372036854775808' "$WF_HOME/corrupt/report-$r.why"
	done
	grep -q 'summary: a NUL (\\u0000) in a string' "$WF_HOME/corrupt/report-bad7.why"
	grep -q 'summary: a NUL byte in a string' "$WF_HOME/corrupt/report-bad8.why"
	grep -q 'summary: not UTF-8 in a string' "$WF_HOME/corrupt/report-bad9.why"
	# nothing of them reached the run
	state_is "$rid" PM
	fetch "$rid"
	[ "$(q .reports#)" -eq 0 ]
	alive "$GATE_PID"
	# a valid report afterwards is applied
	run "$B/wf" run report "$rid" --role pm --status pass --summary ok
	[ "$status" -eq 0 ]
	rep=$output
	wait_state "$rid" DEV 10
	wait_for "$(slow 5)" test -f "$WF_HOME/reports/cur/$rep"
	fetch "$rid"
	[ "$(q .reports.0)" = "$rep" ]
}

@test "wf-gate killed with -9: a report that arrived meanwhile is applied once after restart, and a replay changes nothing" {
	start_gate
	rid=$("$B/wf" run create --project-id "$PROJ")
	"$B/wf" run report "$rid" --role pm --status pass >/dev/null
	wait_state "$rid" DEV 10

	stop_gate -KILL
	run "$B/wf" run report "$rid" --role dev --status pass
	[ "$status" -eq 0 ]
	rep=$output
	[ -f "$WF_HOME/reports/new/$rep" ]
	sleep 0.2
	state_is "$rid" DEV
	start_gate
	wait_state "$rid" QA 10
	wait_for "$(slow 5)" test -f "$WF_HOME/reports/cur/$rep"
	[ ! -e "$WF_HOME/reports/new/$rep" ]
	fetch "$rid"
	[ "$(moves DEV QA)" -eq 1 ]
	[ "$(grep -c "^\.reports\.[0-9]*=$rep\$" <<<"$RUN")" -eq 1 ]

	# a crash between applying and moving: the report is back in new/
	stop_gate -KILL
	fetch "$rid"
	hist=$(grep '^\.history' <<<"$RUN")
	[ -n "$hist" ]
	mv "$WF_HOME/reports/cur/$rep" "$WF_HOME/reports/new/$rep"
	start_gate
	wait_for "$(slow 10)" test -f "$WF_HOME/reports/cur/$rep"
	[ ! -e "$WF_HOME/reports/new/$rep" ]
	fetch "$rid"
	[ "$(grep '^\.history' <<<"$RUN")" = "$hist" ]
	[ "$(q .state)" = QA ]
	[ "$(moves DEV QA)" -eq 1 ]
	[ "$(q .reports#)" -eq 2 ]
	grep -q "report $rep was applied before" "$BATS_TEST_TMPDIR/gate.log"
	[ "$(count corrupt)" -eq 0 ]
}

# health_server: a static HTTP server on 127.0.0.1 serving $BATS_TEST_TMPDIR/www
# (www/ok exists: /ok answers 200, /missing 404); its port in $HPORT
health_server() {
	local out="$BATS_TEST_TMPDIR/http.out"
	mkdir -p "$BATS_TEST_TMPDIR/www"
	echo up >"$BATS_TEST_TMPDIR/www/ok"
	python3 -u -m http.server --bind 127.0.0.1 --directory \
	    "$BATS_TEST_TMPDIR/www" 0 >"$out" 2>&1 3>&- &
	HTTP_PID=$!
	wait_until 10 grep -q 'port [0-9]' "$out"
	HPORT=$(sed -n 's/.* port \([0-9][0-9]*\).*/\1/p' "$out" | head -n 1)
	[ -n "$HPORT" ]
}

@test "wf pipeline on a terminal: the stage running, its elapsed time, tokens and its job's last line in place; plain lines without a terminal" {
	role dev "echo working on step 3 && sleep 2 && printf '{\"status\":\"pass\",\"summary\":\"code written\"}\\n'"
	start_all
	# script(1) gives wf pipeline a pseudo-terminal; the typescript is
	# what the terminal got
	run -0 script -qec "'$B/wf' pipeline --project-id $PROJ --timeout $(slow 60)" /dev/null </dev/null
	echo "$output" | cat -A | head -n 40
	# the status line, drawn in place (\r, cleared to the end of the line)
	[[ "$output" == *$'\r'"DEV "[0-9]*"s  tokens 10 in / 4 out  working on step 3"$'\033[K'* ]]
	# 2 s of sleep: drawn again as the seconds pass, not once
	[ "$(grep -o $'\rDEV [0-9]s[^\r]*working on step 3' <<<"$output" | sort -u | wc -l)" -ge 2 ]
	# DEV's own job, not PM's as it finishes (its report line)
	! grep -q $'\rDEV [^\r]*spec written' <<<"$output"
	# cleared before the stage's line, which reads as before
	[[ "$output" == *$'\r\033[K'"DEV              -> QA "* ]]
	[[ "$output" == *"run "*": READY_FOR_COMMIT, tokens 10 in / 4 out"* ]]
	# without a terminal: the plain lines, no carriage return, no escape
	run -0 pipeline --project-id "$PROJ" --timeout "$(slow 60)"
	[[ "$output" == *"DEV              -> QA "* ]]
	[[ "$output" != *$'\r'* ]]
	[[ "$output" != *$'\033'* ]]
	[[ "$output" != *"working on step 3"* ]]
}

# ready_run: a run forced to READY_FOR_DEPLOY (the stages are tested above)
ready_run() {
	rid=$("$B/wf" run create --project-id "$PROJ")
	"$B/wf" run set-state "$rid" READY_FOR_DEPLOY --force --why test >/dev/null
}

@test "deploy behind approval: TESTING while the deploy job runs deploy, health check and tests; then DEPLOYED, last_deploy_at, every step audited" {
	health_server
	M="$BATS_TEST_TMPDIR/marks"
	mkdir -p "$M"
	run -0 "$B/wf" env create --project-id "$PROJ" --name staging \
	    --deploy-command "touch $M/deployed && echo deploying" \
	    --health-check-url "http://127.0.0.1:$HPORT/ok" \
	    --test-command "touch $M/tested" --rollback-command "touch $M/rolled"
	ready_run
	start_dispatch
	start_gate
	run "$B/wf" run approve-deploy "$rid" --env nosuch
	[ "$status" -ne 0 ]
	[[ "$output" == *"no such environment 'nosuch'"* ]]
	run -0 "$B/wf" run approve-deploy "$rid" --env staging
	[ "$output" = "run $rid: TESTING" ]
	wait_until "$(slow 30)" grep -qs '"state":"DEPLOYED"' "$WF_HOME/state/runs/$rid.json"
	kill "$HTTP_PID"
	run -0 "$B/wf" run show "$rid" --json
	[ "$(jq -r .approved_by <<<"$output")" = "$(id -un)" ]
	[ "$(jq -r .results.deploy.status <<<"$output")" = pass ]
	[ "$(jq -r '.results.deploy.details.steps | map(.step) | join(",")' <<<"$output")" = deploy,health_check,test ]
	[ "$(jq -r '.results.deploy.details.steps[1].http_status' <<<"$output")" = 200 ]
	[ -e "$M/deployed" ] && [ -e "$M/tested" ] && [ ! -e "$M/rolled" ]
	run -0 "$B/wf" env show 1 --json
	[ "$(jq -r .last_deploy_at <<<"$output")" != null ]
	[ "$(grep -c '"action":"deploy.step"' "$WF_HOME/log/audit.jsonl")" -eq 3 ]
	grep -q 'deploying' "$WF_HOME"/output/*.log
	# DEPLOYED is never reached by force
	run "$B/wf" run set-state "$rid" DEPLOYED --force
	[ "$status" -ne 0 ]
}

@test "deploy with a failing health check: rolled back, DEPLOY_FAILED, waiting for a human, never DEPLOYED" {
	health_server
	M="$BATS_TEST_TMPDIR/marks"
	mkdir -p "$M"
	run -0 "$B/wf" env create --project-id "$PROJ" --name prod \
	    --deploy-command "touch $M/deployed" \
	    --health-check-url "http://127.0.0.1:$HPORT/missing" \
	    --health-check-timeout 2 \
	    --test-command "touch $M/tested" --rollback-command "touch $M/rolled"
	ready_run
	start_dispatch
	start_gate
	# --wait follows it to the end: 1, the final state and the reason
	run -1 "$B/wf" run approve-deploy "$rid" --env prod --wait --timeout "$(slow 60)"
	[[ "$output" == *"run $rid: DEPLOY_FAILED"* ]]
	[[ "$output" == *"answered 404"*"rolled back"* ]]
	state_is "$rid" DEPLOY_FAILED
	kill "$HTTP_PID"
	run -0 "$B/wf" run show "$rid" --json
	[ "$(jq -r .waiting_for_human <<<"$output")" = true ]
	[[ "$(jq -r .waiting_reason <<<"$output")" == *"answered 404"*"rolled back"* ]]
	[ "$(jq -r '.results.deploy.details.steps | map(.step) | join(",")' <<<"$output")" = deploy,health_check,rollback ]
	[ "$(jq -r '.history | map(.to) | index("DEPLOYED")' <<<"$output")" = null ]
	[ -e "$M/deployed" ] && [ -e "$M/rolled" ] && [ ! -e "$M/tested" ]
	run -0 "$B/wf" env show 1 --json
	[ "$(jq -r .last_deploy_at <<<"$output")" = null ]
	# a human may try again from DEPLOY_FAILED, and only with an environment
	run "$B/wf" run approve-deploy "$rid"
	[ "$status" -ne 0 ]
}

@test "approve-deploy --wait: 0 and DEPLOYED once the deploy job passed; at once without --env; --timeout alone is a usage error" {
	run -0 "$B/wf" env create --project-id "$PROJ" --name staging \
	    --deploy-command "sleep 1 && echo deploying"
	ready_run
	start_dispatch
	start_gate
	run -64 "$B/wf" run approve-deploy "$rid" --env staging --timeout 5
	state_is "$rid" READY_FOR_DEPLOY
	run -0 "$B/wf" run approve-deploy "$rid" --env staging --wait --timeout "$(slow 60)"
	[ "${lines[${#lines[@]} - 1]}" = "run $rid: DEPLOYED" ]
	[[ "$output" != *TESTING* ]]
	state_is "$rid" DEPLOYED
	# without an environment DEPLOYED is immediate: --wait returns at once
	ready_run
	run -0 "$B/wf" run approve-deploy "$rid" --wait
	[ "$output" = "run $rid: DEPLOYED" ]
}

@test "a deploy job that dies without its report (its agent killed mid-deploy) leaves the run DEPLOY_FAILED for a human, not in TESTING" {
	run -0 "$B/wf" env create --project-id "$PROJ" --name slow \
	    --deploy-command "sleep 60"
	ready_run
	start_dispatch
	start_gate
	# --wait gives up after --timeout: 75, still TESTING
	run -75 "$B/wf" run approve-deploy "$rid" --env slow --wait --timeout 1
	[[ "$output" == *"run $rid: TESTING"* ]]
	[[ "$output" == *"still TESTING after 1 s"* ]]
	# active/* read anew on each try, not once when wait_until is called
	deploy_active() { grep -qs '"job_type":"deploy"' "$WF_HOME"/active/*; }
	wait_until "$(slow 20)" deploy_active
	job=$(basename "$(grep -ls '"job_type":"deploy"' "$WF_HOME"/active/* | grep -Ev '\.(pid|result)$' | head -n 1)")
	[ -n "$job" ]
	wait_until "$(slow 10)" test -s "$WF_HOME/active/$job.pid"
	# the agent dies at once, its deploy command with it
	pid=$(cut -d' ' -f1 "$WF_HOME/active/$job.pid")
	[ -n "$pid" ]
	kill -KILL -- "-$pid"
	wait_until "$(slow 20)" grep -qs '"state":"DEPLOY_FAILED"' "$WF_HOME/state/runs/$rid.json"
	run -0 "$B/wf" run show "$rid" --json
	echo "$output" | jq -r .waiting_reason
	[ "$(jq -r .waiting_for_human <<<"$output")" = true ]
	[[ "$(jq -r .waiting_reason <<<"$output")" == *"ended failed without its report"*"no rollback ran"* ]]
	[ "$(jq -r '.history | map(.to) | index("DEPLOYED")' <<<"$output")" = null ]
	[ "$(jq -r '.reports | map(select(startswith("job-"))) | length' <<<"$output")" -eq 1 ]
}

@test "a command-backed PM's tasks are kept, as an llm PM's are: linked to the run, bounded" {
	role pm "printf '{\"status\":\"pass\",\"summary\":\"planned\",\"details\":{\"tasks\":[{\"task_id\":\"CALC-1\",\"title\":\"add adds\",\"acceptance_criteria\":[\"add 2 3 is 5\"]},{\"title\":\"keep mul\"},\"not a task\"]}}\\n'"
	start_all
	run pipeline --project-id "$PROJ" --timeout "$(slow 60)"
	rid=$(run_id_of "$output")
	[ -n "$rid" ]
	run -0 "$B/wf" task list --project-id "$PROJ" --json
	echo "$output"
	[ "$(jq length <<<"$output")" -eq 2 ]
	[ "$(jq -r '.[0].task_id' <<<"$output")" = CALC-1 ]
	[ "$(jq -r '.[0].acceptance_criteria[0]' <<<"$output")" = "add 2 3 is 5" ]
	[ "$(jq -r '.[1].title' <<<"$output")" = "keep mul" ]
	[ "$(jq -r '.[1].task_id' <<<"$output")" = T2 ]
	[ "$(jq -r "[.[].run_id] | unique | .[]" <<<"$output")" = "$rid" ]
	fetch "$rid"
	[ "$(q .results.pm.details.tasks_created#)" -eq 2 ]
	# a PM that says 70 tasks makes 64, and the report says it was cut
	# (the script sits in the project's directory: the sandbox shows it)
	cat >"$REPO/many.sh" <<-'EOF'
	printf '{"status":"pass","summary":"many","details":{"tasks":['
	i=1; while [ $i -le 70 ]; do
		[ $i -gt 1 ] && printf ','
		printf '{"task_id":"M-%d","title":"t%d"}' $i $i
		i=$((i + 1))
	done
	printf ']}}\n'
	EOF
	role pm "sh many.sh"
	run pipeline --project-id "$PROJ" --timeout "$(slow 60)"
	rid2=$(run_id_of "$output")
	run -0 "$B/wf" task list --project-id "$PROJ" --json
	[ "$(jq "[.[] | select(.run_id == $rid2)] | length" <<<"$output")" -eq 64 ]
	fetch "$rid2"
	[ "$(q .results.pm.details.tasks_cut)" = true ]
}

# once_each RUN: every move of the run's history, its state_changed audit
# lines and events, and its role jobs happened once each
once_each() {
	local f="$WF_HOME/state/runs/$1.json" n
	n=$(jq '[.history[] | .from + ">" + .to] | group_by(.) | map(length) | max' "$f")
	[ "$n" -eq 1 ] || { echo "run $1: a move twice" >&2; return 1; }
	n=$(jq -s --argjson r "$1" '[.[] | select(.action == "run.state_changed" and .entity_id == $r) |
	    .details.from_state + ">" + .details.to_state] | group_by(.) | map(length) | max' \
	    "$WF_HOME/log/audit.jsonl")
	[ "$n" -eq 1 ] || { echo "run $1: an audit line twice" >&2; return 1; }
	[ "$(jq -s --argjson r "$1" '[.[] | select(.action == "run.created" and .entity_id == $r)] | length' \
	    "$WF_HOME/log/audit.jsonl")" -eq 1 ]
	n=$(cat "$WF_HOME"/events/new/* "$WF_HOME"/events/cur/* 2>/dev/null |
	    jq -s --argjson r "$1" '[.[] | select(.event == "run.state_changed" and .payload.run_id == $r) |
	    .payload.from_state + ">" + .payload.to_state] | group_by(.) | map(length) | max')
	[ "$n" -eq 1 ] || { echo "run $1: an event twice" >&2; return 1; }
	n=$(cat "$WF_HOME"/done/* 2>/dev/null | jq -s --argjson r "$1" \
	    '[.[] | select(.job_type == "agent_run" and .run_id == $r) | .request_data.role] | sort')
	[ "$(jq -c . <<<"$n")" = '["dev","pm","qa","security"]' ] ||
	    { echo "run $1: jobs $n" >&2; return 1; }
}

@test "wf-gate killed between a transition's write and its effects, or between two effects (WF_FAULT): after a restart the run moves on, each job, event and audit line once" {
	start_dispatch
	for point in pipeline.written pipeline.effect; do
		WF_FAULT=$point start_gate
		rid=$("$B/wf" run create --project-id "$PROJ")
		# it dies at the run's first transition, PM -> DEV
		wait_until "$(slow 20)" dead "$GATE_PID"
		wait "$GATE_PID" 2>/dev/null || true
		GATE_PID=
		state_is "$rid" DEV
		# what follows is recorded in the run, not done (or half)
		jq -e '.effects | length > 0' "$WF_HOME/state/runs/$rid.json"
		start_gate
		grep -q 'did the effects of 1 run left undone' "$BATS_TEST_TMPDIR/gate.log"
		wait_state "$rid" READY_FOR_COMMIT 60
		stop_gate
		jq -e 'has("effects") | not' "$WF_HOME/state/runs/$rid.json"
		once_each "$rid"
	done
}

@test "wf run create killed after the run's write (WF_FAULT): wf-gate gives it its worktree and PM's job, once" {
	run env WF_FAULT=pipeline.created "$B/wf" run create --project-id "$PROJ"
	[ "$status" -eq 137 ]
	rid=1
	state_is "$rid" PM
	jq -e '.effects[0].do == "begin"' "$WF_HOME/state/runs/$rid.json"
	[ "$(count queue/2-high/new)" -eq 0 ]
	start_all
	wait_state "$rid" READY_FOR_COMMIT 60
	# (not a git repository here: the run says so, with a null worktree)
	jq -e 'has("worktree") and .worktree == null' "$WF_HOME/state/runs/$rid.json"
	once_each "$rid"
}

@test "an effect's file left in a tmp/ by a writer killed between its create and its rename does not hold the run: done again, it is written again" {
	# Found by bench/crash.sh: wf-gate SIGKILLed while it wrote a
	# transition's event left events/tmp/ID; every redo of the effect
	# then failed (File exists, O_EXCL) and the run stayed in its state
	# with no job, for good.
	start_dispatch
	WF_FAULT=pipeline.written start_gate
	rid=$("$B/wf" run create --project-id "$PROJ")
	wait_until "$(slow 20)" dead "$GATE_PID"
	wait "$GATE_PID" 2>/dev/null || true
	GATE_PID=
	state_is "$rid" DEV
	# what such a writer leaves: each effect's file, half-written, in tmp/
	ids=$(jq -r '.effects[] | select(.do == "event" or .do == "job") | .id' \
	    "$WF_HOME/state/runs/$rid.json")
	[ -n "$ids" ]
	for id in $ids; do
		printf '{"half' >"$WF_HOME/events/tmp/$id"
		printf '{"half' >"$WF_HOME/queue/2-high/tmp/$id"
	done
	start_gate
	wait_state "$rid" READY_FOR_COMMIT 60
	once_each "$rid"
	for id in $ids; do
		[ ! -e "$WF_HOME/events/tmp/$id" ]
		[ ! -e "$WF_HOME/queue/2-high/tmp/$id" ]
	done
}

@test "a role's job that fails for good without a report (its agent killed at every attempt) fails the role: the run waits for a human, not for a job that is no more" {
	# Found by bench/crash.sh: SEC's agent was killed three times, its
	# job failed ("its attempts are spent"), and the run stayed in SEC
	# with no job, no effect and no human wait, for good.
	role dev 'sleep 60'
	wf_config '[queue]' 'backoff_base = 1' 'backoff_max = 1' 'max_attempts = 2' \
	    '[pipeline]' "roles_dir = $ROLES" 'auto_retry = false' 'max_iter = 3'
	start_all
	rid=$("$B/wf" run create --project-id "$PROJ")
	wait_state "$rid" DEV
	for n in 1 2; do
		# its agent, killed as soon as it runs
		wait_for "$(slow 20)" dev_running
		kill -KILL "$(dev_pid)"
		wait_for "$(slow 20)" dev_gone
	done
	wait_for "$(slow 20)" jq -e '.waiting_for_human == true' \
	    "$WF_HOME/state/runs/$rid.json"
	state_is "$rid" DEV
	jq -r .waiting_reason "$WF_HOME/state/runs/$rid.json" |
	    grep -q 'dev reported fail'
	jq -r .results.dev.summary "$WF_HOME/state/runs/$rid.json" |
	    grep -q "dev's job .* without its report after 2 attempts"
	# applied once, however often the gate sees the job's end
	stop_gate
	start_gate
	sleep 1
	[ "$(jq '[.history[] | select(.from == "DEV")] | length' \
	    "$WF_HOME/state/runs/$rid.json")" -le 1 ]
}

# dev_pid: the pid of the running dev agent_run job (its active/ID.pid)
dev_pid() {
	local f p rest
	for f in "$WF_HOME"/active/*.pid; do
		[ -f "$f" ] || continue
		grep -q '"role":"dev"' "${f%.pid}" 2>/dev/null || continue
		read -r p rest <"$f"
		[ "${p:-0}" -gt 1 ] && echo "$p" && return 0
	done
	return 1
}
dev_running() { dev_pid >/dev/null; }
dev_gone() { ! dev_running; }
