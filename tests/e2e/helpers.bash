# helpers.bash: shared set-up for the end-to-end tests.  Each test gets a
# fresh $WF_HOME under bats' temporary directory and its own config; the
# real daemons run against it and are stopped in teardown.

B=${WF_BIN:-$BATS_TEST_DIRNAME/../../bin}
B=$(cd "$B" && pwd)
export WF_BINDIR=$B

# run --separate-stderr and run -N need bats 1.5 (Debian 12 has 1.8.2).
bats_require_minimum_version 1.5.0

# The system python (a shim of a version manager is slow to start).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

wf_setup() {
	export WF_HOME="$BATS_TEST_TMPDIR/home"
	export WF_CONFIG="$BATS_TEST_TMPDIR/wf.ini"
	: >"$WF_CONFIG"
	"$B/wf" init >/dev/null
	DISPATCH_PID=
}

# no_model_env: nothing of the caller's environment may point wf-agent at
# a model, set its options or send it through a proxy: the test's wf.ini
# (and what the test exports) says it all.
no_model_env() {
	unset WF_LLM_PROVIDER WF_LLM_BASE_URL WF_LLM_MODEL WF_LLM_API_KEY \
	    WF_LLM_TIMEOUT WF_LLM_NUM_CTX WF_LLM_MAX_TOKENS OLLAMA_HOST \
	    GOOSE_MODEL OPENAI_API_KEY OPENAI_BASE_URL VISION_MODEL \
	    http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
	export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
}

# wf_config TEXT: the test's wf.ini
wf_config() {
	printf '%s\n' "$@" >"$WF_CONFIG"
}

# sanitized: are the programs under test an ASan/UBSan build?  (They are
# several times slower: bounds that guard against a hang scale with it.)
sanitized() {
	case $B in *-san|*-vg) return 0 ;; esac
	grep -aq __asan_init "$B/wf-dispatch" 2>/dev/null
}

# slow SECS: SECS, times 4 for a sanitizer build.
slow() {
	if sanitized; then echo $(($1 * 4)); else echo "$1"; fi
}

# alive PID: the process exists and is not a zombie.
alive() {
	local s=
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	[ -n "$s" ] || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

# now_ms: the wall clock in ms (bash 5's EPOCHREALTIME: no date(1))
now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# wait_until SECS COMMAND...: poll COMMAND every $WAIT_STEP seconds (50 ms)
# until it succeeds; fails after SECS seconds.
wait_until() {
	local until=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(now_ms)" -lt "$until" ] || return 1
		sleep "${WAIT_STEP:-0.05}"
	done
}

# gone PID: not alive (for wait_until).
gone() { ! alive "$1"; }

# dead PID: kill -0 fails: gone, and reaped too (an orphan is reaped by
# init, which may take a moment in a container).
dead() { ! kill -0 "$1" 2>/dev/null; }

# start_dispatch [ARG...]: run wf-dispatch in the background, wait until it
# is ready (a new "ready:" line in the log: it may be a restart).
start_dispatch() {
	local log="$BATS_TEST_TMPDIR/dispatch.log" n
	n=$(grep -c 'ready:' "$log" 2>/dev/null) || n=0
	"$B/wf-dispatch" -v "$@" >>"$log" 2>&1 3>&- &
	DISPATCH_PID=$!
	for _ in $(seq 1 400); do
		[ "$(grep -c 'ready:' "$log" 2>/dev/null)" -gt "$n" ] && return 0
		alive "$DISPATCH_PID" || break
		sleep 0.025
	done
	echo "wf-dispatch did not start" >&2
	cat "$log" >&2
	return 1
}

# start_gate: run wf-gate in the background and wait until it is ready (a
# new "ready:" line in its log: it may be a restart)
start_gate() {
	local log="$BATS_TEST_TMPDIR/gate.log" n
	n=$(grep -c 'ready:' "$log" 2>/dev/null) || n=0
	"$B/wf-gate" -v >>"$log" 2>&1 3>&- &
	GATE_PID=$!
	for _ in $(seq 1 400); do
		[ "$(grep -c 'ready:' "$log" 2>/dev/null)" -gt "$n" ] && return 0
		alive "$GATE_PID" || break
		sleep 0.025
	done
	echo "wf-gate did not start" >&2
	cat "$log" >&2
	return 1
}

# stop_gate [-SIGNAL]: stop wf-gate (SIGTERM by default) and reap it
stop_gate() {
	[ -n "${GATE_PID:-}" ] || return 0
	kill "${1:--TERM}" "$GATE_PID" 2>/dev/null || true
	wait_until 5 gone "$GATE_PID" || kill -KILL "$GATE_PID" 2>/dev/null || true
	wait "$GATE_PID" 2>/dev/null || true
	GATE_PID=
}

# start_httpd [ARG...]: run wf-httpd on a free port of 127.0.0.1 in the
# background, wait for its "listening on" line (a new one: it may be a
# restart) and export HTTPD_PORT and HTTPD_URL.
start_httpd() {
	local log="$BATS_TEST_TMPDIR/httpd.log" n
	n=$(grep -c 'listening on' "$log" 2>/dev/null) || n=0
	"$B/wf-httpd" -v -l 127.0.0.1:0 "$@" >>"$log" 2>&1 3>&- &
	HTTPD_PID=$!
	for _ in $(seq 1 400); do
		if [ "$(grep -c 'listening on' "$log" 2>/dev/null)" -gt "$n" ]; then
			HTTPD_PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' \
			    "$log" | tail -n 1)
			HTTPD_URL=http://127.0.0.1:$HTTPD_PORT
			export HTTPD_PORT HTTPD_URL
			return 0
		fi
		alive "$HTTPD_PID" || break
		sleep 0.025
	done
	echo "wf-httpd did not start" >&2
	cat "$log" >&2
	return 1
}

# stop_httpd [-SIGNAL]: stop wf-httpd (SIGTERM by default) and reap it;
# its exit status in HTTPD_RC
stop_httpd() {
	HTTPD_RC=
	[ -n "${HTTPD_PID:-}" ] || return 0
	kill "${1:--TERM}" "$HTTPD_PID" 2>/dev/null || true
	wait_until 5 gone "$HTTPD_PID" || kill -KILL "$HTTPD_PID" 2>/dev/null || true
	HTTPD_RC=0
	wait "$HTTPD_PID" 2>/dev/null || HTTPD_RC=$?
	HTTPD_PID=
}

# daemons_ok: neither wf-gate nor wf-dispatch died under the test
daemons_ok() {
	local ok=0
	if [ -n "${GATE_PID:-}" ] && ! alive "$GATE_PID"; then
		echo "wf-gate (pid $GATE_PID) died" >&2
		ok=1
	fi
	if [ -n "${DISPATCH_PID:-}" ] && ! alive "$DISPATCH_PID"; then
		echo "wf-dispatch (pid $DISPATCH_PID) died" >&2
		ok=1
	fi
	return $ok
}

# stop_dispatch: SIGTERM (it drains: running jobs may take 10 s), then a
# second SIGTERM (requeue them now), then SIGKILL.
stop_dispatch() {
	[ -n "$DISPATCH_PID" ] || return 0
	kill -TERM "$DISPATCH_PID" 2>/dev/null || true
	if ! wait_until 3 gone "$DISPATCH_PID"; then
		kill -TERM "$DISPATCH_PID" 2>/dev/null || true
		wait_until 5 gone "$DISPATCH_PID" ||
			kill -KILL "$DISPATCH_PID" 2>/dev/null || true
	fi
	wait "$DISPATCH_PID" 2>/dev/null || true
	DISPATCH_PID=
}

# strays: the pids of processes this test started, found by the WF_HOME in
# their environment (jobs keep it, and so does anything they fork).  grep
# runs without WF_HOME, so as not to find itself.
strays() {
	local out f p
	out=$(env -u WF_HOME grep -lzsaF "WF_HOME=$BATS_TEST_TMPDIR/" \
	    /proc/[0-9]*/environ) || true
	for f in $out; do
		p=${f#/proc/}
		p=${p%/environ}
		[ "$p" = "$$" ] || [ "$p" = "$BASHPID" ] || echo "$p"
	done
}

kill_strays() {
	local p
	for _ in 1 2 3; do
		p=$(strays)
		[ -n "$p" ] || return 0
		# shellcheck disable=SC2086
		kill -KILL $p 2>/dev/null || true
		sleep 0.05
	done
}

# sanitizer_check: fail when a daemon's log holds an ASan/UBSan report.
sanitizer_check() {
	local f bad=0
	for f in "$BATS_TEST_TMPDIR"/*.log; do
		[ -f "$f" ] || continue
		if grep -Eq 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$f"; then
			echo "sanitizer report in $f:" >&2
			cat "$f" >&2
			bad=1
		fi
	done
	return $bad
}

wf_teardown() {
	stop_dispatch
	# Nothing a test started may outlive it.
	pkill -KILL -f "$BATS_TEST_TMPDIR" 2>/dev/null || true
	kill_strays
	sanitizer_check
}

# count DIR: files in a spool directory (regular files, not symlinks).
# Builtins only: it is polled.
count() {
	local f n=0
	for f in "$WF_HOME/$1"/* "$WF_HOME/$1"/.[!.]*; do
		[ -f "$f" ] && [ ! -L "$f" ] && n=$((n + 1))
	done
	echo "$n"
}

# count_ge DIR N: DIR holds at least N files (for wait_until)
count_ge() {
	[ "$(count "$1")" -ge "$2" ]
}

# queued: every file waiting in a queue's tmp/ or new/, any priority
queued() {
	find "$WF_HOME"/queue/*/tmp "$WF_HOME"/queue/*/new -mindepth 1
}

# where ID: the spool directories that hold ID, one a line
where() {
	local d
	for d in queue/1-critical/new queue/2-high/new queue/3-normal/new \
	    queue/4-low/new active deferred done failed cancelled corrupt; do
		[ -e "$WF_HOME/$d/$1" ] || [ -L "$WF_HOME/$d/$1" ] && echo "$d"
	done
	return 0
}

# settled ID: ID is in one directory only (a job sits in active/ and in its
# terminal directory at once until wf-dispatch drops its active/ file, at
# the end of its loop turn)
settled() {
	[ "$(where "$1" | wc -l)" -eq 1 ]
}

# only_in ID DIR: ID is in DIR and nowhere else
only_in() {
	[ "$(where "$1")" = "$2" ]
}

# ended ID DIR: the job ended in DIR, and is nowhere else.  It waits for
# that, not for the job to be in one place only: a job still waiting in
# its queue is in one place too.  (wf-dispatch drops the active/ file after
# a syncfs, which a busy disk can slow down.)
ended() {
	wait_until "$(slow 10)" only_in "$1" "$2" || { where "$1" >&2; return 1; }
}

# jget FILE KEY: a top-level scalar of a record, as wf writes it (cJSON,
# one line, the top-level fields before any nested ones of the same name);
# "null" when absent.  Bash only: a python per field is too slow here.
jget() {
	local s re
	s=$(<"$1") || return 1
	re="\"$2\":(\"(([^\"\\]|\\\\.)*)\"|[^,}]*)"
	if [[ $s =~ $re ]]; then
		if [ -n "${BASH_REMATCH[2]}" ] || [[ ${BASH_REMATCH[1]} == '""' ]]; then
			printf '%s\n' "${BASH_REMATCH[2]}"
		else
			printf '%s\n' "${BASH_REMATCH[1]}"
		fi
	else
		echo null
	fi
}

# json_ok: stdin is JSON (one document, or JSON lines with --lines)
json_ok() {
	if [ "${1:-}" = --lines ]; then
		"$PY" -m json.tool --json-lines >/dev/null
	else
		"$PY" -m json.tool >/dev/null
	fi
}

# enqueue ARG...: wf-enqueue, printing the id; fails the test when it fails
enqueue() {
	local id
	id=$("$B/wf-enqueue" "$@") || {
		echo "wf-enqueue $* failed" >&2
		return 1
	}
	echo "$id"
}

# enqueue_wait ARG...: wf-enqueue --wait, bounded: a job that never ends
# fails the test with 137 (SIGKILL) instead of hanging the suite (124 is
# wf-enqueue's own "the job timed out").
enqueue_wait() {
	timeout -s KILL "$(slow 60)" "$B/wf-enqueue" --wait "$@"
}

# wait_job ID [SECS]: wf queue wait with a bound; its exit status
wait_job() {
	"$B/wf" queue wait --timeout "${2:-$(slow 20)}" "$1" >/dev/null
}

# active_empty: nothing left in active/.  A job's record lands in done/
# before its active/ file goes (at the end of the dispatcher's turn, after
# the sync), so a test waits for this rather than checking it at once.
active_empty() {
	[ -z "$(ls -A "$WF_HOME/active")" ]
}
