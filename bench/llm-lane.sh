#!/usr/bin/env bash
# bench/llm-lane.sh: does the llm lane keep a local model busy?  `make
# bench-llm` runs it with WF_BIN=<checkout>/bin.
#
# A fake model (bench/fake_llm_timed.py, 127.0.0.1) answers every chat
# request in a fixed BENCH_DELAY_MS (50) ms and logs when each request's
# first bytes arrived and when its reply's last byte went out.  BENCH_N
# (100) llm_complete jobs are queued with one wf-enqueue --batch, then
# wf-dispatch starts with [lane.llm] concurrency = 1 (a local model serves
# one request at a time) and runs them through wf-agent, until done/ holds
# all of them.  Three cases of the lane, each round with a new spool,
# server and dispatcher:
#  - chain: the default, prestart = true and chain = true: the next job is
#    handed to the waiting wf-agent while the model answers the current
#    one, and its request leaves on the current one's release; BENCH_ROUNDS
#    (5) rounds;
#  - hand: prestart = true, chain = false: a wf-agent waits, started, and
#    wf-dispatch hands it the next job id at the release; BENCH_ROUNDS
#    rounds;
#  - off: prestart = false: one fork+exec per job; one round.
#
# Why rounds: one round has N - 1 gaps, and the p99 of 99 numbers is their
# maximum, so a single hiccup of the machine (this kind of shared VM stalls
# both cores for several ms now and then; perf sched shows every task's run
# time inflated at once) decides it.  The p99 is taken over the gaps of all
# rounds together, and each round's own maximum is printed beside it.
#
# Figures, for each case:
#  - the gap at the server between one reply's end and the next request's
#    start, when the server read its first bytes: p50, p99, max (target:
#    p99 under 5 ms; a local model must never sit idle while work waits);
#    the same up to the next connection's accept (wf-agent opens one
#    connection per job), and up to the moment the kernel received the
#    request's first bytes (SO_TIMESTAMPNS: without the server's own
#    wake-up);
#  - total wall time, from wf-dispatch's fork+exec until done/ holds N
#    records, against the ideal N x 50 ms, and the ratio (the median
#    round); and the server's span (first request's start to last reply's
#    end) against the same;
#  - the ratios of hand and off to chain, measured in the same run.
# And a floor: the same N requests from one client on one kept-alive
# connection, back to back: what the fake server and loopback cost alone.
#
# Environment: WF_BIN (programs; default <checkout>/bin), BENCH_N (100),
# BENCH_DELAY_MS (50), BENCH_ROUNDS (5), BENCH_JSON (write the figures there as one JSON
# object), BENCH_KEEP=1 (keep the temporary directory, with the server
# logs <case>.srv and the dispatcher logs <case>.log, and print its path).
# Exit status 0 when every job completed (a missed target is a figure, not
# a failure); 1 when a job failed, the server or the dispatcher did not
# start, or the jobs did not all end in time.  Not part of make check.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
WF_BIN=${WF_BIN:-$here/../bin}
WF_BIN=$(cd "$WF_BIN" && pwd)
N=${BENCH_N:-100}
ROUNDS=${BENCH_ROUNDS:-5}
DELAY=${BENCH_DELAY_MS:-50}
BENCH_JSON=${BENCH_JSON:-}
TARGET_US=5000 # p99 gap target
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || { echo "bench: no python3" >&2; exit 1; }

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

for p in wf wf-enqueue wf-dispatch wf-agent; do
	[ -x "$WF_BIN/$p" ] || die "$WF_BIN/$p missing (run make first)"
done
case $N in '' | *[!0-9]* | 0 | 1) die "BENCH_N must be a number > 1" ;; esac
case $DELAY in '' | *[!0-9]*) die "BENCH_DELAY_MS must be a number" ;; esac
case $ROUNDS in '' | *[!0-9]* | 0) die "BENCH_ROUNDS must be a number > 0" ;; esac

# The model comes from the config alone: nothing of the caller's
# environment may point wf-agent elsewhere, nor through a proxy.
unset WF_LLM_PROVIDER WF_LLM_BASE_URL WF_LLM_MODEL WF_LLM_API_KEY \
    WF_LLM_TIMEOUT WF_LLM_NUM_CTX WF_LLM_MAX_TOKENS OLLAMA_HOST \
    OPENAI_API_KEY http_proxy https_proxy HTTP_PROXY HTTPS_PROXY \
    all_proxy ALL_PROXY
export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost

T=$(mktemp -d "${TMPDIR:-/tmp}/wfllm.XXXXXX")
HPID='' DPID='' FPID='' WPID=''

# start_dispatch, stop_dispatch: bench/lib.sh
. "$(dirname "$0")/lib.sh"

stop_fake() {
	[ -n "$FPID" ] || return 0
	kill -TERM "$FPID" 2>/dev/null || true
	wait "$FPID" 2>/dev/null || true
	FPID=
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	stop_dispatch
	stop_fake
	[ -z "$WPID" ] || kill -TERM "$WPID" 2>/dev/null || true
	wait 2>/dev/null || true
	if [ "${BENCH_KEEP:-}" = 1 ]; then
		say "bench: kept $T"
	else
		rm -rf "$T" 2>/dev/null || { sleep 1; rm -rf "$T"; } || true
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# A copy of the programs: a rebuild during the run must not change what is
# measured.
mkdir "$T/bin"
for p in wf wf-enqueue wf-dispatch wf-agent; do
	cp "$WF_BIN/$p" "$T/bin/$p"
done
WF_SRC_BIN=$WF_BIN
WF_BIN=$T/bin

WFB=$T/wfb
cc -O2 -o "$WFB" "$here/wfb.c" || die "cannot compile bench/wfb.c"

calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
# percentile (nearest rank) of the numbers in a file: pct FILE 0.99
pct() { sort -n "$1" | awk -v q="$2" '{ v[NR] = $1 }
	END { if (NR == 0) { print "nan"; exit } r = int(q * NR); if (r < q * NR) r++;
	if (r < 1) r = 1; print v[r] }'; }
count() { find "$1" -mindepth 1 -maxdepth 1 -name '[!.]*' | wc -l; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

start_fake() { # start_fake LOG: sets FPID PORT
	local pf=$T/fake.port i
	rm -f "$pf"
	"$PY" "$here/fake_llm_timed.py" --port 0 --portfile "$pf" \
	    --log "$1" --delay-ms "$DELAY" 2>>"$T/fake.err" &
	FPID=$!
	for ((i = 0; i < 1000; i++)); do
		[ -s "$pf" ] && break
		kill -0 "$FPID" 2>/dev/null || break
		sleep 0.01
	done
	[ -s "$pf" ] || die "the fake model did not start: $(cat "$T/fake.err")"
	PORT=$(cat "$pf")
}

mkconf() { # mkconf FILE PORT PRESTART CHAIN
	# Only the llm lane differs between the cases: the other model
	# lanes keep no spare wf-agent in any.
	cat >"$1" <<-EOF
	[queue]
	aging = 300
	max_attempts = 1

	[lane.llm]
	concurrency = 1
	prestart = $3
	chain = $4

	[lane.agent]
	prestart = false

	[lane.vision]
	prestart = false

	[llm]
	provider = openai
	base_url = http://127.0.0.1:$2
	model = fake
	timeout = 30
	EOF
}

# gaps LOG COL [ENDCOL]: from the server log (SEQ ACC START END WSTART
# WEND STATUS ARRIVE, ns), in request order, the µs from one reply's end
# (column ENDCOL: 4, or 6 on the wall clock) to the next request's column
# COL (3: its first read, 2: its accept, 8: its bytes' arrival in the
# kernel, on the wall clock), one a line.
gaps() {
	sort -n -k3,3 "$1" | awk -v c="$2" -v ec="${3:-4}" 'NR > 1 { printf "%.1f\n", ($c - e) / 1000 }
		{ e = $ec }'
}

# stats FILE PREFIX: sets PREFIX_50 PREFIX_99 PREFIX_MAX PREFIX_MEAN (ms)
stats() {
	local p50 p99 mx mean
	p50=$(pct "$1" 0.50)
	p99=$(pct "$1" 0.99)
	mx=$(sort -n "$1" | tail -1)
	mean=$(awk '{ s += $1 } END { printf "%.1f", NR ? s / NR : 0 }' "$1")
	eval "${2}_50=$(calc "$p50 / 1000")"
	eval "${2}_99=$(calc "$p99 / 1000")"
	eval "${2}_MAX=$(calc "$mx / 1000")"
	eval "${2}_MEAN=$(calc "$mean / 1000")"
}

v() { eval "echo \$$1"; }
IDEAL_US=$((N * DELAY * 1000))
IDEAL_S=$(calc "$IDEAL_US / 1000000")

say "bench: wf $("$WF_BIN/wf-dispatch" --version | cut -d' ' -f2) (a copy of $WF_SRC_BIN), $("$PY" --version 2>&1)"
say "bench: $(nproc) cores, $(uname -r), load $(load); $N llm_complete jobs, the fake model answers in $DELAY ms"

# --- the floor: one client, one kept-alive connection ----------------------
say "bench: [floor] $N requests back to back on one connection (load $(load))"
start_fake "$T/floor.srv"
"$PY" "$here/fake_llm_timed.py" --floor "$N" --port "$PORT" ||
    die "the floor client failed"
stop_fake
[ "$(wc -l <"$T/floor.srv")" -eq "$N" ] ||
    die "the floor: the server logged $(wc -l <"$T/floor.srv") requests, want $N"
gaps "$T/floor.srv" 3 >"$T/floor.gap"
stats "$T/floor.gap" FLOOR

# --- the two cases --------------------------------------------------------------
awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++)
	printf "{\"job_type\":\"llm_complete\",\"request_data\":{\"prompt\":\"job %d of the llm-lane bench\",\"max_tokens\":8}}\n", i, n }' \
    >"$T/jobs.jsonl"

run_case() { # run_case TAG PRESTART CHAIN
	local tag=$1 H=$T/home-$1 d f id n
	say "bench: [$tag] prestart = $2, chain = $3: $N jobs queued, then wf-dispatch (load $(load))"
	WF_HOME=$H "$WF_BIN/wf" init >/dev/null
	start_fake "$T/$tag.srv"
	mkconf "$T/$tag.ini" "$PORT" "$2" "$3"
	WF_HOME=$H WF_CONFIG=$T/$tag.ini "$WF_BIN/wf-enqueue" --batch \
	    <"$T/jobs.jsonl" >"$T/$tag.ids" || die "$tag: wf-enqueue --batch failed"
	n=$(count "$H/queue/3-normal/new")
	[ "$n" -eq "$N" ] || die "$tag: $n jobs queued, want $N"
	# inotify on done/; a job that fails (max_attempts = 1: no retry)
	# shows once the wait gives up
	"$WFB" waitn "$H/done" "$N" $((N * DELAY * 20 + 60000)) >"$T/$tag.seen" &
	WPID=$!
	start_dispatch "$H" "$T/$tag.ini" "$tag"
	local rc=0
	wait "$WPID" || rc=$?
	WPID=
	stop_dispatch
	stop_fake
	d=$(count "$H/done")
	f=$(count "$H/failed")
	if [ "$rc" -ne 0 ] || [ "$d" -ne "$N" ] || [ "$f" -ne 0 ]; then
		for id in $(ls "$H/failed" 2>/dev/null | head -3); do
			say "bench: $tag: failed: $(cat "$H/failed/$id")"
		done
		die "$tag: done/ has $d (want $N), failed/ has $f; the dispatcher's log: $(tail -5 "$T/$tag.log")"
	fi
	n=$(wc -l <"$T/$tag.srv")
	[ "$n" -eq "$N" ] || die "$tag: the server answered $n requests, want $N (a retry?)"
	SEEN=$(cat "$T/$tag.seen")
	eval "${tag}_TOTAL=$(calc "($SEEN - $RES_T0) / 1000000000")"
	eval "${tag}_RATIO=$(calc "($SEEN - $RES_T0) / 1000 / $IDEAL_US" 2)"
	# the server's span, and its own mean service time
	read -r span svc first <<-EOF
	$(sort -n -k3,3 "$T/$tag.srv" | awk -v t0="$RES_T0" '
		NR == 1 { s = $3; f = ($5 - t0) / 1e6 } { e = $4; sv += $4 - $3 }
		END { printf "%.3f %.3f %.1f", (e - s) / 1e9, sv / NR / 1e6, f }')
	EOF
	eval "${tag}_SPAN=$span ${tag}_SVC=$svc ${tag}_FIRST=$first"
	eval "${tag}_SPANRATIO=$(calc "$span * 1000000 / $IDEAL_US" 2)"
	gaps "$T/$tag.srv" 3 >"$T/$tag.gap"
	gaps "$T/$tag.srv" 2 >"$T/$tag.agap"
	gaps "$T/$tag.srv" 8 6 >"$T/$tag.kgap"
	stats "$T/$tag.gap" "${tag}_G"
	stats "$T/$tag.agap" "${tag}_A"
	stats "$T/$tag.kgap" "${tag}_K"
	rm -rf "$H"
}

# round CASE R PRESTART CHAIN: round R of a case, its gaps added to the
# case's pool and its figures to its list of rounds
round() {
	local c=$1 r=$2
	[ "$r" -gt 1 ] || : >"$T/$c.gap" >"$T/$c.agap" >"$T/$c.kgap" >"$T/$c.rounds"
	run_case "$c$r" "$3" "$4"
	cat "$T/$c$r.gap" >>"$T/$c.gap"
	cat "$T/$c$r.agap" >>"$T/$c.agap"
	cat "$T/$c$r.kgap" >>"$T/$c.kgap"
	echo "$(v "$c${r}_G_MAX") $(v "$c${r}_TOTAL") $(v "$c${r}_RATIO") $(v "$c${r}_SPAN") $(v "$c${r}_SPANRATIO") $(v "$c${r}_SVC") $(v "$c${r}_FIRST")" >>"$T/$c.rounds"
}

# pool CASE ROUNDS: the gaps of all rounds together, the median round's
# times; sets CASE_G_* CASE_A_* CASE_TOTAL ... CASE_MAXES CASE_MET CASE_N
pool() {
	local c=$1
	stats "$T/$c.gap" "${c}_G"
	stats "$T/$c.agap" "${c}_A"
	stats "$T/$c.kgap" "${c}_K"
	eval "${c}_MAXES='$(awk '{ printf "%s%s", (NR > 1 ? " " : ""), $1 }' "$T/$c.rounds")'"
	eval "${c}_MET=$(awk -v t="$TARGET_US" '$1 * 1000 < t { n++ } END { print n + 0 }' "$T/$c.rounds")"
	read -r _ "${c}_TOTAL" "${c}_RATIO" "${c}_SPAN" "${c}_SPANRATIO" \
	    "${c}_SVC" "${c}_FIRST" <<-EOF
	$(sort -n -k2,2 "$T/$c.rounds" | awk -v m=$((($2 + 1) / 2)) 'NR == m')
	EOF
	eval "${c}_N=$2"
}

# chain and hand alternate, round by round, so that a load that drifts
# falls on both alike.
for ((r = 1; r <= ROUNDS; r++)); do
	round chain "$r" true true
	round hand "$r" true false
done
round off 1 false false
pool chain "$ROUNDS"
pool hand "$ROUNDS"
pool off 1

# --- the table ----------------------------------------------------------------
met() { if awk "BEGIN { exit !($1 * 1000 < $TARGET_US) }"; then echo "met"; else echo "MISSED"; fi; }
label() {
	case $1 in
	chain) echo "chain (default)" ;;
	hand) echo "prestart, no chain" ;;
	off) echo "no prestart" ;;
	esac
}
LOAD_END=$(load)
{
	echo
	echo "llm lane: $N llm_complete jobs, [lane.llm] concurrency 1, a fake model answering in $DELAY ms"
	echo "(the server's gap: one reply's last byte -> the next request's first byte; ms;"
	echo " chain and hand: $ROUNDS rounds of $N jobs each, $((ROUNDS * (N - 1))) gaps together)"
	printf '%-32s %9s %9s %9s %9s\n' "" p50 p99 max mean
	printf '%-32s %9s %9s %9s %9s\n' "floor: one kept-alive client" \
	    "$FLOOR_50" "$FLOOR_99" "$FLOOR_MAX" "$FLOOR_MEAN"
	for c in chain hand off; do
		printf '%-32s %9s %9s %9s %9s   p99 < %s ms: %s\n' \
		    "$(label $c): gap" "$(v ${c}_G_50)" "$(v ${c}_G_99)" \
		    "$(v ${c}_G_MAX)" "$(v ${c}_G_MEAN)" "$((TARGET_US / 1000))" \
		    "$(met "$(v ${c}_G_99)")"
		printf '%-32s %9s %9s %9s %9s\n' "  ... to the next accept()" \
		    "$(v ${c}_A_50)" "$(v ${c}_A_99)" "$(v ${c}_A_MAX)" \
		    "$(v ${c}_A_MEAN)"
		printf '%-32s %9s %9s %9s %9s\n' "  ... to its bytes' arrival" \
		    "$(v ${c}_K_50)" "$(v ${c}_K_99)" "$(v ${c}_K_MAX)" \
		    "$(v ${c}_K_MEAN)"
		if [ "$(v ${c}_N)" -gt 1 ]; then
			printf '  each round alone, its p99 (= its max): %s; under %s ms: %s of %s\n' \
			    "$(v ${c}_MAXES)" "$((TARGET_US / 1000))" "$(v ${c}_MET)" "$(v ${c}_N)"
		fi
	done
	echo
	echo "total wall time, wf-dispatch fork+exec -> $N records in done/; ideal $N x $DELAY ms = $IDEAL_S s (the median round)"
	for c in chain hand off; do
		printf '%-20s %7s s   ratio %5s   server span %s s (ratio %s), mean service %s ms, first request %s ms after the start\n' \
		    "$(label $c):" "$(v ${c}_TOTAL)" "$(v ${c}_RATIO)" "$(v ${c}_SPAN)" \
		    "$(v ${c}_SPANRATIO)" "$(v ${c}_SVC)" "$(v ${c}_FIRST)"
	done
	# shellcheck disable=SC2154 # set by run_case through eval
	printf 'against chain: prestart without chain: gap p50 x%s, p99 x%s, total x%s; no prestart: gap p50 x%s, total x%s\n' \
	    "$(calc "$hand_G_50 / $chain_G_50" 2)" "$(calc "$hand_G_99 / $chain_G_99" 2)" \
	    "$(calc "$hand_TOTAL / $chain_TOTAL" 2)" \
	    "$(calc "$off_G_50 / $chain_G_50" 2)" "$(calc "$off_TOTAL / $chain_TOTAL" 2)"
	echo "load at the end: $LOAD_END"
}

if [ -n "$BENCH_JSON" ]; then
	{
		printf '{"n":%d,"rounds":%d,"delay_ms":%d,"ideal_s":%s,"target_p99_ms":%s,"round_max_ms":[%s],' \
		    "$N" "$ROUNDS" "$DELAY" "$IDEAL_S" "$((TARGET_US / 1000))" \
		    "$(echo "$chain_MAXES" | tr ' ' ,)"
		printf '"floor":{"gap_p50_ms":%s,"gap_p99_ms":%s,"gap_max_ms":%s},' \
		    "$FLOOR_50" "$FLOOR_99" "$FLOOR_MAX"
		sep=
		for c in chain hand off; do
			printf '%s"%s":{"gap_p50_ms":%s,"gap_p99_ms":%s,"gap_max_ms":%s,"gap_mean_ms":%s,"accept_gap_p50_ms":%s,"accept_gap_p99_ms":%s,"arrival_gap_p50_ms":%s,"arrival_gap_p99_ms":%s,"total_s":%s,"ratio":%s,"span_s":%s,"span_ratio":%s,"p99_met":%s}' \
			    "$sep" "$c" "$(v ${c}_G_50)" "$(v ${c}_G_99)" \
			    "$(v ${c}_G_MAX)" "$(v ${c}_G_MEAN)" "$(v ${c}_A_50)" \
			    "$(v ${c}_A_99)" "$(v ${c}_K_50)" "$(v ${c}_K_99)" \
			    "$(v ${c}_TOTAL)" "$(v ${c}_RATIO)" \
			    "$(v ${c}_SPAN)" "$(v ${c}_SPANRATIO)" \
			    "$([ "$(met "$(v ${c}_G_99)")" = met ] && echo true || echo false)"
			sep=,
		done
		printf '}\n'
	} >"$BENCH_JSON"
fi
