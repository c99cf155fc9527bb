#!/usr/bin/env bats
# demo: scripts/demo.sh (make demo), the whole pipeline on a sample git
# repo with a failing test:
#  - with no model answering, it says so, serves the recorded replies from
#    the local stand-in, reaches READY_FOR_DEPLOY, merges the fix and shows
#    the board; nothing it started is left running;
#  - with a model that answers (the stand-in started by the test, as a
#    configured model), it uses that one, with its key, and says so;
#  - a run that does not get there is a non-zero exit with the reason.

load helpers

DEMO=$BATS_TEST_DIRNAME/../../scripts/demo.sh

setup() {
	no_model_env
	unset WF_DEMO_REPLIES
	# the "user's" config: no [llm], so the environment says it all
	export WF_CONFIG="$BATS_TEST_TMPDIR/user.ini"
	: >"$WF_CONFIG"
	export WF_DEMO_DIR="$BATS_TEST_TMPDIR/demo"
	# the demo's processes carry this WF_HOME (strays finds them by it)
	WF_HOME="$WF_DEMO_DIR/home"
	FAKE_PID=
}

teardown() {
	local rc=0 left
	if [ -n "$FAKE_PID" ]; then
		kill -TERM "$FAKE_PID" 2>/dev/null || true
		wait "$FAKE_PID" 2>/dev/null || true
	fi
	left=$(strays)
	if [ -n "$left" ]; then
		echo "left running by the demo:" >&2
		ps -o pid,args -p "$(echo $left | tr ' ' ,)" >&2 || true
		kill_strays
		rc=1
	fi
	return $rc
}

# nothing_left: no process of the demo's is running (daemons, jobs, the
# stand-in: all carry the demo's WF_HOME), nor a fake server of its dir
nothing_left() {
	[ -z "$(strays)" ] || return 1
	! pgrep -f "fake_llm.py .*$WF_DEMO_DIR" >/dev/null
}

state_of() {
	WF_HOME="$WF_DEMO_DIR/home" WF_CONFIG="$WF_DEMO_DIR/wf.ini" \
	    "$B/wf" run show "$1" --json | jq -r .state
}

@test "make demo with no model answering: recorded replies from the stand-in, said plainly, to READY_FOR_DEPLOY and the board" {
	t0=$(now_ms)
	run env WF_LLM_BASE_URL=http://127.0.0.1:9 WF_BIN="$B" "$DEMO"
	t=$(($(now_ms) - t0))
	echo "$output"
	[ "$status" -eq 0 ]
	# well under a minute, and no hanging probe
	[ "$t" -lt "$(slow 45)000" ]
	[[ "$output" == *"NOTE: no model answered at http://127.0.0.1:9; serving recorded replies from a local stand-in"* ]]
	[[ "$output" == *"To use a real model, set in "*"[llm] base_url = http://localhost:11434"* ]]
	# the pipeline, stage by stage, then the human's two steps
	[[ "$output" == *"QA wrote 1 test file; 2 of 4 tests fail"* ]]
	[[ "$output" =~ SEC\ +-\>\ READY_FOR_COMMIT ]]
	[[ "$output" == *"run 1: READY_FOR_COMMIT, tokens 599 in / 200 out"* ]]
	[[ "$output" == *"wf run merge: run 1: MERGED"* ]]
	[[ "$output" == *"wf run advance: run 1: READY_FOR_DEPLOY"* ]]
	[[ "$output" == *"ok 4 - calc add 3 4 = 7"* ]]
	# the board, at the end, shows the run ready for deploy and PM's tasks
	# complete, as the run's work is merged (the board by stage)
	board=${output#*"wf board: project 1 (calc)"}
	[ "$board" != "$output" ]
	[[ "$board" == *"READY_FOR_DEPLOY (1)"* ]]
	[[ "$board" =~ \#1\ +fix-calc\ +p1\ +iter\ 1\ +tokens\ 599/200 ]]
	[[ "$board" =~ Complete\ \(2\) ]]
	[[ "$board" == *"CALC-1 add a"* ]]
	[[ "$board" == *"QUEUE  0 waiting, 0 running"* ]]
	# the deploy is left to a human: the command is printed, not run
	[[ "$output" == *"wf run approve-deploy 1"* ]]
	[ "$(state_of 1)" = READY_FOR_DEPLOY ]
	# the stand-in answered PM and DEV, once each
	[ "$(jq -s length "$WF_DEMO_DIR/fake.jsonl")" -eq 2 ]
	[ "$(jq -rs 'map(.body.model) | unique | join(",")' "$WF_DEMO_DIR/fake.jsonl")" = recorded ]
	# the fix is merged on main (wf run merge: a fast-forward), where the
	# tests pass now; the run's worktree was where the agents worked
	[ "$(git -C "$WF_DEMO_DIR/calc" rev-parse main)" = "$(git -C "$WF_DEMO_DIR/calc" rev-parse wf/run-1)" ]
	[ "$(git -C "$WF_DEMO_DIR/calc" log -1 --format=%s main)" = 'wf run 1: dev' ]
	[ "$(git -C "$WF_DEMO_DIR/calc" branch --show-current)" = main ]
	[ -z "$(git -C "$WF_DEMO_DIR/calc" status --porcelain)" ]
	(cd "$WF_DEMO_DIR/calc" && sh test_calc.sh)
	nothing_left
}

@test "make demo with a model that answers: it uses that one and says so" {
	pf="$BATS_TEST_TMPDIR/model.port"
	"$PY" "$BATS_TEST_DIRNAME/../helpers/fake_llm.py" --port 0 \
	    --portfile "$pf" --script "$BATS_TEST_DIRNAME/../../scripts/demo-replies.json" \
	    --log "$BATS_TEST_TMPDIR/model.jsonl" 2>"$BATS_TEST_TMPDIR/model.err" 3>&- &
	FAKE_PID=$!
	wait_until 10 test -s "$pf"
	port=$(<"$pf")
	run env WF_LLM_PROVIDER=openai WF_LLM_BASE_URL="http://127.0.0.1:$port" \
	    WF_LLM_MODEL=the-real-one WF_LLM_API_KEY=sk-demo-key WF_BIN="$B" \
	    "$DEMO"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"model: the-real-one (openai) at http://127.0.0.1:$port answered; the agents use it"* ]]
	[[ "$output" != *"recorded replies"* ]]
	[ ! -e "$WF_DEMO_DIR/fake.jsonl" ]
	# the probe, then PM and DEV, asking for the configured model
	[ "$(jq -rs 'map(select(.path == "/v1/chat/completions")) | length' "$BATS_TEST_TMPDIR/model.jsonl")" -eq 2 ]
	[ "$(jq -rs 'map(select(.path == "/v1/models")) | length' "$BATS_TEST_TMPDIR/model.jsonl")" -eq 1 ]
	[ "$(jq -rs 'map(.body.model // empty) | unique | join(",")' "$BATS_TEST_TMPDIR/model.jsonl")" = the-real-one ]
	# the key went with every request, the probe's too
	[ "$(jq -rs 'map(.authorization) | unique | join(",")' "$BATS_TEST_TMPDIR/model.jsonl")" = "Bearer sk-demo-key" ]
	[ "$(state_of 1)" = READY_FOR_DEPLOY ]
	nothing_left
}

@test "make demo: a run that does not reach READY_FOR_DEPLOY is a non-zero exit that says where it stopped" {
	# DEV's recorded reply fixes nothing: QA's tests still fail
	jq '."You are the DEV".content = "nothing to do.\n\n{\"status\":\"pass\",\"summary\":\"no change\",\"details\":{}}\n"' \
	    "$BATS_TEST_DIRNAME/../../scripts/demo-replies.json" \
	    >"$BATS_TEST_TMPDIR/replies.json"
	run env WF_LLM_BASE_URL=http://127.0.0.1:9 WF_BIN="$B" \
	    WF_DEMO_REPLIES="$BATS_TEST_TMPDIR/replies.json" "$DEMO"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"demo: run 1 stopped at "*", not READY_FOR_COMMIT"* ]]
	[[ "$output" == *"the runtime tree is kept in $WF_DEMO_DIR"* ]]
	[[ "$output" != *"wf board: project"* ]]
	st=$(state_of 1)
	[ "$st" != READY_FOR_DEPLOY ] && [ "$st" != READY_FOR_COMMIT ]
	nothing_left
}
