#!/usr/bin/env bats
# agents: the model-backed agents end to end, through the real wf-dispatch,
# wf-gate and wf-agent, against the fake LLM server (tests/helpers/
# fake_llm.py) on 127.0.0.1:
#  - a small git repo with a failing test goes PM -> DEV -> QA -> SEC ->
#    DEPLOYED: PM's reply makes tasks, DEV's reply fixes the code on the
#    run's branch, QA's command runs the real tests; the run's token totals
#    are what the fake server sent;
#  - DEV's reply writing ../x, /etc/x and through a symlink is refused;
#  - llm_complete and llm_chat jobs through the queue, OpenAI and Ollama;
#  - the faults: 429 with Retry-After, a refused connection, 400, garbage.

load helpers

FIX=$BATS_TEST_DIRNAME/fixtures/agents

setup() {
	wf_setup
	GATE_PID='' FAKE_PID='' ETC_X=''
	# the model comes from wf.ini alone: nothing of the caller's
	# environment may point the agent elsewhere
	no_model_env
	unset WORKFLOW_MAX_ITER
	ROLES="$BATS_TEST_TMPDIR/roles"
	REPO="$BATS_TEST_TMPDIR/repo"
	SCRIPT="$BATS_TEST_TMPDIR/script.json"
	FAKELOG="$BATS_TEST_TMPDIR/fake.jsonl"
	mkdir -p "$ROLES"
	echo '{}' >"$SCRIPT"
}

teardown() {
	local rc=0
	daemons_ok || rc=1
	stop_gate
	stop_dispatch
	stop_fake
	kill_strays
	if [ "$ETC_X" = absent ] && [ -e /etc/x ]; then
		echo "/etc/x was written by the test: removed" >&2
		rm -f /etc/x
		rc=1
	fi
	# the fake server itself must not have failed
	if grep -s Traceback "$BATS_TEST_TMPDIR/fake.err" >&2; then
		cat "$BATS_TEST_TMPDIR/fake.err" >&2
		rc=1
	fi
	sanitizer_check || rc=1
	# wf-agent's stderr is in its job's log
	if grep -rEl 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' \
	    "$WF_HOME/output" >&2 2>/dev/null; then
		rc=1
	fi
	return $rc
}

# start_fake: the fake LLM server on 127.0.0.1, port in $PORT; it reads
# $SCRIPT (again whenever it changes) and logs to $FAKELOG
start_fake() {
	local pf="$BATS_TEST_TMPDIR/fake.port"
	rm -f "$pf"
	"$PY" "$BATS_TEST_DIRNAME/../helpers/fake_llm.py" --port 0 \
	    --portfile "$pf" --script "$SCRIPT" --log "$FAKELOG" \
	    2>>"$BATS_TEST_TMPDIR/fake.err" 3>&- &
	FAKE_PID=$!
	wait_until 10 test -s "$pf" || {
		echo "the fake LLM server did not start" >&2
		cat "$BATS_TEST_TMPDIR/fake.err" >&2
		return 1
	}
	PORT=$(<"$pf")
}

stop_fake() {
	[ -n "$FAKE_PID" ] || return 0
	kill -TERM "$FAKE_PID" 2>/dev/null || true
	wait "$FAKE_PID" 2>/dev/null || true
	FAKE_PID=
}

# config PROVIDER PORT [LINE...]: wf.ini for the fake at 127.0.0.1:PORT
config() {
	local provider=$1 port=$2
	shift 2
	wf_config '[queue]' 'backoff_base = 1' 'backoff_max = 2' "$@" \
	    '[llm]' "provider = $provider" "base_url = http://127.0.0.1:$port" \
	    'model = fake' 'timeout = 20' \
	    '[pipeline]' "roles_dir = $ROLES" 'auto_retry = false' \
	    'max_iter = 3'
}




# roles: the shipped roles (etc/roles: pm and dev with backend = llm and
# their prompts, qa running the project's tests, security scanning with
# semgrep, bandit and gitleaks: none is installed here, and the shipped
# unscanned = pass lets it pass, marked details.scanned false)
roles() {
	cp "$BATS_TEST_DIRNAME"/../../etc/roles/*.ini \
	    "$BATS_TEST_DIRNAME"/../../etc/roles/*.prompt "$ROLES/"
	grep -q '^backend = llm' "$ROLES/pm.ini"
	grep -q '^backend = llm' "$ROLES/dev.ini"
	grep -q '^command = sh -c "$WF_TEST_COMMAND"' "$ROLES/qa.ini"
	grep -q '^backend = scan' "$ROLES/security.ini"
	grep -q '^unscanned = pass' "$ROLES/security.ini"
}

# make_repo: a git repo (main) with calc.sh, whose add is a subtraction,
# and its TAP tests, which fail until that is fixed
make_repo() {
	mkdir -p "$REPO"
	cp "$FIX/calc.sh" "$FIX/test_calc.sh" "$REPO/"
	git -C "$REPO" init -q -b main
	git -C "$REPO" add calc.sh test_calc.sh
	git -C "$REPO" -c user.name=t -c user.email=t@localhost \
	    commit -q -m 'calc with a bug'
	(cd "$REPO" && sh test_calc.sh >/dev/null) && return 1
	PROJ=$("$B/wf" project create --name calc --repo-path "$REPO" \
	    --test-command 'sh test_calc.sh')
	[ -n "$PROJ" ]
}

# the fake's reply text for PM: two tasks and the report
PM_REPLY='The bug is in add. Two tasks:

{"status":"pass","summary":"two tasks for calc","details":{"tasks":[{"task_id":"CALC-1","title":"add adds its operands","description":"calc.sh add subtracts","acceptance_criteria":["calc add 2 3 prints 5"]},{"task_id":"CALC-2","title":"keep mul working","acceptance_criteria":["calc mul 2 3 prints 6"]}]}}'

# script_pipeline DEV_REPLY: PM's and DEV's replies, triggered by the
# shipped prompts' first words
script_pipeline() {
	jq -n --arg pm "$PM_REPLY" --arg dev "$1" '{
	    "You are the PM": {content: $pm, prompt_tokens: 211,
		completion_tokens: 57, model: "fake-pm"},
	    "You are the DEV": {content: $dev, prompt_tokens: 388,
		completion_tokens: 143, model: "fake-dev"}}' >"$SCRIPT"
}

# flat: the JSON on stdin flattened to one line a value, "PATH=VALUE"
# for every scalar (.results.qa.status=pass, .0.body.model=fake), "PATH#=N"
# for the length of every array, "moves FROM TO=N" for the moves in a
# run's history: one jq for a record (a jq per field is too slow)
flat() {
	jq -r '
	    (paths(type | . != "object" and . != "array") as $p | "." + ($p | map(tostring) | join(".")) +
		"=" + (getpath($p) | tostring)),
	    (paths(type == "array") as $p | "." + ($p | map(tostring) | join(".")) +
		"#=" + (getpath($p) | length | tostring)),
	    (if type == "array" then ".#=\(length)" else empty end),
	    (if type == "object" and (.history | type) == "array" then
		(.history | group_by(.from + " " + .to)[] |
		"moves \(.[0].from) \(.[0].to)=\(length)") else empty end)'
}

# fetch RUN: the run record, flattened into $RUN
fetch() {
	RUN=$("$B/wf" run show "$1" --json | flat)
	[ -n "$RUN" ]
}

# rec ID DIR: a job's record in DIR, flattened into $RUN
rec() {
	RUN=$(flat <"$WF_HOME/$2/$1")
	[ -n "$RUN" ]
}

# reqs: what the fake server answered, its log as one array, flattened
# into $REQ (.0.path=/v1/chat/completions, .#=2)
reqs() {
	REQ=$(jq -s . "$FAKELOG" | flat)
	[ -n "$REQ" ]
}

# lookup LINES PATH: the value at PATH in flattened LINES; null when
# there is none
lookup() {
	local line
	while IFS= read -r line; do
		if [[ $line == "$2="* ]]; then
			printf '%s\n' "${line#"$2="}"
			return 0
		fi
	done <<<"$1"
	echo null
}

# q PATH: in the fetched record; r PATH: in the fake's log
q() { lookup "$RUN" "$1"; }
r() { lookup "$REQ" "$1"; }

# moves FROM TO: entries of the fetched run's history from -> to
moves() {
	local n
	n=$(q "moves $1 $2")
	[ "$n" = null ] && n=0
	echo "$n"
}

# pipeline ARG...: wf pipeline, stopped (status 99) if a daemon dies
pipeline() {
	local out="$BATS_TEST_TMPDIR/pipeline.out" p rc
	"$B/wf" pipeline "$@" >"$out" 2>&1 3>&- &
	p=$!
	while alive "$p"; do
		if ! daemons_ok; then
			kill "$p" 2>/dev/null
			wait "$p" 2>/dev/null
			cat "$out"
			return 99
		fi
		sleep 0.1
	done
	wait "$p"
	rc=$?
	cat "$out"
	return $rc
}

# the run id from wf pipeline's first line
run_id_of() {
	sed -n 's/^run \([0-9][0-9]*\) created for project.*/\1/p' <<<"$1" | head -n 1
}

dump() {
	{
		echo "--- runs"
		for f in "$WF_HOME"/state/runs/*.json; do
			[ -e "$f" ] && jq -c . "$f"
		done
		echo "--- fake.jsonl"
		jq -c '{path, trigger, status, fault, prompt_tokens, completion_tokens}' "$FAKELOG" 2>/dev/null
		echo "--- failed/"
		cat "$WF_HOME"/failed/* 2>/dev/null
		echo "--- output/"
		tail -n 20 "$WF_HOME"/output/* 2>/dev/null
		echo "--- gate.log"
		cat "$BATS_TEST_TMPDIR/gate.log" 2>/dev/null
		echo "--- dispatch.log"
		cat "$BATS_TEST_TMPDIR/dispatch.log" 2>/dev/null
	} >&2
}

# qa_tdd: QA writes its failing test first (tdd), a fourth case of
# test_calc.sh, which wf-agent commits on the run's branch (in the
# sandbox, the repository's git directory is read-only)
qa_tdd() {
	cat >>"$ROLES/qa.ini" <<'EOF'
tdd_command = sed -i -e 's/^echo 1..3/echo 1..4/' -e 's/^check 3 0 add 0 0$/&\ncheck 4 7 add 3 4/' test_calc.sh
EOF
	# a long command goes on on an indented line; the phase is in its
	# environment
	echo '  && echo "phase: $WF_PHASE"' >>"$ROLES/qa.ini"
}

@test "a git repo with a failing test goes to DEPLOYED: QA's failing test first, PM's tasks, DEV's fix on wf/run-N, the real tests, token totals" {
	roles
	qa_tdd
	make_repo
	script_pipeline "$(printf 'add subtracted; it adds now.\n\n```file:calc.sh\n%s\n```\n\n{"status":"pass","summary":"calc add adds","details":{}}\n' "$(cat "$FIX/calc_fixed.sh")")"
	start_fake
	config openai "$PORT"
	start_dispatch
	start_gate
	main0=$(git -C "$REPO" rev-parse main)

	run pipeline --project-id "$PROJ" --timeout "$(slow 90)"
	echo "$output"
	[ "$status" -eq 0 ] || { dump; false; }
	rid=$(run_id_of "$output")
	[ -n "$rid" ]
	[[ "$output" == *"run $rid: READY_FOR_COMMIT"* ]]
	fetch "$rid"
	[ "$(moves PM PM)" -eq 1 ]
	[ "$(moves PM DEV)" -eq 1 ]
	[[ "$output" == *$'\nPM: QA writes failing tests first '* ]]
	! grep -Eq '^PM +-> PM ' <<<"$output"
	[ "$(moves DEV QA)" -eq 1 ]
	[ "$(moves QA SEC)" -eq 1 ]
	[ "$(moves SEC READY_FOR_COMMIT)" -eq 1 ]
	[ "$(q .iteration)" -eq 1 ]

	grep -qx 'phase: tdd' "$WF_HOME"/output/*.log
	# tdd: QA's new test was seen to fail by the gate before DEV started
	[ "$(q .tdd_tests#)" -eq 1 ]
	[ "$(q .tdd_tests.0)" = test_calc.sh ]
	[ "$(q .results.qa_tdd.status)" = pass ]
	[ "$(q .results.qa_tdd.details.tests_run)" -eq 4 ]
	[ "$(q .results.qa_tdd.details.tests_failed)" -eq 2 ]
	[ "$(q .results.qa_tdd.details.verified_by)" = wf-gate ]
	[ "$(q .phase)" = null ]

	# the model was asked twice, with the shipped prompts rendered: the
	# project, its test command; DEV sees PM's report
	reqs
	[ "$(r .#)" -eq 2 ]
	[ "$(r .0.trigger)" = "You are the PM" ]
	[ "$(r .1.trigger)" = "You are the DEV" ]
	[ "$(r .0.path)" = /v1/chat/completions ]
	[ "$(r .1.path)" = /v1/chat/completions ]
	[ "$(r .0.body.model)" = fake ]
	[ "$(r .1.body.model)" = fake ]
	dev_prompt=$(jq -rs '.[1].body.messages[-1].content' "$FAKELOG")
	# the run works in its own worktree, not in the user's checkout
	[[ "$dev_prompt" == *"\"repo_path\":"*"$WF_HOME/work/run-$rid"* ]]
	[[ "$dev_prompt" == *"(sh test_calc.sh)"* ]]
	[[ "$dev_prompt" == *"two tasks for calc"* ]]
	[[ "$dev_prompt" != *"{{"* ]]
	# DEV's prompt holds PM's and QA's handoffs: who worked, what it
	# said, QA's commit and its diff stat, and the output the gate judged
	[[ "$dev_prompt" == *$'== handoff 1: PM, iteration 1, pass'*$'\nsummary: two tasks for calc\n'*$'tasks made: 2\n    CALC-1: add adds its operands\n'* ]]
	[[ "$dev_prompt" == *$'== handoff 2: QA writing failing tests first, iteration 1, pass'*$'\n    '*" wf run $rid: qa"$'\n'*"test_calc.sh | "*$'tests: 4 run, 2 passed, 2 failed (counted by wf-gate)\n'*$'the output the gate judged'*$'    not ok 4 - calc add 3 4 = 7'* ]]
	[[ "$dev_prompt" != *"== handoff 3"* ]]

	# PM's reply made the tasks, linked to the project and the run
	run "$B/wf" task list --project-id "$PROJ" --json
	[ "$status" -eq 0 ]
	echo "$output"
	T=$(flat <<<"$output")
	[ "$(lookup "$T" .#)" -eq 2 ]
	[ "$(lookup "$T" .0.task_id)" = CALC-1 ]
	[ "$(lookup "$T" .1.task_id)" = CALC-2 ]
	[ "$(lookup "$T" .0.title)" = "add adds its operands" ]
	[ "$(lookup "$T" .1.title)" = "keep mul working" ]
	[ "$(lookup "$T" .0.description)" = "calc.sh add subtracts" ]
	[ "$(lookup "$T" .0.acceptance_criteria.0)" = "calc add 2 3 prints 5" ]
	[ "$(lookup "$T" .1.acceptance_criteria.0)" = "calc mul 2 3 prints 6" ]
	[ "$(lookup "$T" .0.project_id)" -eq "$PROJ" ]
	[ "$(lookup "$T" .0.run_id)" -eq "$rid" ]
	[ "$(lookup "$T" .1.run_id)" -eq "$rid" ]
	# DEV took the run: its tasks left the backlog
	[ "$(lookup "$T" .0.status)" = in_progress ]
	[ "$(lookup "$T" .1.status)" = in_progress ]
	[ "$(q .results.pm.details.tasks_created#)" -eq 2 ]
	[ "$(q .results.pm.details.tasks_created.0)" = "$(lookup "$T" .0.id)" ]
	[ "$(q .results.pm.details.tasks_created.1)" = "$(lookup "$T" .1.id)" ]
	[ "$(q .results.pm.details.model)" = fake-pm ]

	# DEV's file is written and committed on wf/run-N, main untouched
	[ "$(q .results.dev.status)" = pass ]
	[ "$(q .results.dev.details.files_written#)" -eq 1 ]
	[ "$(q .results.dev.details.files_written.0)" = calc.sh ]
	[ "$(q .results.dev.details.branch)" = "wf/run-$rid" ]
	[ "$(q .results.dev.details.model)" = fake-dev ]
	[ "$(q .results.dev.details.commit_error)" = null ]
	git -C "$REPO" rev-parse -q --verify "refs/heads/wf/run-$rid" >/dev/null
	[ "$(git -C "$REPO" log -1 --format=%s "wf/run-$rid")" = "wf run $rid: dev" ]
	[ "$(git -C "$REPO" log -1 --format=%s "wf/run-$rid^")" = "wf run $rid: qa" ]
	[ "$(git -C "$REPO" rev-parse "wf/run-$rid~2")" = "$main0" ]
	[ "$(git -C "$REPO" rev-parse main)" = "$main0" ]
	[ "$(git -C "$REPO" diff --name-only "wf/run-$rid^" "wf/run-$rid")" = calc.sh ]
	[ "$(git -C "$REPO" diff --name-only main "wf/run-$rid" | tr '\n' ' ')" = "calc.sh test_calc.sh " ]
	git -C "$REPO" show "wf/run-$rid:calc.sh" | cmp - "$FIX/calc_fixed.sh"
	git -C "$REPO" show main:calc.sh | cmp - "$FIX/calc.sh"
	[ -z "$(git -C "$REPO" status --porcelain)" ]

	# QA's command ran the real tests, and the gate ran them again
	[ "$(q .results.qa.status)" = pass ]
	[ "$(q .results.qa.details.tests_run)" -eq 4 ]
	[ "$(q .results.qa.details.tests_failed)" -eq 0 ]
	[ "$(q .results.qa.details.verified_by)" = wf-gate ]
	[ "$(q .results.security.status)" = pass ]
	# no scanner here: a pass on nothing scanned says so
	if ! command -v semgrep bandit gitleaks >/dev/null; then
		[ "$(q .results.security.details.scanned)" = false ]
	fi

	# the run's tokens are the sums of what the fake server sent
	sum_in=$(($(r .0.prompt_tokens) + $(r .1.prompt_tokens)))
	sum_out=$(($(r .0.completion_tokens) + $(r .1.completion_tokens)))
	[ "$sum_in" -eq $((211 + 388)) ]
	[ "$sum_out" -eq $((57 + 143)) ]
	[ "$(q .tokens_in)" -eq "$sum_in" ]
	[ "$(q .tokens_out)" -eq "$sum_out" ]
	[ "$(q .results.pm.tokens_in)" -eq 211 ]
	[ "$(q .results.dev.tokens_out)" -eq 143 ]

	# MERGED is not said before it is true: wf/run-N is not in main yet
	run --separate-stderr "$B/wf" run advance "$rid"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"wf/run-$rid is not merged into main yet"* ]]
	fetch "$rid"
	[ "$(q .state)" = READY_FOR_COMMIT ]
	# a human merges it (a fast-forward: main is where the run began)
	run "$B/wf" run merge "$rid"
	[ "$status" -eq 0 ]
	[ "$output" = "run $rid: MERGED" ]
	[ "$(git -C "$REPO" rev-parse main)" = "$(git -C "$REPO" rev-parse "wf/run-$rid")" ]
	# merged: its tasks are done, and the audit trail says who moved them
	run -0 "$B/wf" task list --project-id "$PROJ" --status done --json
	[ "$(lookup "$(flat <<<"$output")" .#)" -eq 2 ]
	run -0 "$B/wf" log --json
	[ "$(jq '[.[] | select(.action == "task.status_changed")] | length' <<<"$output")" -eq 4 ]
	run "$B/wf" run advance "$rid"
	[ "$status" -eq 0 ]
	[ "$output" = "run $rid: READY_FOR_DEPLOY" ]
	run "$B/wf" run approve-deploy "$rid"
	[ "$status" -eq 0 ]
	[ "$output" = "run $rid: DEPLOYED" ]
	fetch "$rid"
	[ "$(q .state)" = DEPLOYED ]
	[ "$(q .approved_by)" = "$(id -un)" ]
	# the handoffs stay once the worktree is gone
	[ ! -e "$WF_HOME/work/run-$rid" ]
	run -0 "$B/wf" run show "$rid" --handoffs --json
	H=$(flat <<<"$output")
	[ "$(lookup "$H" .#)" -eq 5 ]
	[ "$(lookup "$H" .0.role)" = pm ]
	[ "$(lookup "$H" .0.tasks.1.task_id)" = CALC-2 ]
	[ "$(lookup "$H" .1.role)" = qa ]
	[ "$(lookup "$H" .1.phase)" = tdd ]
	[ "$(lookup "$H" .2.role)" = dev ]
	[ "$(lookup "$H" .2.asked.tdd_tests.0)" = test_calc.sh ]
	[ "$(lookup "$H" .2.commits#)" -eq 1 ]
	[ "$(lookup "$H" .2.commits.0.subject)" = "wf run $rid: dev" ]
	[[ "$(jq -r '.[2].diff_stat' <<<"$output")" == *"calc.sh | 2 +-"* ]]
	[ "$(lookup "$H" .2.next)" = QA ]
	[ -s "$WF_HOME/$(lookup "$H" .2.log)" ]
	[ "$(lookup "$H" .3.role)" = qa ]
	[ "$(lookup "$H" .3.tests.tests_run)" -eq 4 ]
	[ "$(lookup "$H" .3.gate.tests_failed)" -eq 0 ]
	[[ "$(jq -r '.[3].gate.output' <<<"$output")" == *$'\nok 4 - calc add 3 4 = 7'* ]]
	[ "$(lookup "$H" .4.role)" = security ]
	[ "$(lookup "$H" .4.next)" = READY_FOR_COMMIT ]
	run -0 "$B/wf" run show "$rid" --handoffs
	[[ "$output" == *$'== handoff 3: DEV, iteration 1, pass'*$'asked: make pass test_calc.sh\nsummary: calc add adds\n'*"log: output/"* ]]
	[[ "$output" == *"== handoff 5: SEC"* ]]
	run -0 "$B/wf" run show "$rid"
	[[ "$output" == *"handoffs           5 (wf run show $rid --handoffs)"* ]]
	# nothing more was asked of the model, and the totals stand
	reqs
	[ "$(r .#)" -eq 2 ]
	[ "$(q .tokens_in)" -eq "$sum_in" ]
	[ "$(q .tokens_out)" -eq "$sum_out" ]
}

# fake_asked N: the fake model has been asked N times (for wait_until)
fake_asked() {
	[ "$(wc -l <"$FAKELOG" 2>/dev/null || echo 0)" -ge "$1" ]
}

@test "a feature request from the CLI reaches the llm PM's prompt; PM's tasks, with the dependencies it gave, become the project's tasks" {
	roles
	make_repo
	FR_REPLY='{"status":"pass","summary":"mul and div","details":{"tasks":[{"task_id":"F-1","title":"calc mul","acceptance_criteria":["calc mul 2 3 prints 6"]},{"task_id":"F-2","title":"calc div","blocked_by":["F-1"],"acceptance_criteria":["calc div 6 3 prints 2"]}]}}'
	jq -n --arg pm "$FR_REPLY" --arg dev "$(printf '```file:calc.sh\n%s\n```\n{"status":"pass","summary":"calc add adds","details":{}}\n' "$(cat "$FIX/calc_fixed.sh")")" '{
	    "You are the PM": {content: $pm, prompt_tokens: 5,
		completion_tokens: 5},
	    "You are the DEV": {content: $dev, prompt_tokens: 5,
		completion_tokens: 5}}' >"$SCRIPT"
	start_fake
	config openai "$PORT"
	start_dispatch
	start_gate
	# two lines, a quote and a brace: the user's words as they are
	printf 'Add a "mul" command to calc.\nThen a div {command}, after mul.\n' \
	    >"$BATS_TEST_TMPDIR/request.txt"

	run pipeline --project-id "$PROJ" --request-file "$BATS_TEST_TMPDIR/request.txt" \
	    --timeout "$(slow 60)"
	echo "$output"
	[ "$status" -eq 0 ] || { dump; false; }
	rid=$(run_id_of "$output")
	jq -e --rawfile t "$BATS_TEST_TMPDIR/request.txt" '.request == $t' \
	    "$WF_HOME/state/runs/$rid.json"
	# the text is in PM's prompt, whole, where the shipped prompt puts it
	pm_prompt=$(jq -rs '.[0].body.messages[-1].content' "$FAKELOG")
	[[ "$pm_prompt" == *$'in their words'*$'Add a "mul" command to calc.\nThen a div {command}, after mul.'* ]]
	# PM's tasks are the project's, F-2 waiting on F-1 as PM said
	run -0 "$B/wf" task list --project-id "$PROJ" --json
	echo "$output"
	[ "$(jq length <<<"$output")" -eq 2 ]
	[ "$(jq -r '.[0].task_id' <<<"$output")" = F-1 ]
	[ "$(jq -r '.[1].task_id' <<<"$output")" = F-2 ]
	[ "$(jq -r '.[0].blocked_by' <<<"$output")" = null ]
	[ "$(jq -c '.[1].blocked_by' <<<"$output")" = '["F-1"]' ]
	[ "$(jq -r '.[1].acceptance_criteria[0]' <<<"$output")" = "calc div 6 3 prints 2" ]
	[ "$(jq -r "[.[].run_id] | unique | .[]" <<<"$output")" = "$rid" ]
	run -0 "$B/wf" task list --project-id "$PROJ"
	[[ "$output" == *"calc div"* ]]
	# PM's handoff says what it was asked, and what it made of it
	run -0 "$B/wf" run show "$rid" --handoffs --json
	[ "$(jq -r '.[0].role' <<<"$output")" = pm ]
	jq -e --rawfile t "$BATS_TEST_TMPDIR/request.txt" '.[0].asked.request == $t' <<<"$output"
	[ "$(jq -c '.[0].tasks[1]' <<<"$output")" = '{"task_id":"F-2","title":"calc div","blocked_by":["F-1"]}' ]

	# wf run create --request, and --request-file - (standard input)
	run -0 "$B/wf" run create --project-id "$PROJ" --request 'only mul, please' --json
	[ "$(jq -r .request <<<"$output")" = 'only mul, please' ]
	r2=$(jq -r .id <<<"$output")
	wait_until "$(slow 20)" fake_asked 3 || { dump; false; }
	[[ "$(jq -rs '.[2].body.messages[-1].content' "$FAKELOG")" == *'only mul, please'* ]]
	"$B/wf" run abandon "$r2" >/dev/null
	r3=$(printf 'from stdin\n' | "$B/wf" run create --project-id "$PROJ" --request-file -)
	jq -e '.request == "from stdin\n"' "$WF_HOME/state/runs/$r3.json"
	"$B/wf" run abandon "$r3" >/dev/null
	# blank is none; both, or more than 64 KiB, or a missing file: refused
	r4=$("$B/wf" run create --project-id "$PROJ" --request '  ')
	[ "$(jq -r .request "$WF_HOME/state/runs/$r4.json")" = null ]
	"$B/wf" run abandon "$r4" >/dev/null
	run "$B/wf" run create --project-id "$PROJ" --request a --request-file -
	[ "$status" -eq 64 ]
	head -c 65537 /dev/zero | tr '\0' x >"$BATS_TEST_TMPDIR/big.txt"
	run "$B/wf" pipeline --project-id "$PROJ" --request-file "$BATS_TEST_TMPDIR/big.txt"
	[ "$status" -eq 65 ]
	[[ "$output" == *"longer than 65536 bytes"* ]]
	run "$B/wf" run create --project-id "$PROJ" --request-file "$BATS_TEST_TMPDIR/none.txt"
	[ "$status" -eq 66 ]
	[ "$("$B/wf" run list --json | jq length)" -eq 4 ]
}

@test "DEV's reply writing ../x, /etc/x and through a symlink is refused and reported; nothing is written outside" {
	# /etc/x: absent (and removed by teardown if the test made it), or
	# a file of this machine that must stay as it is
	if [ -e /etc/x ] || [ -L /etc/x ]; then
		ETC_X=$(stat -c '%i %s %Y' /etc/x; sha256sum </etc/x)
	else
		ETC_X=absent
	fi
	[ ! -e "$BATS_TEST_TMPDIR/x" ]
	roles
	make_repo
	OUT="$BATS_TEST_TMPDIR/outside"
	mkdir -p "$OUT"
	ln -s "$OUT" "$REPO/link"
	git -C "$REPO" add link
	git -C "$REPO" -c user.name=t -c user.email=t@localhost commit -q -m link
	head0=$(git -C "$REPO" rev-parse HEAD)
	script_pipeline "$(printf 'Here:\n```file:../x\nup\n```\n```file:/etc/x\nabsolute\n```\n```file:link/evil\nthrough the link\n```\n{"status":"pass","summary":"done","details":{}}\n')"
	start_fake
	config openai "$PORT"
	start_dispatch
	start_gate

	run pipeline --project-id "$PROJ" --timeout "$(slow 60)"
	echo "$output"
	rid=$(run_id_of "$output")
	[ -n "$rid" ] || { dump; false; }
	fetch "$rid"
	[ "$(q .state)" = DEV ] || { dump; false; }
	[ "$(q .waiting_for_human)" = true ]
	[[ "$(q .waiting_reason)" == *"dev reported fail"* ]]
	[ "$(moves DEV QA)" -eq 0 ]

	# nothing outside the repository
	[ ! -e "$BATS_TEST_TMPDIR/x" ]
	if [ "$ETC_X" = absent ]; then
		[ ! -e /etc/x ]
		[ ! -L /etc/x ]
	else
		[ "$(stat -c '%i %s %Y' /etc/x; sha256sum </etc/x)" = "$ETC_X" ]
	fi
	[ ! -e "$OUT/evil" ]
	[ -z "$(ls -A "$OUT")" ]
	[ -L "$REPO/link" ]
	# and nothing inside either: no commit (the run's branch is where
	# the roles work, and it is where main was), no stray file
	[ "$(git -C "$REPO" rev-parse HEAD)" = "$head0" ]
	[ "$(git -C "$REPO" rev-parse "wf/run-$rid")" = "$head0" ]
	[ "$(git -C "$REPO" rev-parse main)" = "$head0" ]
	[ -z "$(git -C "$REPO" status --porcelain --ignored)" ]

	# the report: a fail, with the three paths and why
	[ "$(q .results.dev.status)" = fail ]
	[[ "$(q .results.dev.summary)" == *refused* ]]
	[ "$(q .results.dev.details.files_written#)" -eq 0 ]
	[ "$(q .results.dev.details.files_refused#)" -eq 3 ]
	[ "$(q .results.dev.details.files_refused.0.path)" = ../x ]
	[ "$(q .results.dev.details.files_refused.1.path)" = /etc/x ]
	[ "$(q .results.dev.details.files_refused.2.path)" = link/evil ]
	[[ "$(q .results.dev.details.files_refused.0.reason)" == *"'..'"* ]]
	[[ "$(q .results.dev.details.files_refused.1.reason)" == *"absolute path"* ]]
	[[ "$(q .results.dev.details.files_refused.2.reason)" == *"symlink"* ]]
	# the model's tokens still count
	[ "$(q .tokens_in)" -eq $((211 + 388)) ]
	[ "$(q .tokens_out)" -eq $((57 + 143)) ]
}

@test "the gate refuses a DEV commit that edits QA's test and PM's _spec/, with the offending paths; DEV starts again, then a human decides" {
	roles
	make_repo
	# DEV fixes calc.sh, but also weakens the test and writes a spec
	weak=$(sed 's/^check 1 5 add 2 3$/: skipped/' "$FIX/test_calc.sh")
	script_pipeline "$(printf '```file:calc.sh\n%s\n```\n```file:test_calc.sh\n%s\n```\n```file:_spec/notes.md\nmine\n```\n{"status":"pass","summary":"done","details":{}}\n' "$(cat "$FIX/calc_fixed.sh")" "$weak")"
	start_fake
	config openai "$PORT"
	start_dispatch
	start_gate

	run pipeline --project-id "$PROJ" --timeout "$(slow 90)"
	echo "$output"
	[ "$status" -ne 0 ]
	rid=$(run_id_of "$output")
	[ -n "$rid" ] || { dump; false; }
	fetch "$rid"
	[ "$(q .state)" = DEV ] || { dump; false; }
	[ "$(moves DEV QA)" -eq 0 ]
	# refused twice, DEV started again each time; then a human decides
	[ "$(moves DEV DEV)" -eq 2 ]
	[ "$(q .iteration)" -eq 3 ]
	[ "$(q .waiting_for_human)" = true ]
	[[ "$(q .waiting_reason)" == *"ownership gate: dev touched paths it does not own: _spec/notes.md (pm's) test_calc.sh (qa's)"* ]]
	[ "$(q .results.dev.status)" = fail ]
	[ "$(q .results.dev.refused_by)" = wf-gate ]
	[ "$(q .gate.offending_paths#)" -eq 2 ]
	[ "$(q .gate.offending_paths.0.path)" = _spec/notes.md ]
	[ "$(q .gate.offending_paths.0.owner)" = pm ]
	[ "$(q .gate.offending_paths.1.path)" = test_calc.sh ]
	[ "$(q .gate.offending_paths.1.owner)" = qa ]
	# calc.sh was DEV's to touch
	[ "$(q .gate.changed_paths#)" -eq 3 ]
	# the model was asked for DEV three times; QA never ran
	reqs
	[ "$(r .#)" -eq 4 ]
	[ "$(r .3.trigger)" = "You are the DEV" ]
	! grep -l '"role":"qa"' "$WF_HOME"/reports/cur/* 2>/dev/null
	# the refusal is an event, with the paths
	grep -h '"run.gate_failed"' "$WF_HOME"/events/new/* | grep -q '"offending_paths"'
}

@test "tdd: QA's pass that commits no test is refused; DEV never starts" {
	roles
	echo 'tdd_command = true' >>"$ROLES/qa.ini"
	make_repo
	script_pipeline "$(printf '```file:calc.sh\n%s\n```\n{"status":"pass","summary":"done","details":{}}\n' "$(cat "$FIX/calc_fixed.sh")")"
	start_fake
	config openai "$PORT"
	start_dispatch
	start_gate

	run pipeline --project-id "$PROJ" --timeout "$(slow 90)"
	echo "$output"
	[ "$status" -ne 0 ]
	rid=$(run_id_of "$output")
	fetch "$rid"
	[ "$(q .state)" = PM ] || { dump; false; }
	[ "$(q .phase)" = tdd ]
	[ "$(moves PM DEV)" -eq 0 ]
	[ "$(q .waiting_for_human)" = true ]
	[[ "$(q .waiting_reason)" == *"tdd gate: QA's pass committed no test"* ]]
	[ "$(q .tdd_tests)" = null ]
	# test first said plainly, not "PM -> PM" lines that read like a loop
	[ "$(grep -c '^PM: QA writes failing tests first ' <<<"$output")" -eq 1 ]
	[ "$(grep -c '^QA: failing tests first, again ' <<<"$output")" -eq "$(($(moves PM PM) - 1))" ]
	[ "$(moves PM PM)" -ge 2 ]
	! grep -Eq '^PM +-> PM ' <<<"$output"
	reqs
	[ "$(r .#)" -eq 1 ]
	[ "$(r .0.trigger)" = "You are the PM" ]
}

@test "a run over its token budget starts no more jobs and waits for a human; a raised budget and a retry carry it on" {
	roles
	make_repo
	script_pipeline "$(printf '```file:calc.sh\n%s\n```\n{"status":"pass","summary":"calc add adds","details":{}}\n' "$(cat "$FIX/calc_fixed.sh")")"
	start_fake
	config openai "$PORT"
	start_dispatch
	start_gate

	# PM spends 268 tokens, under 300: DEV starts and spends 531 more;
	# QA's job is refused at the door
	run pipeline --project-id "$PROJ" --token-budget 300 --timeout "$(slow 60)"
	echo "$output"
	[ "$status" -ne 0 ]
	rid=$(run_id_of "$output")
	fetch "$rid"
	[ "$(q .state)" = QA ] || { dump; false; }
	[ "$(q .token_budget)" -eq 300 ]
	[ "$(q .waiting_for_human)" = true ]
	[[ "$(q .waiting_reason)" == *"over its token budget (799 of 300 tokens)"* ]]
	[[ "$output" == *"over its token budget"* ]]
	job=$(grep -l '"role":"qa"' "$WF_HOME"/failed/* | head -n 1)
	[ -n "$job" ]
	grep -q 'over its token budget' "$job"
	[ -z "$(ls "$WF_HOME"/reports/new)" ]
	! grep -l '"role":"qa"' "$WF_HOME"/reports/cur/*
	grep -q '"action":"run.held"' "$WF_HOME/log/audit.jsonl"

	run "$B/wf" run budget "$rid" 5000
	[ "$status" -eq 0 ]
	fetch "$rid"
	[ "$(q .waiting_for_human)" = false ]
	"$B/wf" queue retry "$(basename "$job")"
	wait_until "$(slow 30)" grep -qs READY_FOR_COMMIT "$WF_HOME/state/runs/$rid.json" || { dump; false; }
	fetch "$rid"
	[ "$(q .results.qa.status)" = pass ]
	reqs
	[ "$(r .#)" -eq 2 ]
	run "$B/wf" run budget "$rid" lots
	[ "$status" -eq 64 ]
}

@test "goose backend: DEV runs goose run --no-session -i PROMPT in the repo with GOOSE_MODE=auto and the model settings; its edits are committed on wf/run-N" {
	roles
	make_repo
	# in the sandbox, goose's own log goes to its output (the job's log)
	cat >"$ROLES/dev.ini" <<EOF
[role]
backend = goose
command = $BATS_TEST_DIRNAME/../helpers/fake_goose --log - --fix $FIX/calc_fixed.sh
prompt = dev.prompt
owns = *
EOF
	script_pipeline unused
	start_fake
	config ollama "$PORT"
	start_dispatch
	start_gate

	run pipeline --project-id "$PROJ" --timeout "$(slow 60)"
	echo "$output"
	[ "$status" -eq 0 ] || { dump; false; }
	rid=$(run_id_of "$output")
	fetch "$rid"
	[ "$(q .state)" = READY_FOR_COMMIT ]
	[ "$(q .results.dev.summary)" = "goose fixed calc add" ]
	[ "$(q .results.qa.details.tests_failed)" -eq 0 ]
	GLOG=$(grep -l '^argv: run' "$WF_HOME"/output/*.log)
	cat "$GLOG"
	# the prompt is shown alone in the sandbox's /tmp; it runs in the
	# run's worktree
	grep -qx "argv: run --no-session -i /tmp/wf-goose-prompt" "$GLOG"
	grep -qx "cwd: $WF_HOME/work/run-$rid" "$GLOG"
	grep -qx 'GOOSE_MODE=auto' "$GLOG"
	grep -qx 'GOOSE_PROVIDER=ollama' "$GLOG"
	grep -qx 'GOOSE_MODEL=fake' "$GLOG"
	grep -qx "OLLAMA_HOST=http://127.0.0.1:$PORT" "$GLOG"
	grep -q '^prompt: You are the DEV' "$GLOG"
	# the prompt file is gone; goose's edit is a commit on the run's branch
	[ -z "$(ls "$WF_HOME/tmp")" ]
	[ "$(git -C "$REPO" log -1 --format=%s "wf/run-$rid")" = "wf run $rid: dev (goose)" ]
	git -C "$REPO" show "wf/run-$rid:calc.sh" | cmp - "$FIX/calc_fixed.sh"
	[ "$(git -C "$REPO" rev-parse main)" = "$(git -C "$REPO" rev-parse "wf/run-$rid^")" ]
	# goose's output is the job's log
	grep -q 'starting session' "$WF_HOME"/output/*.log
	# only PM asked the model server itself
	reqs
	[ "$(r .#)" -eq 1 ]
}

@test "AGENTS.md and _spec/ reach the llm PM's prompt and goose's ({{agents}}), bounded; an AGENTS.md that is a symlink out of the worktree is not followed" {
	roles
	make_repo
	printf 'Conventions: tabs, never spaces.\nRun sh test_calc.sh before you say pass.\n' >"$REPO/AGENTS.md"
	mkdir "$REPO/_spec"
	printf 'calc: a calculator with add and mul.\n' >"$REPO/_spec/brief.md"
	git -C "$REPO" add AGENTS.md _spec
	git -C "$REPO" -c user.name=t -c user.email=t@localhost commit -q -m conventions
	cat >"$ROLES/dev.ini" <<EOF
[role]
backend = goose
command = $BATS_TEST_DIRNAME/../helpers/fake_goose --log - --fix $FIX/calc_fixed.sh
prompt = dev.prompt
owns = *
EOF
	script_pipeline unused
	start_fake
	config ollama "$PORT"
	start_dispatch
	start_gate

	run pipeline --project-id "$PROJ" --timeout "$(slow 60)"
	echo "$output"
	[ "$status" -eq 0 ] || { dump; false; }
	rid=$(run_id_of "$output")
	# PM (llm) has them in its prompt, as the repository has them
	pm_prompt=$(jq -rs '.[0].body.messages[-1].content' "$FAKELOG")
	[[ "$pm_prompt" == *$'(_spec/*.md):\n--- AGENTS.md ---\nConventions: tabs, never spaces.\nRun sh test_calc.sh before you say pass.\n--- _spec/brief.md ---\ncalc: a calculator with add and mul.\n'* ]]
	[[ "$pm_prompt" != *"{{agents}}"* ]]
	# and so does goose's prompt (DEV), with PM's handoff
	GLOG=$(grep -l '^argv: run' "$WF_HOME"/output/*.log)
	grep -qx 'prompt| --- AGENTS.md ---' "$GLOG"
	grep -qx 'prompt| Conventions: tabs, never spaces.' "$GLOG"
	grep -qx 'prompt| calc: a calculator with add and mul.' "$GLOG"
	grep -qx 'prompt| summary: two tasks for calc' "$GLOG"

	# an agent's AGENTS.md that leads outside the worktree is not read,
	# and a spec past 16 KiB is cut, with a marker
	echo 'TOP-SECRET-42' >"$BATS_TEST_TMPDIR/secret.txt"
	rm "$REPO/AGENTS.md"
	ln -s "$BATS_TEST_TMPDIR/secret.txt" "$REPO/AGENTS.md"
	{ for i in $(seq 1 600); do echo "line $i of a long spec, padded to be long"; done
	  echo END-OF-BIG; } >"$REPO/_spec/big.md"
	git -C "$REPO" add -A
	git -C "$REPO" -c user.name=t -c user.email=t@localhost commit -q -m 'a link out, a long spec'
	r2=$("$B/wf" run create --project-id "$PROJ")
	[ -L "$WF_HOME/work/run-$r2/AGENTS.md" ]
	wait_until "$(slow 20)" fake_asked 2 || { dump; false; }
	p2=$(jq -rs '.[1].body.messages[-1].content' "$FAKELOG")
	[[ "$p2" == *'--- AGENTS.md: not read (a symlink that leads outside the repository) ---'* ]]
	[[ "$p2" != *TOP-SECRET-42* ]]
	[[ "$p2" == *$'--- _spec/big.md ---\nline 1 of a long spec'* ]]
	[[ "$p2" == *$'\n\xe2\x80\xa6truncated: the rest is left out'* ]]
	[[ "$p2" != *END-OF-BIG* ]]
	[[ "$p2" != *'--- _spec/brief.md ---'* ]]
	agents_part=${p2#*"(_spec/*.md):"}
	agents_part=${agents_part%%"What the stages of this run"*}
	[ "${#agents_part}" -le $((16384 + 100)) ]
	"$B/wf" run abandon "$r2" >/dev/null
}

# dev_reported: DEV's report waits in reports/new (no gate takes it)
dev_reported() {
	grep -qs '"role":"dev"' "$WF_HOME"/reports/new/*
}

@test "DEV's reply rewriting an executable file keeps it executable on wf/run-N" {
	roles
	make_repo
	chmod 755 "$REPO/calc.sh"
	git -C "$REPO" add calc.sh
	git -C "$REPO" -c user.name=t -c user.email=t@localhost commit -q -m 'calc.sh is a program'
	script_pipeline "$(printf '```file:calc.sh\n%s\n```\n{"status":"pass","summary":"calc add adds","details":{}}\n' "$(cat "$FIX/calc_fixed.sh")")"
	start_fake
	config openai "$PORT"
	start_dispatch
	# no gate: the run stays in PM (whose job runs too), and DEV's job,
	# enqueued by hand, writes and commits the file
	rid=$("$B/wf" run create --project-id "$PROJ")
	"$B/wf" run dev --run-id "$rid" >/dev/null
	# its report is dropped once the files are committed
	wait_until "$(slow 20)" dev_reported || { dump; false; }
	[ "$(git -C "$REPO" log -1 --format=%s "wf/run-$rid")" = "wf run $rid: dev" ]
	git -C "$REPO" show "wf/run-$rid:calc.sh" | cmp - "$FIX/calc_fixed.sh"
	git -C "$REPO" diff --summary main "wf/run-$rid"
	[ "$(git -C "$REPO" ls-tree "wf/run-$rid" calc.sh | cut -d' ' -f1)" = 100755 ]
	# in the run's worktree, not the user's checkout
	[ -x "$WF_HOME/work/run-$rid/calc.sh" ]
	[ "$("$WF_HOME/work/run-$rid/calc.sh" add 2 3)" = 5 ]
	[ "$("$REPO/calc.sh" add 2 3)" != 5 ]
}

# job_done ID: wait for ID to end in done/ (dump on failure)
job_done() {
	wait_job "$1" || { dump; false; }
	ended "$1" "done"
}

@test "llm_complete and llm_chat through the queue, OpenAI shape: the reply, model, the server's token counts, latency" {
	jq -n '{
	    "complete me": {content: "completed text", prompt_tokens: 17,
		completion_tokens: 5, model: "fake-openai", delay_ms: 60},
	    "chat with me": {content: "chatted text", prompt_tokens: 29,
		completion_tokens: 8}}' >"$SCRIPT"
	start_fake
	config openai "$PORT"
	start_dispatch

	a=$(enqueue -t llm_complete -d '{"prompt":"please complete me","max_tokens":12}')
	b=$(enqueue -t llm_chat -d '{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hello"},{"role":"assistant","content":"hi"},{"role":"user","content":"chat with me"}],"temperature":0}')
	job_done "$a"
	job_done "$b"

	rec "$a" "done"
	[ "$(q .status)" = completed ]
	[ "$(q .attempt)" -eq 1 ]
	[ "$(q .result_data.content)" = "completed text" ]
	[ "$(q .result_data.model)" = fake-openai ]
	[ "$(q .result_data.provider)" = openai ]
	[ "$(q .result_data.usage.prompt_tokens)" -eq 17 ]
	[ "$(q .result_data.usage.completion_tokens)" -eq 5 ]
	[ "$(q .result_data.usage.total_tokens)" -eq 22 ]
	[ "$(q .result_data.finish_reason)" = stop ]
	# the fake waited 60 ms before its reply
	[ "$(q .result_data.latency_ms)" -ge 60 ]
	[ "$(q .result_data.latency_ms)" -lt 20000 ]

	rec "$b" "done"
	[ "$(q .result_data.content)" = "chatted text" ]
	[ "$(q .result_data.model)" = fake ]
	[ "$(q .result_data.usage.prompt_tokens)" -eq 29 ]
	[ "$(q .result_data.usage.completion_tokens)" -eq 8 ]
	[ "$(q .result_data.latency_ms)" -ge 0 ]

	# what the server got: the OpenAI path and body
	reqs
	[ "$(r .#)" -eq 2 ]
	[ "$(r .0.path)" = /v1/chat/completions ]
	[ "$(r .0.body.model)" = fake ]
	[ "$(r .0.body.max_tokens)" -eq 12 ]
	[ "$(r .0.body.messages#)" -eq 1 ]
	[ "$(r .0.body.messages.0.role)" = user ]
	[ "$(r .0.body.messages.0.content)" = "please complete me" ]
	[ "$(r .0.prompt_tokens)" -eq 17 ]
	[ "$(r .0.completion_tokens)" -eq 5 ]
	[ "$(r .1.body.messages#)" -eq 4 ]
	[ "$(r .1.body.messages.0.role)" = system ]
	[ "$(r .1.body.messages.0.content)" = "be brief" ]
	[ "$(r .1.body.messages.2.role)" = assistant ]
	[ "$(r .1.body.messages.3.content)" = "chat with me" ]
	[ "$(r .1.body.temperature)" = 0 ]
}

@test "llm_complete and llm_chat through the queue, Ollama shape: stream false, num_ctx, prompt_eval_count and eval_count" {
	jq -n '{
	    "complete me": {content: "ollama completed", prompt_tokens: 23,
		completion_tokens: 6, model: "fake-ollama", delay_ms: 60},
	    "chat with me": {content: "ollama chatted", prompt_tokens: 41,
		completion_tokens: 9}}' >"$SCRIPT"
	start_fake
	config ollama "$PORT"
	start_dispatch

	a=$(enqueue -t llm_complete -d '{"prompt":"please complete me","system":"you complete"}')
	b=$(enqueue -t llm_chat -d '{"messages":[{"role":"user","content":"chat with me"}]}')
	job_done "$a"
	job_done "$b"

	rec "$a" "done"
	[ "$(q .result_data.content)" = "ollama completed" ]
	[ "$(q .result_data.model)" = fake-ollama ]
	[ "$(q .result_data.provider)" = ollama ]
	[ "$(q .result_data.usage.prompt_tokens)" -eq 23 ]
	[ "$(q .result_data.usage.completion_tokens)" -eq 6 ]
	[ "$(q .result_data.latency_ms)" -ge 60 ]
	rec "$b" "done"
	[ "$(q .result_data.content)" = "ollama chatted" ]
	[ "$(q .result_data.usage.prompt_tokens)" -eq 41 ]
	[ "$(q .result_data.usage.completion_tokens)" -eq 9 ]

	reqs
	[ "$(r .#)" -eq 2 ]
	[ "$(r .0.path)" = /api/chat ]
	[ "$(r .1.path)" = /api/chat ]
	[ "$(r .0.body.stream)" = false ]
	[ "$(r .0.body.model)" = fake ]
	[ "$(r .0.body.options.num_ctx)" -gt 0 ]
	[ "$(r .0.body.messages#)" -eq 2 ]
	[ "$(r .0.body.messages.0.role)" = system ]
	[ "$(r .0.body.messages.0.content)" = "you complete" ]
	[ "$(r .0.body.messages.1.content)" = "please complete me" ]
	[ "$(r .0.prompt_tokens)" -eq 23 ]
	[ "$(r .1.completion_tokens)" -eq 9 ]
}

@test "a 429 with Retry-After 2 defers the job without spending an attempt; it completes once the server answers" {
	jq -n '{"slow down": [
	    {fault: "429", retry_after: 2, message: "rate limited"},
	    {content: "after the wait", prompt_tokens: 7, completion_tokens: 2}]}' >"$SCRIPT"
	start_fake
	config openai "$PORT"
	start_dispatch

	# one attempt only: a 429 that spent it would fail the job
	t0=$(now_ms)
	id=$(enqueue -t llm_complete -m 1 -d '{"prompt":"slow down please"}')
	wait_until "$(slow 10)" test -f "$WF_HOME/deferred/$id" || { dump; false; }
	rec "$id" deferred
	[ "$(q .status)" = pending ]
	[ "$(q .attempt)" -eq 0 ]
	[[ "$(q .error_message)" == *429* ]]
	[[ "$(q .error_message)" == *"rate limited"* ]]
	nb=$(jq -r .not_before "$WF_HOME/deferred/$id")
	echo "not_before: $nb"
	if [[ $nb =~ ^[0-9]+$ ]]; then
		nb_ms=$nb
	else
		nb_ms=$(($(date -d "$nb" +%s%3N)))
	fi
	# the 429's reply time at the server, in ms
	reqs
	[ "$(r .#)" -eq 1 ]
	[ "$(r .0.status)" -eq 429 ]
	t429=$(($(r .0.t_reply_ns) / 1000000))
	echo "429 at $t429, not_before $nb_ms: $((nb_ms - t429)) ms later"
	[ "$((nb_ms - t429))" -ge 1900 ]
	[ "$((nb_ms - t429))" -le 3500 ]
	[ "$((nb_ms - t0))" -le "$(slow 4)000" ]

	job_done "$id"
	rec "$id" "done"
	[ "$(q .result_data.content)" = "after the wait" ]
	[ "$(q .result_data.usage.prompt_tokens)" -eq 7 ]
	[ "$(q .attempt)" -eq 1 ]
	# the second request came no sooner than the server asked
	reqs
	[ "$(r .#)" -eq 2 ]
	t2=$(($(r .1.t_arrival_ns) / 1000000))
	echo "second request $((t2 - t429)) ms after the 429"
	[ "$((t2 - t429))" -ge 1900 ]
}

@test "a refused connection fails after max_attempts with a clear error; a 400 fails at once; garbage fails with a clear error" {
	# a port nothing listens on
	dead=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
	config openai "$dead"
	start_dispatch
	id=$(enqueue -t llm_complete -m 2 -d '{"prompt":"anyone there"}')
	wait_job "$id" && false
	ended "$id" failed
	rec "$id" failed
	echo "$RUN"
	[ "$(q .status)" = failed ]
	[ "$(q .attempt)" -eq 2 ]
	[ "$(q .error_message)" != null ]
	[[ "$(q .error_message)" == *"cannot connect"* ]]
	[[ "$(q .error_message)" == *"127.0.0.1 port $dead"* ]]
	grep -q "$id: attempt 1 of 2 failed" "$BATS_TEST_TMPDIR/dispatch.log"
	stop_dispatch

	jq -n '{
	    "bad request": {fault: "400", message: "no such model: fake"},
	    "garbage please": {fault: "garbage"}}' >"$SCRIPT"
	start_fake
	config openai "$PORT"
	start_dispatch
	b=$(enqueue -t llm_complete -m 3 -d '{"prompt":"a bad request"}')
	g=$(enqueue -t llm_complete -m 3 -d '{"prompt":"garbage please"}')
	wait_job "$b" && false
	wait_job "$g" && false
	ended "$b" failed
	ended "$g" failed

	rec "$b" failed
	echo "$RUN"
	[ "$(q .attempt)" -eq 1 ]
	[[ "$(q .error_message)" == *400* ]]
	[[ "$(q .error_message)" == *"no such model: fake"* ]]

	rec "$g" failed
	echo "$RUN"
	[ "$(q .attempt)" -eq 1 ]
	[[ "$(q .error_message)" == *"not JSON"* ]]
	[[ "$(q .error_message)" == *"502 Bad Gateway"* ]]
	# the server was asked once for each
	reqs
	[ "$(r .#)" -eq 2 ]
}

@test "a hung model times out with a clear error and is retried; 500s are retried until the model answers; a reset connection and empty content fail clearly" {
	jq -n '{
	    "hang please": {fault: "hang", delay_ms: 30000},
	    "flaky": [{fault: "500", message: "overloaded"},
		      {fault: "500", message: "overloaded"},
		      {content: "third time lucky", prompt_tokens: 5, completion_tokens: 3}],
	    "reset please": {fault: "refuse"},
	    "empty please": {fault: "empty"}}' >"$SCRIPT"
	start_fake
	config openai "$PORT"
	export WF_LLM_TIMEOUT=2
	start_dispatch
	h=$(enqueue -t llm_complete -m 2 -d '{"prompt":"hang please"}')
	f=$(enqueue -t llm_complete -m 3 -d '{"prompt":"flaky"}')
	x=$(enqueue -t llm_complete -m 1 -d '{"prompt":"reset please"}')
	e=$(enqueue -t llm_complete -m 1 -d '{"prompt":"empty please"}')
	wait_job "$f"
	ended "$f" done
	rec "$f" done
	echo "$RUN"
	[ "$(q .attempt)" -eq 3 ]
	[ "$(q .result_data.content)" = "third time lucky" ]
	for id in "$h" "$x" "$e"; do
		wait_job "$id" && false
		ended "$id" failed
	done
	rec "$h" failed
	echo "$RUN"
	[ "$(q .attempt)" -eq 2 ]
	[[ "$(q .error_message)" == *"timed out (limit 2 s)"* ]]
	# the attempt was cut at the 2 s time-out, not the job's 300 s
	[ "$(q .duration_ms)" -lt 10000 ]
	rec "$x" failed
	echo "$RUN"
	[[ "$(q .error_message)" == *"no reply"*"reset"* ]]
	rec "$e" failed
	echo "$RUN"
	[[ "$(q .error_message)" == *"empty"* ]]
	# the flaky model was asked three times
	[ "$(jq -s 'map(select(.trigger == "flaky")) | length' "$FAKELOG")" -eq 3 ]
}

@test "a proxy in the environment carries the model calls, but never to a model on this machine" {
	start_fake
	config openai "$PORT"
	# a proxy that is not there: a call through it would fail
	dead=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
	export http_proxy="http://127.0.0.1:$dead" https_proxy="http://127.0.0.1:$dead" ALL_PROXY="http://127.0.0.1:$dead"
	export NO_PROXY=example.org
	start_dispatch
	id=$(enqueue -t llm_complete -m 1 -d '{"prompt":"direct please"}')
	wait_job "$id" || { dump; false; }
	ended "$id" done
	reqs
	[ "$(r .#)" -eq 1 ]
	# and the agent did see the proxy: a model elsewhere goes through it
	config openai "$PORT"
	sed -i "s|base_url = http://127.0.0.1:$PORT|base_url = http://model.invalid:$PORT|" "$WF_CONFIG"
	kill -HUP "$DISPATCH_PID"
	sleep 0.3
	id=$(enqueue -t llm_complete -m 1 -d '{"prompt":"far away"}')
	wait_job "$id" && false
	ended "$id" failed
	rec "$id" failed
	echo "$RUN"
	[[ "$(q .error_message)" == *"127.0.0.1 port $dead"* ]] || [[ "$(q .error_message)" == *"proxy"* ]]
}
