#!/usr/bin/env bats
# chain: a model lane of concurrency 1 with prestart and chain (the llm
# lane's default) hands its next job to the ready wf-agent while the
# current one runs; that worker reads the job and builds its request, and
# sends it the moment the current one releases the model (the byte or the
# end of its release pipe), with no hop through wf-dispatch.  What must
# hold: the model never has two requests at once, the order stays the
# queue's (a better job that comes later still goes first, the armed one
# back to its queue untouched), an armed job's deadline starts at its
# turn, a cancel or a stop reaches an armed job, and a job before it that
# dies starts it as a release would.  Real wf-dispatch and wf-agent, the
# fake model of tests/helpers/fake_llm.py on 127.0.0.1.

load helpers

setup() {
	wf_setup
	FAKE_PID=
	no_model_env
	SCRIPT="$BATS_TEST_TMPDIR/script.json"
	FAKELOG="$BATS_TEST_TMPDIR/fake.jsonl"
	DLOG="$BATS_TEST_TMPDIR/dispatch.log"
}

teardown() {
	stop_dispatch
	if [ -n "$FAKE_PID" ]; then
		kill -TERM "$FAKE_PID" 2>/dev/null || true
		wait "$FAKE_PID" 2>/dev/null || true
	fi
	wf_teardown
}

# model DELAY_MS: every reply takes DELAY_MS; start the fake model
model() {
	local pf="$BATS_TEST_TMPDIR/fake.port"
	printf '{"*": {"content": "ok", "delay_ms": %d}}\n' "$1" >"$SCRIPT"
	"$PY" "$BATS_TEST_DIRNAME/../helpers/fake_llm.py" --port 0 \
	    --portfile "$pf" --script "$SCRIPT" --log "$FAKELOG" \
	    2>>"$BATS_TEST_TMPDIR/fake.err" 3>&- &
	FAKE_PID=$!
	wait_until 10 test -s "$pf" || {
		cat "$BATS_TEST_TMPDIR/fake.err" >&2
		return 1
	}
	PORT=$(<"$pf")
}

# lane LINE...: wf.ini with the llm lane of concurrency 1 (and LINEs) and
# the fake model; the other model lanes keep no spare; jobs get $MAXA (1)
# attempts
lane() {
	wf_config '[queue]' "max_attempts = ${MAXA:-1}" \
	    '[lane.llm]' 'concurrency = 1' "$@" \
	    '[lane.agent]' 'prestart = false' '[lane.vision]' 'prestart = false' \
	    '[llm]' 'provider = openai' "base_url = http://127.0.0.1:$PORT" \
	    'model = fake' 'timeout = 60'
}

# job PROMPT [ARG...]: an llm_complete job on the llm lane; prints its id
job() {
	local p=$1
	shift
	enqueue -t llm_complete "$@" -d "{\"prompt\":\"$p\"}"
}

# prompts: the prompts the model got, in the order they arrived
prompts() {
	jq -rs 'sort_by(.mono_arrival_ns) | .[].body.messages[-1].content' \
	    "$FAKELOG" | tr '\n' ' '
}

# all_done ID...: each job completes, and ends in done/ alone
all_done() {
	local id
	for id in "$@"; do
		run wait_job "$id" "$(slow 30)"
		[ "$status" -eq 0 ]
		ended "$id" done
	done
}

# a_then_b DELAY_MS [c]: the model answers in DELAY_MS; jobs a and b (and
# c) queued, wf-dispatch started: a runs, b is armed behind it
a_then_b() {
	model "$1"
	lane
	a=$(job a)
	b=$(job b)
	[ -z "${2:-}" ] || c=$(job c)
	start_dispatch
	wait_until "$(slow 10)" armed "$b"
}

# armed ID: wf-dispatch armed ID (for wait_until)
armed() {
	grep -q "$1: armed pid" "$DLOG"
}

@test "chained: the next job is armed while one runs and starts on its release; the model never has two requests at once" {
	model 600
	lane
	for p in j1 j2 j3 j4; do
		ids+=("$(job "$p")")
	done
	start_dispatch
	all_done "${ids[@]}"
	# Every job after the first was armed behind the one before it, and
	# started after it.
	for i in 1 2 3; do
		grep -q "${ids[$i]}: armed pid [0-9]* on llm after ${ids[$((i - 1))]}" "$DLOG"
		grep -q "${ids[$i]}: started after ${ids[$((i - 1))]} on llm" "$DLOG"
	done
	# In queue order, one at a time: each request arrived after the
	# reply before it had gone out.
	[ "$(prompts)" = "j1 j2 j3 j4 " ]
	run jq -rs 'sort_by(.mono_arrival_ns) | [range(1; length) as $i |
	    select(.[$i].mono_arrival_ns < .[$i - 1].mono_reply_ns)] | length' "$FAKELOG"
	[ "$status" -eq 0 ]
	[ "$output" -eq 0 ]
	# A job's time runs from its turn, not from its arming (about 550
	# ms before): each took about the model's 600 ms.
	for id in "${ids[@]}"; do
		d=$(jget "$WF_HOME/done/$id" duration_ms)
		echo "$id: $d ms"
		[ "$d" -ge 600 ]
		[ "$d" -lt "$(slow 1000)" ]
		[ "$(jget "$WF_HOME/done/$id" attempt)" -eq 1 ]
	done
	# Each one's output log opened at its turn, one attempt each.
	for id in "${ids[@]}"; do
		[ "$(grep -c -- '--- wf: attempt' "$WF_HOME/output/$id.log")" -eq 1 ]
	done
}

# agents: how many wf-agent processes of this test there are
agents() {
	local p n=0
	for p in $(strays); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = wf-agent ] && n=$((n + 1))
	done
	echo "$n"
}

@test "while b is armed behind a, the spare that follows b is started at once, not at a's release" {
	a_then_b 3000 c
	# a's worker, b's armed worker, and the spare that follows b: well
	# before a's reply (3 s) ends
	wait_until "$(slow 2)" test "$(agents)" -eq 3
	grep -q "$a: started" "$DLOG"
	! grep -q "$a: released" "$DLOG"
	all_done "$a" "$b" "$c"
	grep -q "$c: armed pid [0-9]* on llm after $b" "$DLOG"
}

@test "a better job that comes while one is armed goes first; the armed one goes back to its queue, its attempt not counted" {
	a_then_b 1500
	c=$(job c -p critical)
	wait_until "$(slow 10)" grep -q "$b: a better job came for lane llm" "$DLOG"
	all_done "$a" "$b" "$c"
	[ "$(prompts)" = "a c b " ]
	# b went back once, untouched, and ran once.
	[ "$(jget "$WF_HOME/done/$b" attempt)" -eq 1 ]
	[ "$(jq -s '[.[] | select(.body.messages[-1].content == "b")] | length' "$FAKELOG")" -eq 1 ]
	[ "$(grep -c -- '--- wf: attempt' "$WF_HOME/output/$b.log")" -eq 1 ]
	[ "$(count corrupt)" -eq 0 ]
}

@test "cancel of an armed job: it never reaches the model, and the lane goes on" {
	a_then_b 1500 c
	wait_until "$(slow 10)" test -s "$WF_HOME/active/$a.pid"
	# the readers tell an armed job from a running one: it waits
	run "$B/wf" queue show --json "$b"
	[ "$status" -eq 0 ]
	[ "$(jq -r '"\(.status) \(.armed)"' <<<"$output")" = "pending true" ]
	run "$B/wf" queue status --json
	[ "$(jq -r '[.running[].id] | join(" ")' <<<"$output")" = "$a" ]
	[ "$(jq -r .by_status.pending <<<"$output")" -eq 2 ]
	run "$B/wf" queue cancel "$b"
	[ "$status" -eq 0 ]
	ended "$b" cancelled
	[ "$(jget "$WF_HOME/cancelled/$b" status)" = cancelled ]
	all_done "$a" "$c"
	[ "$(prompts)" = "a c " ]
}

@test "the job before an armed one dies without a release: the armed one starts" {
	model 3000
	lane
	a=$(job a -m 1)
	b=$(job b)
	start_dispatch
	wait_until "$(slow 10)" armed "$b"
	wait_until "$(slow 10)" test -s "$WF_HOME/active/$a.pid"
	# a waits for its 3 s reply: kill its worker's group
	pid=$(cut -d' ' -f1 "$WF_HOME/active/$a.pid")
	kill -KILL -- "-$pid"
	ended "$a" failed
	run wait_job "$b" "$(slow 30)"
	[ "$status" -eq 0 ]
	ended "$b" done
	grep -q "$b: started after $a on llm" "$DLOG"
	# b reached the model: its request is logged.
	[ "$(jq -s '[.[] | select(.body.messages[-1].content == "b")] | length' "$FAKELOG")" -eq 1 ]
}

@test "wf-dispatch stopped while a job is armed: it goes back to its queue, not started and not counted" {
	a_then_b 1500
	stop_dispatch
	ended "$a" done
	wait_until "$(slow 10)" only_in "$b" queue/3-normal/new
	[ "$(jget "$WF_HOME/queue/3-normal/new/$b" attempt)" -eq 0 ]
	[ "$(prompts)" = "a " ]
	[ ! -e "$WF_HOME/output/$b.log" ]
	# and the next start runs it
	start_dispatch
	run wait_job "$b" "$(slow 30)"
	[ "$status" -eq 0 ]
	ended "$b" done
	[ "$(jget "$WF_HOME/done/$b" attempt)" -eq 1 ]
}

@test "kill -9 of wf-dispatch while a job is armed: after a restart it runs, its attempt not counted; the one that had started counts its own" {
	model 1500
	MAXA=3 lane
	a=$(job a)
	b=$(job b)
	start_dispatch
	wait_until "$(slow 10)" armed "$b"
	wait_until "$(slow 10)" test -s "$WF_HOME/active/$a.pid"
	[ ! -e "$WF_HOME/active/$b.pid" ]
	kill -KILL "$DISPATCH_PID"
	wait "$DISPATCH_PID" || true
	DISPATCH_PID=
	start_dispatch
	all_done "$a" "$b"
	[ "$(jget "$WF_HOME/done/$a" attempt)" -eq 2 ]
	[ "$(jget "$WF_HOME/done/$b" attempt)" -eq 1 ]
}

@test "an armed job's deadline starts at its turn: it waits longer than its timeout and still completes" {
	# timeout 4 s (the model call gets 3 s of it); each reply 2.5 s: b
	# waits about 2.5 s armed, then runs 2.5 s
	model 2500
	lane
	a=$(job a)
	b=$(job b -T 4)
	start_dispatch
	wait_until "$(slow 10)" armed "$b"
	run wait_job "$b" "$(slow 30)"
	[ "$status" -eq 0 ]
	ended "$b" done
	[ "$(jget "$WF_HOME/done/$b" status)" = completed ]
	ended "$a" done
}

@test "chain = false: the next job is handed over at the release, never armed" {
	model 300
	lane 'chain = false'
	a=$(job a)
	b=$(job b)
	c=$(job c)
	start_dispatch
	for id in "$a" "$b" "$c"; do
		run wait_job "$id" "$(slow 30)"
		[ "$status" -eq 0 ]
	done
	! grep -q 'armed pid' "$DLOG"
	[ "$(prompts)" = "a b c " ]
}

@test "chain = maybe is a config error, named" {
	model 300
	lane 'chain = maybe'
	run "$B/wf-dispatch"
	[ "$status" -eq 78 ]
	[[ "$output" == *"chain: 'maybe' is not true or false"* ]]
}

@test "wf-dispatch killed the moment a job releases the model (WF_FAULT): the armed job's request never goes out twice" {
	# b is armed behind a; the dispatcher dies on a's release, while
	# b's worker takes its turn.  b's worker says its start in
	# active/b.pid before its request leaves: after the restart, b
	# either never reached the model and runs now, or did, and is
	# counted (max_attempts 1: interrupted).  Never twice.
	model 400
	lane
	a=$(job a)
	b=$(job b)
	WF_FAULT=dispatch.released start_dispatch
	wait_until "$(slow 10)" armed "$b"
	wait_until "$(slow 10)" dead "$DISPATCH_PID"
	wait "$DISPATCH_PID" || true
	DISPATCH_PID=
	start_dispatch
	wait_until "$(slow 20)" active_empty
	[ "$(jq -rs '[.[] | select(.body.messages[-1].content == "b")] | length' "$FAKELOG")" -le 1 ]
	if [ -e "$WF_HOME/failed/$b" ]; then
		jget "$WF_HOME/failed/$b" error_message | grep -q interrupted
		[ "$(jget "$WF_HOME/failed/$b" attempt)" -eq 1 ]
	else
		ended "$b" done
		[ "$(jq -rs '[.[] | select(.body.messages[-1].content == "b")] | length' "$FAKELOG")" -eq 1 ]
	fi
}
