#!/usr/bin/env bats
# daemon: wf-dispatch as a service: SIGHUP reloads the config (a lane's
# concurrency changes under load), a bad config stops it at start with the
# line number, READY=1 and STATUS= go to $NOTIFY_SOCKET, and SIGTERM stops
# it promptly when idle and after its running jobs when busy; a second
# instance of any daemon on one spool is refused (75) while the first runs.

load helpers

setup() { wf_setup; }
teardown() { wf_teardown; }

# marks: how many of the held jobs have started
marks() {
	find "$BATS_TEST_TMPDIR/marks" -name 'run.*' | wc -l
}
marks_ge() { [ "$(marks)" -ge "$1" ]; }

@test "SIGHUP reloads the config: a lane goes from 1 to 3 at once" {
	wf_config '[lane.command]' 'concurrency = 1'
	d="$BATS_TEST_TMPDIR/marks"
	mkdir "$d"
	ids=()
	# Each job marks its start, then holds its slot until released
	# (15 s at most).
	for i in 1 2 3 4; do
		ids+=("$(enqueue -- sh -c 'touch "$1/run.$2"; i=0
			while [ ! -e "$1/release" ] && [ $i -lt 300 ]; do
				sleep 0.05; i=$((i + 1)); done' sh "$d" "$i")")
	done
	start_dispatch
	wait_until "$(slow 10)" test -e "$d/run.1"
	# One slot: nobody else starts while the first holds it.
	sleep 0.5
	[ "$(marks)" -eq 1 ]

	wf_config '[lane.command]' 'concurrency = 3'
	kill -HUP "$DISPATCH_PID"
	wait_until "$(slow 10)" marks_ge 3
	grep -q 'reloaded' "$BATS_TEST_TMPDIR/dispatch.log"
	# Three slots, not four.
	sleep 0.5
	[ "$(marks)" -eq 3 ]
	run "$B/wf" queue status --json
	[ "$status" -eq 0 ]
	[[ "$output" == *'"command":{"waiting":1,"running":3}'* ]]

	touch "$d/release"
	for id in "${ids[@]}"; do
		run wait_job "$id"
		[ "$status" -eq 0 ]
	done
	[ "$(marks)" -eq 4 ]
}

@test "SIGHUP with a bad config keeps the old one and keeps serving" {
	start_dispatch
	wf_config '[queue]' 'no_such_key = 1'
	kill -HUP "$DISPATCH_PID"
	wait_until 5 grep -q 'keeping the old config' "$BATS_TEST_TMPDIR/dispatch.log"
	grep -q 'line 2' "$BATS_TEST_TMPDIR/dispatch.log"
	run enqueue_wait -- true
	[ "$status" -eq 0 ]
	alive "$DISPATCH_PID"
}

@test "a config with an unknown key stops wf-dispatch at start: exit 78, with the line" {
	wf_config '; a typo on line 4' '[queue]' 'aging = 10' 'agin = 10'
	run --separate-stderr timeout 10 "$B/wf-dispatch"
	[ "$status" -eq 78 ]
	[[ "$stderr" == *"line 4"* ]]
	[[ "$stderr" == *"agin"* ]]
	# An unknown section too.
	wf_config '[queue]' 'aging = 10' '' '[nosuchsection]' 'x = 1'
	run --separate-stderr timeout 10 "$B/wf-dispatch"
	[ "$status" -eq 78 ]
	[[ "$stderr" == *"line 5"* ]]
	[[ "$stderr" == *"nosuchsection"* ]]
}

@test "READY=1 goes to \$NOTIFY_SOCKET; SIGTERM with nothing running exits 0 at once" {
	sock="$BATS_TEST_TMPDIR/notify.sock"
	out="$BATS_TEST_TMPDIR/notify.out"
	"$PY" "$BATS_TEST_DIRNAME/../helpers/notify_recv.py" "$sock" "$out" \
	    >/dev/null 2>&1 3>&- &
	wait_until 10 test -S "$sock"
	NOTIFY_SOCKET=$sock start_dispatch
	wait_until 5 grep -qx 'READY=1' "$out"
	wait_until 5 grep -q '^STATUS=0 waiting, 0 running' "$out"

	t0=$(now_ms)
	kill -TERM "$DISPATCH_PID"
	wait_until 5 gone "$DISPATCH_PID"
	rc=0
	wait "$DISPATCH_PID" || rc=$?
	DISPATCH_PID=
	[ "$rc" -eq 0 ]
	echo "stopped in $(($(now_ms) - t0)) ms"
	[ $(($(now_ms) - t0)) -lt 2000 ]
	wait_until 5 grep -qx 'STOPPING=1' "$out"
}

@test "SIGTERM while a job runs: the job finishes, then wf-dispatch exits 0" {
	start_dispatch
	id=$(enqueue -- sh -c 'touch "$1"; sleep 0.5' sh "$BATS_TEST_TMPDIR/started")
	wait_until "$(slow 10)" test -e "$BATS_TEST_TMPDIR/started"
	kill -TERM "$DISPATCH_PID"
	wait_until "$(slow 8)" gone "$DISPATCH_PID"
	rc=0
	wait "$DISPATCH_PID" || rc=$?
	DISPATCH_PID=
	[ "$rc" -eq 0 ]
	ended "$id" done
}

# readies_gt LOG N: LOG has more than N "ready:" lines
readies_gt() {
	[ "$(grep -c 'ready:' "$1" 2>/dev/null)" -gt "$2" ]
}

# bg_daemon NAME LOG [ARG...]: start NAME in the background, logging to
# LOG; its pid in BG_PID once a new "ready:" line shows it serves.
bg_daemon() {
	local name=$1 log=$2 n
	shift 2
	n=$(grep -c 'ready:' "$log" 2>/dev/null) || n=0
	"$B/$name" "$@" >>"$log" 2>&1 3>&- &
	BG_PID=$!
	wait_until "$(slow 10)" readies_gt "$log" "$n" || {
		cat "$log" >&2
		return 1
	}
}

@test "one of each daemon per spool: a second exits 75 naming the first; after kill -9 of the first, it starts" {
	wf_config '[httpd]' 'listen = 127.0.0.1:0'
	for d in wf-dispatch wf-gate wf-notify wf-httpd; do
		log="$BATS_TEST_TMPDIR/$d.log"
		bg_daemon "$d" "$log"
		first=$BG_PID
		run -75 timeout 10 "$B/$d"
		[[ "$output" == "$d: $WF_HOME: already running (pid $first)" ]]
		# the first is untouched and still the one that runs
		alive "$first"
		[ "$(cat "$WF_HOME/run/$d.lock")" = "$first" ]
		kill -KILL "$first"
		wait "$first" 2>/dev/null || true
		# no pid file to clean: the kernel dropped the lock
		bg_daemon "$d" "$log"
		[ "$BG_PID" != "$first" ]
		[ "$(cat "$WF_HOME/run/$d.lock")" = "$BG_PID" ]
		run -75 timeout 10 "$B/$d"
		[[ "$output" == *"already running (pid $BG_PID)"* ]]
		kill -TERM "$BG_PID"
		wait "$BG_PID" || false
	done
}

# refused LINE KEY PROG [ARG...]: PROG refuses the test's wf.ini at start:
# exit 78, one line on stderr naming the file, the line and the key
refused() {
	local line=$1 key=$2
	shift 2
	run --separate-stderr timeout 10 "$@"
	[ "$status" -eq 78 ] || { echo "$1: status $status: $stderr" >&2; return 1; }
	[ "${#stderr_lines[@]}" -eq 1 ] || { echo "$stderr" >&2; return 1; }
	[[ "$stderr" == *"$WF_CONFIG: line $line: $key"* ]] || {
		echo "$1: $stderr" >&2
		return 1
	}
}

@test "bad [llm] values and a back-off base above its cap stop every program at start: exit 78, the file, the line, the key" {
	wf_config '[queue]' 'aging = 10' '[llm]' 'provider = foo'
	for d in wf-dispatch wf-gate wf-notify wf-httpd; do
		refused 4 "provider: 'foo' is not ollama, openai or dmr" "$B/$d"
	done
	refused 4 provider "$B/wf-agent" 1700000000.M1P1.none
	refused 4 provider "$B/wf" up
	wf_config '[llm]' 'base_url = not a url'
	refused 2 "base_url: 'not a url' is not an http:// or https:// URL" \
	    "$B/wf-dispatch"
	wf_config '[llm]' 'timeout = 0'
	refused 2 "timeout: '0' is not in 1-86400" "$B/wf-dispatch"
	wf_config '[queue]' 'backoff_max = 5' 'backoff_base = 10'
	refused 3 "backoff_base: 10 is above backoff_max (5)" "$B/wf-dispatch"
	wf_config '[notify]' 'backoff_base = 2h'
	refused 2 "[notify] backoff_base" "$B/wf-notify"
	# nothing was started: no lock is held
	[ "$(cat "$WF_HOME/run/wf-dispatch.lock" 2>/dev/null)" = "" ]
}

@test "SIGHUP with a bad [llm] value keeps the old config, logs the key and its line, and keeps serving" {
	wf_config '[llm]' 'provider = ollama'
	start_dispatch
	start_gate
	wf_config '[llm]' 'timeout = 0'
	kill -HUP "$DISPATCH_PID" "$GATE_PID"
	for l in dispatch gate; do
		wait_until 5 grep -q 'keeping the old config' "$BATS_TEST_TMPDIR/$l.log"
		grep -q "$WF_CONFIG: line 2: timeout: '0' is not in 1-86400" \
		    "$BATS_TEST_TMPDIR/$l.log"
	done
	run enqueue_wait -- true
	[ "$status" -eq 0 ]
	alive "$DISPATCH_PID"
	alive "$GATE_PID"
	stop_gate
}

@test "an llm job's bad setting is named where it came from: the variable when exported, the file's line when the file changed since the dispatcher read it" {
	no_model_env
	wf_config '[lane.llm]' 'prestart = false' \
	    '[llm]' 'provider = ollama' 'base_url = http://127.0.0.1:9'
	WF_LLM_PROVIDER=foo start_dispatch
	id=$("$B/wf-enqueue" -t llm_complete --max-attempts 1 -d '{"prompt":"hi"}')
	ended "$id" failed
	grep -q "WF_LLM_PROVIDER: 'foo' is not openai, ollama or dmr" \
	    "$WF_HOME/failed/$id"
	stop_dispatch
	start_dispatch
	# changed under the running dispatcher, not reloaded: the job's
	# worker reads the file, and the job fails naming it
	wf_config '[lane.llm]' 'prestart = false' \
	    '[llm]' 'provider = foo' 'base_url = http://127.0.0.1:9'
	id=$("$B/wf-enqueue" -t llm_complete --max-attempts 1 -d '{"prompt":"hi"}')
	ended "$id" failed
	grep -qF "\"error_message\":\"$WF_CONFIG: line 4: provider: 'foo' is not ollama, openai or dmr\"" \
	    "$WF_HOME/failed/$id"
	! grep -q WF_LLM_PROVIDER "$WF_HOME/failed/$id"
}
