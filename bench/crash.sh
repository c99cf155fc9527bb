#!/usr/bin/env bash
# bench/crash.sh: the kill campaign.  `make crash` runs it with
# WF_BIN=<checkout>/bin; tests/e2e/crash.bats runs a short one.
#
# A mixed load runs through the real daemons on a temporary $WF_HOME:
# command jobs that succeed, fail, time out and get cancelled; llm jobs
# against the fake model (tests/helpers/fake_llm.py on 127.0.0.1); pipeline
# runs of a project whose roles are commands; every event to a webhook on a
# local receiver (tests/helpers/webhook_recv.py) through wf-notify.
# Meanwhile a generator seeded with CRASH_SEED SIGKILLs, every 0.2 to 2 s,
# one of: wf-dispatch, wf-gate, wf-notify (restarted at once), a wf-agent,
# or a running job's process group; CRASH_KILLS kills in all.
# Then the chosen points: for each point of WF_FAULT (lib/fault.h) the
# daemon that has it is started with WF_FAULT=POINT, given work that
# reaches it, and restarted without once it has died there.
# Then everything settles (all daemons up; bounded by CRASH_SETTLE
# seconds) and it prints, each with its number:
#   jobs lost              enqueued ids found in no spool directory
#   jobs in two terminal   ids in two of done/ failed/ cancelled/
#   jobs beyond attempts   real executions (command jobs append their
#                          $WF_JOB_ID to a file outside $WF_HOME; llm
#                          jobs: requests the model got) > max_attempts
#   jobs left              files left in active/, or in a queue's tmp/
#                          under a job's id (a file there that no one was
#                          told of is a killed writer's half-made one:
#                          counted apart, as it is never a job)
#   runs stuck             not in a terminal or human-wait state, with no
#                          job queued, deferred or running for them and no
#                          effects recorded in the run file; or with
#                          effects still undone when the settling's bound
#                          is reached
#   events not delivered   events of events/ with no 2xx delivery of
#                          their webhook-id at the receiver (repeated
#                          deliveries are counted apart: at least once)
#   files in corrupt/      (nothing of this load is corrupt)
#   fault points missed    chosen points the daemon never died at
# and exits 0 only when all of them are zero and everything settled.
#
# Environment: WF_BIN (programs; default <checkout>/bin), CRASH_KILLS
# (1000), CRASH_SEED (default: from the clock; printed), CRASH_SETTLE
# (600 s), CRASH_FAULTS (1; 0 skips the chosen points), CRASH_KEEP (1:
# keep the temporary tree and say where).  Everything runs in one mktemp -d
# directory, removed on exit; every process it started is stopped.
set -u

here=$(cd "$(dirname "$0")" && pwd)
WF_BIN=${WF_BIN:-$here/../bin}
WF_BIN=$(cd "$WF_BIN" && pwd)
HELPERS=$here/../tests/helpers
KILLS=${CRASH_KILLS:-1000}
SEED=${CRASH_SEED:-$(($(date +%s) % 100000))}
SETTLE=${CRASH_SETTLE:-600}
FAULTS=${CRASH_FAULTS:-1}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# Messages go to fd 4, the caller's stderr; the shell's own stderr (its
# notes on the processes it killed) to a file of the tree.
exec 4>&2
say() { printf '%s\n' "$*" >&4; }
die() { say "crash: $*"; exit 2; }

for p in wf wf-enqueue wf-dispatch wf-agent wf-gate wf-notify; do
	[ -x "$WF_BIN/$p" ] || die "$WF_BIN/$p missing (run make first)"
done
command -v jq >/dev/null || die "jq is needed"

T=$(mktemp -d "${TMPDIR:-/tmp}/wfcrash.XXXXXX") || die "mktemp"
H=$T/home
exec 2>>"$T/shell.err"
export WF_HOME=$H WF_CONFIG=$T/wf.ini WF_BINDIR=$WF_BIN
unset WF_FAULT WF_LLM_PROVIDER WF_LLM_BASE_URL WF_LLM_MODEL WF_LLM_API_KEY \
    OLLAMA_HOST http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy \
    ALL_PROXY
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

declare -A PID=()  # daemon name -> pid
FAKE_PID='' RECV_PID='' LOAD_PID=''

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

# alive PID: the process exists and is not a zombie (a daemon that died is
# one until it is reaped)
alive() {
	local s=
	{ read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

# strays: processes with this $WF_HOME in their environment (jobs keep it)
strays() {
	local f p
	for f in $(env -u WF_HOME grep -lzsaF "WF_HOME=$H" \
	    /proc/[0-9]*/environ 2>/dev/null); do
		p=${f#/proc/}
		p=${p%/environ}
		[ "$p" = "$$" ] || [ "$p" = "$BASHPID" ] || echo "$p"
	done
}

cleanup() {
	local d p
	[ -z "$LOAD_PID" ] || kill -KILL "$LOAD_PID" 2>/dev/null
	for d in "${!PID[@]}"; do kill -KILL "${PID[$d]}" 2>/dev/null; done
	[ -z "$FAKE_PID" ] || kill "$FAKE_PID" 2>/dev/null
	[ -z "$RECV_PID" ] || kill "$RECV_PID" 2>/dev/null
	for _ in 1 2 3; do
		p=$(strays)
		[ -n "$p" ] || break
		# shellcheck disable=SC2086
		kill -KILL $p 2>/dev/null
		sleep 0.1
	done
	wait 2>/dev/null
	if [ "${CRASH_KEEP:-0}" = 1 ]; then
		say "crash: the tree is kept in $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the model, the receiver, the tree ---------------------------------------
printf '{"*": {"content": "ok", "delay_ms": 20}}\n' >"$T/script.json"
"$PY" "$HELPERS/fake_llm.py" --port 0 --portfile "$T/llm.port" \
    --script "$T/script.json" --log "$T/llm.jsonl" 2>>"$T/llm.err" 3>&- &
FAKE_PID=$!
echo 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' >"$T/secret"
: >"$T/recv.jsonl"
echo 200 >"$T/recv.mode"
"$PY" "$HELPERS/webhook_recv.py" "$T/secret" "$T/recv.jsonl" \
    "$T/recv.mode" >"$T/recv.port" 2>"$T/recv.err" 3>&- &
RECV_PID=$!
for ((i = 0; i < 200; i++)); do
	[ -s "$T/llm.port" ] && [ -s "$T/recv.port" ] && break
	sleep 0.05
done
[ -s "$T/llm.port" ] || die "the fake model did not start: $(cat "$T/llm.err")"
[ -s "$T/recv.port" ] || die "the receiver did not start: $(cat "$T/recv.err")"

mkdir -p "$T/roles" "$T/repo"
cp "$here/../tests/e2e/fixtures/run_tests.sh" "$T/repo/run_tests.sh"
role() {
	printf '[role]\nbackend = command\ncommand = %s\ntimeout = 60\n' "$2" \
	    >"$T/roles/$1.ini"
}
role pm "printf '{\"status\":\"pass\",\"summary\":\"spec written\"}\\n'"
role dev "printf '{\"status\":\"pass\",\"summary\":\"code written\"}\\n'"
role qa 'sh -c "$WF_TEST_COMMAND"'
role security "printf '{\"status\":\"pass\",\"summary\":\"clean\",\"details\":{\"findings\":[]}}\\n'"
cat >"$WF_CONFIG" <<EOF
[queue]
backoff_base = 1
backoff_max = 4
kill_grace = 1
[lane.llm]
concurrency = 1
[lane.agent]
concurrency = 2
[lane.command]
concurrency = 4
[llm]
provider = openai
base_url = http://127.0.0.1:$(<"$T/llm.port")
model = fake
timeout = 30
[pipeline]
roles_dir = $T/roles
auto_retry = true
max_iter = 3
[notify]
backoff_base = 1s
backoff_max = 2s
max_attempts = 20
EOF
"$WF_BIN/wf" init >/dev/null || die "wf init"
PROJ=$("$WF_BIN/wf" project create --name crash --repo-path "$T/repo" \
    --test-command 'sh run_tests.sh') || die "wf project create"
"$WF_BIN/wf" webhook create --name recv --events '*' --secret-file \
    "$T/secret" --url "http://127.0.0.1:$(<"$T/recv.port")/hook" \
    >/dev/null || die "wf webhook create"

# --- the daemons ---------------------------------------------------------------
# launch NAME [ENV...]: start daemon NAME (dispatch, gate, notify) with
# the environment ENV added; its output goes to $T/NAME.log
launch() {
	local d=$1
	shift
	env "$@" "$WF_BIN/wf-$d" -v >>"$T/$d.log" 2>&1 3>&- &
	PID[$d]=$!
}

# readies LOG: the "ready:" lines of LOG so far (0 when it has none yet)
readies() {
	local n
	n=$(grep -c 'ready:' "$1" 2>/dev/null) || true
	echo "${n:-0}"
}

# start NAME: launch daemon NAME and wait for a new "ready:" line in its
# log (bounded: 60 s); again when it dies before (it found another one
# still running, say)
start() {
	local d=$1 log=$T/$1.log n end
	n=$(readies "$log")
	end=$(($(now_ms) + 60000))
	while :; do
		launch "$d"
		while [ "$(readies "$log")" -le "$n" ]; do
			alive "${PID[$d]}" || break
			[ "$(now_ms)" -lt "$end" ] || die "wf-$d did not start: $(tail -n 5 "$log")"
			sleep 0.02
		done
		[ "$(readies "$log")" -gt "$n" ] && return 0
		wait "${PID[$d]}" 2>/dev/null
		[ "$(now_ms)" -lt "$end" ] || die "wf-$d did not start: $(tail -n 5 "$log")"
		sleep 0.2
	done
}

# stop_kill NAME: SIGKILL daemon NAME and reap it
stop_kill() {
	kill -KILL "${PID[$1]}" 2>/dev/null
	wait "${PID[$1]}" 2>/dev/null
}

up_all() {
	local d
	for d in dispatch gate notify; do
		alive "${PID[$d]:-0}" && continue
		[ -z "${PID[$d]:-}" ] || wait "${PID[$d]}" 2>/dev/null
		start "$d"
	done
}

# --- the load ------------------------------------------------------------------
# One line per job it made in $T/ids: "ID KIND MAX_ATTEMPTS" (llm: the
# prompt as a fifth field).  Command jobs append their id to $T/exec.
EXEC=$T/exec
: >"$EXEC"
: >"$T/ids"
enq() {
	local kind=$1 max=$2 id
	shift 2
	id=$("$WF_BIN/wf-enqueue" -m "$max" -C "$T" "$@" 2>>"$T/load.err") ||
		return 1
	printf '%s %s %s\n' "$id" "$kind" "$max" >>"$T/ids"
	echo "$id"
}

load() {
	local n=0 r cancel=
	RANDOM=$((SEED * 7 + 1))
	while [ ! -e "$T/stop" ]; do
		n=$((n + 1))
		r=$((RANDOM % 100))
		if [ -n "$cancel" ] && [ $((RANDOM % 2)) -eq 0 ]; then
			"$WF_BIN/wf" queue cancel "$cancel" >/dev/null 2>&1
			cancel=
		fi
		if [ "$r" -lt 30 ]; then
			enq ok 2 -- sh -c 'echo "$WF_JOB_ID" >>"$0"; sleep "$1"' "$EXEC" "0.$((RANDOM % 5))" >/dev/null
		elif [ "$r" -lt 42 ]; then
			enq fail 2 -- sh -c 'echo "$WF_JOB_ID" >>"$0"; exit 3' "$EXEC" >/dev/null
		elif [ "$r" -lt 50 ]; then
			enq timeout 2 -T 1 -- sh -c 'echo "$WF_JOB_ID" >>"$0"; sleep 30' "$EXEC" >/dev/null
		elif [ "$r" -lt 58 ]; then
			cancel=$(enq cancel 2 -T 60 -- sh -c 'echo "$WF_JOB_ID" >>"$0"; sleep 5' "$EXEC")
		elif [ "$r" -lt 90 ]; then
			id=$("$WF_BIN/wf-enqueue" -m 2 -t llm_complete \
			    -d "{\"prompt\":\"crash-$n\"}" 2>>"$T/load.err") &&
				printf '%s llm 2 - crash-%s\n' "$id" "$n" >>"$T/ids"
		else
			"$WF_BIN/wf" run create --project-id "$PROJ" \
			    >>"$T/runs" 2>>"$T/load.err"
		fi
		sleep "0.$((100 + RANDOM % 200))"
	done
}

# --- the random kills ------------------------------------------------------------
declare -A KILLED=()
# agents: wf-agent processes of this tree
agents() {
	local p
	for p in $(pgrep -f "^$WF_BIN/wf-agent( |$)"); do
		grep -qzsxF "WF_HOME=$H" "/proc/$p/environ" 2>/dev/null && echo "$p"
	done
}
# jobs: the process groups of running jobs (their active/ID.pid)
jobs_running() {
	local f p rest
	for f in "$H"/active/*.pid; do
		[ -f "$f" ] || continue
		read -r p rest <"$f" 2>/dev/null || continue
		[ "${p:-0}" -gt 1 ] 2>/dev/null && kill -0 "$p" 2>/dev/null && echo "$p"
	done
}

# pick WORD...: one of the words, at random, into PICKED (not through a
# $(...): a subshell's RANDOM is seeded anew, and the run would not be the
# seed's)
pick() {
	shift $((RANDOM % $#))
	PICKED=$1
}

kill_one() {
	local what c
	pick dispatch gate notify agent job job
	what=$PICKED
	case $what in
	agent) c=$(agents) ;;
	job) c=$(jobs_running) ;;
	esac
	if [ "$what" = agent ] || [ "$what" = job ]; then
		if [ -n "$c" ]; then
			# shellcheck disable=SC2086
			pick $c
			c=$PICKED
			if [ "$what" = job ]; then
				kill -KILL -- "-$c" 2>/dev/null || kill -KILL "$c" 2>/dev/null
			else
				kill -KILL "$c" 2>/dev/null
			fi
			KILLED[$what]=$((${KILLED[$what]:-0} + 1))
			return
		fi
		pick dispatch gate notify # nothing running: a daemon
		what=$PICKED
	fi
	stop_kill "$what"
	KILLED[$what]=$((${KILLED[$what]:-0} + 1))
	start "$what"
}

t0=$(now_ms)
up_all
say "crash: seed $SEED, $KILLS kills, tree $T"
load &
LOAD_PID=$!
RANDOM=$SEED
for ((k = 1; k <= KILLS; k++)); do
	ms=$((200 + RANDOM % 1801))
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	kill_one
	[ $((k % 100)) -eq 0 ] && say "crash: $k kills, $(($(now_ms) - t0)) ms"
done
touch "$T/stop"
wait "$LOAD_PID"
LOAD_PID=
t_kills=$(($(now_ms) - t0))
up_all

# --- the chosen points -------------------------------------------------------------
# point POINT DAEMON ACTION...: start DAEMON with WF_FAULT=POINT, do
# ACTION (work that reaches the point), wait (bounded) for it to die
# there, restart it without.
MISSED=()
REACHED=0
point() {
	local p=$1 d=$2 end
	shift 2
	stop_kill "$d"
	launch "$d" WF_FAULT="$p"
	"$@"
	end=$(($(now_ms) + 60000))
	while alive "${PID[$d]}" && [ "$(now_ms)" -lt "$end" ]; do
		sleep 0.05
	done
	if alive "${PID[$d]}"; then
		MISSED+=("$p")
		say "crash: $p: wf-$d did not die there in 60 s"
		stop_kill "$d"
	else
		wait "${PID[$d]}" 2>/dev/null
		REACHED=$((REACHED + 1))
	fi
	start "$d"
}
a_job() { enq ok 2 -- sh -c 'echo "$WF_JOB_ID" >>"$0"' "$EXEC" >/dev/null; }
a_fail() { enq fail 2 -- sh -c 'echo "$WF_JOB_ID" >>"$0"; exit 3' "$EXEC" >/dev/null; }
llm_jobs() {
	local i id
	for i in 1 2 3; do
		id=$("$WF_BIN/wf-enqueue" -m 2 -t llm_complete \
		    -d "{\"prompt\":\"fault-$1-$i\"}" 2>>"$T/load.err") &&
			printf '%s llm 2 - fault-%s-%s\n' "$id" "$1" "$i" >>"$T/ids"
	done
}
a_run() { "$WF_BIN/wf" run create --project-id "$PROJ" >>"$T/runs" 2>>"$T/load.err"; }
an_event() {
	local f
	f=crash.$(now_ms).$RANDOM
	printf '{"event":"crash.point","timestamp":"2026-01-01T00:00:00.000Z","payload":{"n":%s}}' \
	    "$RANDOM" >"$H/events/tmp/$f"
	mv "$H/events/tmp/$f" "$H/events/new/$f"
}
# the points that exist in this build (wf_fault("...") in the sources)
have_point() { grep -aqF "$1" "$WF_BIN/$2"; }

t1=$(now_ms)
if [ "$FAULTS" = 1 ]; then
	for p in dispatch.claimed dispatch.started dispatch.settled; do
		have_point "$p" wf-dispatch && point "$p" dispatch a_job
	done
	have_point dispatch.settled wf-dispatch && point dispatch.settled dispatch a_fail
	have_point dispatch.released wf-dispatch && point dispatch.released dispatch llm_jobs 1
	for p in pipeline.written pipeline.effect gate.applied; do
		have_point "$p" wf-gate && point "$p" gate a_run
	done
	if have_point pipeline.created wf; then
		rc=0
		WF_FAULT=pipeline.created "$WF_BIN/wf" run create --project-id "$PROJ" \
		    >>"$T/runs" 2>>"$T/load.err" || rc=$?
		if [ "$rc" -eq 137 ]; then REACHED=$((REACHED + 1)); else MISSED+=(pipeline.created); fi
	fi
	for p in notify.fanout notify.delivered; do
		have_point "$p" wf-notify && point "$p" notify an_event
	done
fi
t_points=$(($(now_ms) - t1))

# --- settle -------------------------------------------------------------------------
# Quiet: nothing waiting, running or to deliver, and no run with effects
# left, three looks in a row (a second apart), all daemons up.
quiet() {
	local d f
	for d in queue/1-critical/new queue/2-high/new queue/3-normal/new \
	    queue/4-low/new queue/1-critical/tmp queue/2-high/tmp \
	    queue/3-normal/tmp queue/4-low/tmp active deferred reports/new \
	    events/new events/deferred; do
		for f in "$H/$d"/*; do [ -e "$f" ] && return 1; done
	done
	! grep -qs '"effects"' "$H"/state/runs/*.json
}
t2=$(now_ms)
calm=0
while [ $(($(now_ms) - t2)) -lt $((SETTLE * 1000)) ]; do
	up_all
	if quiet; then calm=$((calm + 1)); else calm=0; fi
	[ "$calm" -ge 3 ] && break
	sleep 1
done
t_settle=$(($(now_ms) - t2))
settled=yes
[ "$calm" -ge 3 ] || settled="no (bound of ${SETTLE} s reached)"

# --- the figures ----------------------------------------------------------------------
kills_by=
for w in dispatch gate notify agent job; do
	kills_by="$kills_by $w ${KILLED[$w]:-0},"
done
"$PY" - "$H" "$T" "$KILLS" "$SEED" "${kills_by%,}" "$REACHED" \
    "${MISSED[*]:-}" "$t_kills" "$t_points" "$t_settle" "$settled" <<'EOF'
import collections, json, os, sys

H, T, kills, seed, kills_by, reached, missed, tk, tp, ts, settled = sys.argv[1:]
missed = missed.split()

def names(d):
    try:
        return [n for n in os.listdir(os.path.join(H, d)) if not n.startswith(".")]
    except FileNotFoundError:
        return []

qdirs = [f"queue/{p}/{s}" for p in ("1-critical", "2-high", "3-normal", "4-low")
         for s in ("new", "tmp")]
terminal = ("done", "failed", "cancelled")
where = collections.defaultdict(list)
for d in qdirs + ["active", "deferred", *terminal, "corrupt"]:
    for n in names(d):
        where[n].append(d)

ids = []
with open(os.path.join(T, "ids")) as f:
    for line in f:
        w = line.split()
        if len(w) >= 3:
            ids.append(w)
kinds = collections.Counter(w[1] for w in ids)

lost = [w[0] for w in ids if w[0] not in where]
twice = [n for n, ds in where.items() if sum(d in terminal for d in ds) > 1]

runs_count = collections.Counter()
with open(os.path.join(T, "exec")) as f:
    for line in f:
        runs_count[line.strip()] += 1
llm = collections.Counter()
try:
    with open(os.path.join(T, "llm.jsonl")) as f:
        for line in f:
            try:
                r = json.loads(line)
                llm[r["body"]["messages"][-1]["content"]] += 1
            except Exception:
                pass
except FileNotFoundError:
    pass
beyond = []
executions = 0
for w in ids:
    n = llm[w[4]] if w[1] == "llm" else runs_count[w[0]]
    executions += n
    if n > int(w[2]):
        beyond.append(f"{w[0]} ({w[1]}: {n} runs, max_attempts {w[2]})")

# A file in a queue's tmp/ is a job left there when its id is known (an
# enqueued id, or a job somewhere else); one that no one was ever told of
# is a half-made file of a writer killed before its rename (the maildir
# protocol's leftover: never a job), counted apart.
known = {w[0] for w in ids} | {n for n, ds in where.items()
                               if any(not d.endswith("/tmp") for d in ds)}
tmps = [(q, n) for q in qdirs if q.endswith("tmp") for n in names(q)]
left = [f"active/{n}" for n in names("active")] + \
    [f"{q}/{n}" for q, n in tmps if n in known]
halfmade = [f"{q}/{n}" for q, n in tmps if n not in known]

# the jobs waiting or running for each run
busy = set()
for d in qdirs + ["active", "deferred"]:
    for n in names(d):
        try:
            with open(os.path.join(H, d, n)) as f:
                busy.add(json.load(f).get("run_id"))
        except Exception:
            pass
rest = {"READY_FOR_COMMIT", "MERGED", "READY_FOR_DEPLOY", "DEPLOYED",
        "DEPLOY_FAILED", "ABANDONED"}
states = collections.Counter()
stuck = []
for n in names("state/runs"):
    if not n.endswith(".json"):
        continue
    with open(os.path.join(H, "state/runs", n)) as f:
        run = json.load(f)
    st = run.get("state")
    wait = bool(run.get("waiting_for_human"))
    states[st + (" (waits for a human)" if wait else "")] += 1
    if st not in rest and not wait and not run.get("effects") and \
            run.get("id") not in busy:
        stuck.append(f"run {run.get('id')} in {st}")
    elif run.get("effects") and settled != "yes":
        # effects that wf-gate did not do in all the settling time
        stuck.append(f"run {run.get('id')} in {st}, effects left undone: "
                     + json.dumps(run["effects"][0])[:200])

got = collections.Counter()
with open(os.path.join(T, "recv.jsonl")) as f:
    for line in f:
        try:
            r = json.loads(line)
        except Exception:
            continue
        if 200 <= r.get("status", 0) <= 299:
            got[r["headers"].get("webhook-id", "")] += 1
events = names("events/cur") + names("events/new")
undelivered = [e for e in events if got[e + ".w1"] == 0]
repeats = sum(c - 1 for c in got.values() if c > 1)
dead = names("events/dead")
corrupt = [n for n in names("corrupt") if not n.endswith(".why")]

print(f"crash: seed {seed}, {kills} random kills ({kills_by.strip()}), "
      f"fault points reached {reached}" + (f", missed: {' '.join(missed)}" if missed else ""))
print(f"crash: time: kills {int(tk)/1000:.1f} s, chosen points {int(tp)/1000:.1f} s, "
      f"settle {int(ts)/1000:.1f} s; settled: {settled}")
print(f"crash: load: {len(ids)} jobs ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}), "
      f"{executions} executions; {sum(states.values())} runs "
      f"({', '.join(f'{k} {v}' for k, v in sorted(states.items()))}); "
      f"{len(events)} events, {sum(got.values())} deliveries, {len(dead)} dead")
print(f"crash: done {len(names('done'))}, failed {len(names('failed'))}, "
      f"cancelled {len(names('cancelled'))}")
figs = [("jobs lost", lost), ("jobs in two terminal directories", twice),
        ("jobs run beyond their attempts", beyond),
        ("jobs left in active/ or tmp/", left), ("runs stuck", stuck),
        ("events not delivered", undelivered),
        ("files wrongly in corrupt/", corrupt),
        ("fault points missed", missed)]
bad = 0
for label, xs in figs:
    print(f"{label}: {len(xs)}")
    for x in xs[:10]:
        print(f"  {x}")
    bad += len(xs)
print(f"deliveries repeated (at least once allows): {repeats}")
print(f"half-made files of killed writers in tmp/ (never jobs): {len(halfmade)}")
for x in halfmade[:10]:
    print(f"  {x}")
sys.exit(1 if bad or settled != "yes" else 0)
EOF
rc=$?
[ "$rc" -eq 0 ] || CRASH_KEEP=${CRASH_KEEP:-0}
exit "$rc"
