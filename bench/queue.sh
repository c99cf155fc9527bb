#!/usr/bin/env bash
# bench/queue.sh: wf's job queue against nq and task-spooler (tsp), on one
# machine in one run.  `make bench` runs it with WF_BIN=<checkout>/bin.
#
# Figures (N = 1000 `true` jobs unless BENCH_N says otherwise):
#  0. floor: a bash loop spawning N /bin/true, one after another
#  1. enqueue throughput, one enqueue process per job (wf: dispatcher
#     stopped; nq and tsp start their jobs at once, which is inherent)
#  2. all N done, from the start of enqueueing (wf: dispatcher running);
#     wf's pure drain (N queued, dispatcher stopped; from its fork+exec
#     until done/ holds N records), with runner = direct and runner = agent
#  3. wf-enqueue --batch of BENCH_BATCH (100 000) jobs, one JSON line each
#  4. dispatch latency, enqueue -> job start, p50/p99 over BENCH_LAT (300)
#     jobs, each enqueued once the previous one has finished
#  5. peak RSS (VmHWM) of wf-dispatch over the N-job run
#  6. wf-dispatch start-up with BENCH_BATCH jobs queued: fork+exec to its
#     "ready:" line, and VmRSS/VmHWM right then
# 3 and 6 run first, before any step has deleted files (see there).
# Every wf run uses [lane.command] concurrency = 1 (nq runs one job at a
# time, tsp has one slot).  Completion is detected with inotify (bench/wfb.c
# `waitn`: done/ is watched, then counted with readdir), not by polling.
#
# Environment: WF_BIN (programs; default <checkout>/bin), BENCH_JSON (write
# the figures there as one JSON object), BENCH_N, BENCH_BATCH, BENCH_LAT,
# BENCH_ROUNDS (figures 1 and 2 of nq, tsp and wf's running case are the
# best of that many rounds, each running the three back to back; default 2,
# 1 when the floor loop shows a slow or busy machine).
# Everything runs in one mktemp -d directory, removed on exit; every
# process it starts (wf-dispatch, nq's jobs, the tsp server) is stopped.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
WF_BIN=${WF_BIN:-$here/../bin}
WF_BIN=$(cd "$WF_BIN" && pwd)
N=${BENCH_N:-1000}
NBATCH=${BENCH_BATCH:-100000}
NLAT=${BENCH_LAT:-300}
ROUNDS=${BENCH_ROUNDS:-}
BENCH_JSON=${BENCH_JSON:-}

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

for p in wf wf-enqueue wf-dispatch wf-agent; do
	[ -x "$WF_BIN/$p" ] || die "$WF_BIN/$p missing (run make first)"
done

# --- nq and task-spooler, from Debian --------------------------------------
find_tsp() {
	TSP=
	if command -v tsp >/dev/null 2>&1; then
		TSP=$(command -v tsp)
	elif command -v ts >/dev/null 2>&1 &&
	    ts -V </dev/null 2>&1 | grep -qi 'task spooler'; then
		TSP=$(command -v ts) # not moreutils' ts, a filter
	fi
}
find_tsp
if ! command -v nq >/dev/null 2>&1 || [ -z "$TSP" ]; then
	sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	say "bench: installing nq and task-spooler from Debian"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get install -y nq task-spooler >/dev/null 2>&1 ||
	    { $sudo apt-get update -qq >/dev/null 2>&1 &&
	      $sudo apt-get install -y nq task-spooler >/dev/null 2>&1; } ||
	    die "apt-get install nq task-spooler failed"
	find_tsp
fi
NQ=$(command -v nq) || die "no nq after install"
[ -n "$TSP" ] || die "no task-spooler binary (tsp or ts) after install"

# --- the temporary tree and the clean-up ------------------------------------
T=$(mktemp -d "${TMPDIR:-/tmp}/wfbench.XXXXXX")
HPID= DPID=       # the running wfb start helper and its wf-dispatch
WPIDS=            # background waiters
NQDIR_CUR=        # the NQDIR whose jobs must not outlive us
TSP_UP=0

# start_dispatch, stop_dispatch: bench/lib.sh
. "$(dirname "$0")/lib.sh"

kill_nq_jobs() {
	# nq's job files are ,<hex time>.<pid>: end those pids that are jobs
	# of our NQDIR (checked in their environment), by id.
	[ -n "$NQDIR_CUR" ] && [ -d "$NQDIR_CUR" ] || return 0
	local f pid
	for f in "$NQDIR_CUR"/,*; do
		[ -e "$f" ] || continue
		pid=${f##*.}
		case $pid in '' | *[!0-9]*) continue ;; esac
		[ -r "/proc/$pid/environ" ] || continue
		if { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null |
		    grep -qxF "NQDIR=$NQDIR_CUR"; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
	done
}

tsq() { TS_SOCKET=$T/tsp.sock TMPDIR=$T/tspout TS_SLOTS=1 \
    TS_MAXFINISHED=$((N + 100)) "$TSP" "$@"; }

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	stop_dispatch 50
	local w
	for w in $WPIDS; do kill -TERM "$w" 2>/dev/null || true; done
	kill_nq_jobs
	if [ "$TSP_UP" = 1 ]; then tsq -K >/dev/null 2>&1 || true; fi
	wait 2>/dev/null || true
	rm -rf "$T" 2>/dev/null || { sleep 1; rm -rf "$T"; } || true
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Run a copy of the programs: a rebuild of the checkout during the run
# (make replaces bin/*) must not change, or break, what is measured.
mkdir "$T/bin"
for p in wf wf-enqueue wf-dispatch wf-agent; do
	cp "$WF_BIN/$p" "$T/bin/$p"
done
WF_SRC_BIN=$WF_BIN
WF_BIN=$T/bin

# --- the helper and the arithmetic ------------------------------------------
WFB=$T/wfb
cc -O2 -static -o "$WFB" "$here/wfb.c" 2>/dev/null ||
    cc -O2 -o "$WFB" "$here/wfb.c" || die "cannot compile bench/wfb.c"

calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
# now in µs, without a fork
now_us() { NOW=${EPOCHREALTIME/./}; }
# percentile (nearest rank) of the numbers in a file: pct FILE 0.99
pct() { sort -n "$1" | awk -v q="$2" '{ v[NR] = $1 }
	END { if (NR == 0) { print "nan"; exit } r = int(q * NR); if (r < q * NR) r++;
	if (r < 1) r = 1; print v[r] }'; }
count() { find "$1" -mindepth 1 -maxdepth 1 -name '[!.]*' | wc -l; }

mkconf() { # mkconf FILE RUNNER
	printf '[queue]\naging = 300\n\n[lane.command]\nconcurrency = 1\nrunner = %s\n' \
	    "$2" >"$1"
}

vm() { # vm PID FIELD -> kB
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}

enqueue_loop() { # enqueue_loop HOME: N one-job wf-enqueue runs
	local i
	for ((i = 0; i < N; i++)); do
		WF_HOME=$1 "$WF_BIN/wf-enqueue" -- true >/dev/null
	done
}

waitn_bg() { # waitn_bg DIR COUNT OUTFILE: a background waiter
	"$WFB" waitn "$1" "$2" 300000 >"$3" &
	WPIDS="$WPIDS $!"
	WPID=$!
}

waitn_get() { # waitn_get OUTFILE -> sets SEEN_US
	local rc=0
	wait "$WPID" || rc=$?
	WPIDS=${WPIDS/ $WPID/}
	[ "$rc" -eq 0 ] || die "gave up waiting for done/: $(cat "$1")"
	SEEN_US=$(($(cat "$1") / 1000))
}

check_spool() { # check_spool HOME WHAT: all N in done/, none failed
	local d f
	d=$(count "$1/done")
	f=$(count "$1/failed")
	[ "$d" -eq "$2" ] && [ "$f" -eq 0 ] ||
	    die "$3: done/ has $d (want $2), failed/ has $f"
}

cd "$T"
load() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_START=$(load)
say "bench: wf $("$WF_BIN/wf-dispatch" --version | cut -d' ' -f2) (a copy of $WF_SRC_BIN), nq $(dpkg-query -W -f='${Version}' nq 2>/dev/null || echo ?), task-spooler $(dpkg-query -W -f='${Version}' task-spooler 2>/dev/null || echo ?) ($TSP)"
say "bench: $(nproc) cores, $(uname -r), $(df -PT "$T" | awk 'NR == 2 { print $2 }') at $T, load $(load)"
say "bench: N=$N jobs, batch $NBATCH, latency over $NLAT jobs; waits by inotify (wfb waitn)"

# --- 0. the floor ------------------------------------------------------------
say "bench: [0] floor: $N x /bin/true from a bash loop (load $(load))"
now_us; t0=$NOW
for ((i = 0; i < N; i++)); do /bin/true; done
now_us; FLOOR_US=$((NOW - t0))
# The spec's machine spawns 1000 processes in ~0.7 s.  Three times slower
# means a slow or busy machine: one round only, to stay near 5 minutes.
SLOW=
if [ "$FLOOR_US" -gt $((2100 * N)) ]; then
	SLOW="the floor is $(calc "$FLOOR_US / 1000000" 2) s against ~0.7 s on the spec's machine: slow or busy, figures are noisy"
	say "bench: $SLOW"
fi
if [ -z "$ROUNDS" ]; then
	if [ -n "$SLOW" ]; then ROUNDS=1; else ROUNDS=2; fi
fi

# --- 3 and 6 first: ext4 without a journal (this kind of VM's disk) skips,
# one lookup each, every inode freed in the last 60 to 300 s when it
# allocates one (recently_deleted in ialloc.c); the clean-ups of the other
# steps, thousands of files, would be charged to the batch.  Its 100 001
# files stay until the end, for the same reason. ------------------------------
mkconf "$T/direct.ini" direct
mkconf "$T/agent.ini" agent

# --- 3. batch enqueue ---------------------------------------------------------
say "bench: [3] wf: wf-enqueue --batch of $NBATCH jobs (load $(load))"
HD=$T/home-d
WF_HOME=$HD "$WF_BIN/wf" init >/dev/null
# 6 needs a first job that holds the one slot: CRITICAL, so it starts first
WF_HOME=$HD "$WF_BIN/wf-enqueue" -p critical -- sleep 30 >/dev/null
awk -v n="$NBATCH" 'BEGIN { for (i = 0; i < n; i++)
	print "{\"job_type\":\"command\",\"request_data\":{\"argv\":[\"true\"]}}" }' \
    >"$T/batch.jsonl"
now_us; t0=$NOW
WF_HOME=$HD "$WF_BIN/wf-enqueue" --batch <"$T/batch.jsonl" >"$T/batch.ids"
now_us; BATCH_US=$((NOW - t0))
q=$(count "$HD/queue/3-normal/new")
ids=$(wc -l <"$T/batch.ids")
[ "$q" -eq "$NBATCH" ] && [ "$ids" -eq "$NBATCH" ] ||
    die "batch: $q in queue/3-normal/new and $ids ids, want $NBATCH"

# --- 6. start-up with the batch queued ------------------------------------------
say "bench: [6] wf: wf-dispatch start-up with $((NBATCH + 1)) jobs queued (load $(load))"
start_dispatch "$HD" "$T/direct.ini" d
SCAN_US=$(((RES_T1 - RES_T0) / 1000))
SCAN_RSS=$RES_RSS
SCAN_HWM=$RES_HWM
SCAN_LINE=$(grep -m1 ': ready: ' "$T/d.log" | sed 's/.*ready: [^,]*, //')
sleep 1
SCAN_RSS1=$(vm "$DPID" VmRSS)
SCAN_HWM1=$(vm "$DPID" VmHWM)
SCAN_ANON1=$(vm "$DPID" RssAnon)
SCAN_ACTIVE=$(find "$HD/active" -mindepth 1 -maxdepth 1 -name '[!.]*' ! -name '*.pid' | wc -l)
stop_dispatch 50

# --- 1 and 2 (wf, runner=direct): enqueue with the dispatcher stopped, then
# the pure drain ---------------------------------------------------------------
say "bench: [1] wf: $N x wf-enqueue, dispatcher stopped (load $(load))"
HA=$T/home-a
WF_HOME=$HA "$WF_BIN/wf" init >/dev/null
now_us; t0=$NOW
enqueue_loop "$HA"
now_us; WF_ENQ_US=$((NOW - t0))
q=$(count "$HA/queue/3-normal/new")
[ "$q" -eq "$N" ] || die "wf: $q jobs queued, want $N"

say "bench: [2] wf: drain of $N queued jobs, runner = direct (load $(load))"
waitn_bg "$HA/done" "$N" "$T/a.seen"
start_dispatch "$HA" "$T/direct.ini" a
waitn_get "$T/a.seen"
DRAIN_DIRECT_US=$((SEEN_US - RES_T0 / 1000))
DRAIN_DIRECT_HWM=$(vm "$DPID" VmHWM)
stop_dispatch 50
check_spool "$HA" "$N" "drain direct"

say "bench: [2] wf: drain of $N queued jobs, runner = agent (load $(load))"
HC=$T/home-c
WF_HOME=$HC "$WF_BIN/wf" init >/dev/null
enqueue_loop "$HC"
waitn_bg "$HC/done" "$N" "$T/c.seen"
start_dispatch "$HC" "$T/agent.ini" c
waitn_get "$T/c.seen"
DRAIN_AGENT_US=$((SEEN_US - RES_T0 / 1000))
stop_dispatch 50
check_spool "$HC" "$N" "drain agent"
rm -rf "$HA" "$HC"

# --- 1 and 2, one round: wf (dispatcher running), nq, tsp back to back, so
# that the three see the same machine; BENCH_ROUNDS rounds, the best kept ---
min() { if [ -z "$1" ] || [ "$2" -lt "$1" ]; then echo "$2"; else echo "$1"; fi; }
WF_ALL_US= WF_ENQ_RUNNING_US= NQ_ENQ_US= NQ_ALL_US= TSP_ENQ_US= TSP_ALL_US=
WF_HWM=0 WF_RSS=0
for ((round = 1; round <= ROUNDS; round++)); do
	say "bench: [2] round $round/$ROUNDS, wf: $N x wf-enqueue with the dispatcher running, until all done (load $(load))"
	HB=$T/home-b
	WF_HOME=$HB "$WF_BIN/wf" init >/dev/null
	start_dispatch "$HB" "$T/direct.ini" "b$round"
	waitn_bg "$HB/done" "$N" "$T/b.seen"
	now_us; t0=$NOW
	enqueue_loop "$HB"
	now_us; WF_ENQ_RUNNING_US=$(min "$WF_ENQ_RUNNING_US" $((NOW - t0)))
	waitn_get "$T/b.seen"
	WF_ALL_US=$(min "$WF_ALL_US" $((SEEN_US - t0)))
	# 5. the peak RSS over that run (the highest of the rounds)
	v=$(vm "$DPID" VmHWM); [ "$v" -gt "$WF_HWM" ] && WF_HWM=$v
	v=$(vm "$DPID" VmRSS); [ "$v" -gt "$WF_RSS" ] && WF_RSS=$v
	stop_dispatch 50
	check_spool "$HB" "$N" "all done"
	rm -rf "$HB"

	say "bench: [1,2] round $round/$ROUNDS, nq: $N x nq true, then nq -w (load $(load))"
	NQDIR_CUR=$T/nq
	now_us; t0=$NOW
	for ((i = 0; i < N; i++)); do NQDIR=$NQDIR_CUR "$NQ" -q true; done
	now_us; NQ_ENQ_US=$(min "$NQ_ENQ_US" $((NOW - t0)))
	NQDIR=$NQDIR_CUR "$NQ" -w
	now_us; NQ_ALL_US=$(min "$NQ_ALL_US" $((NOW - t0)))
	q=$(find "$NQDIR_CUR" -maxdepth 1 -name ',*' | wc -l)
	[ "$q" -eq "$N" ] || die "nq: $q job files, want $N"
	kill_nq_jobs
	rm -rf "$NQDIR_CUR"
	NQDIR_CUR=

	say "bench: [1,2] round $round/$ROUNDS, tsp: $N x tsp true (1 slot), then tsp -w (load $(load))"
	rm -rf "$T/tspout"
	mkdir "$T/tspout"
	TSP_UP=1
	tsq -S 1 # starts the server (not timed), one slot
	now_us; t0=$NOW
	for ((i = 0; i < N; i++)); do tsq true >/dev/null; done
	now_us; TSP_ENQ_US=$(min "$TSP_ENQ_US" $((NOW - t0)))
	tsq -w >/dev/null 2>&1 || true # waits for the last added, so for all
	now_us; TSP_ALL_US=$(min "$TSP_ALL_US" $((NOW - t0)))
	q=$(tsq -l | awk '$2 == "finished"' | wc -l)
	[ "$q" -eq "$N" ] || die "tsp: $q jobs finished, want $N"
	tsq -K >/dev/null 2>&1 || true
	TSP_UP=0
	rm -rf "$T/tspout"
done

# --- 4. dispatch latency, on an idle dispatcher ------------------------------
say "bench: [4] wf: dispatch latency over $NLAT jobs, one at a time (load $(load))"
HB=$T/home-l
WF_HOME=$HB "$WF_BIN/wf" init >/dev/null
start_dispatch "$HB" "$T/direct.ini" l
mkdir "$T/lat" "$T/latmd" "$T/spawn"
WF_HOME=$HB "$WFB" lat "$NLAT" "$T/lat" "$HB/done" "$HB/active" "$WFB" -- \
    "$WF_BIN/wf-enqueue" -- >"$T/lat.txt" || die "latency run failed"
WF_HOME=$HB "$WFB" latmd "$NLAT" "$T/latmd" "$HB" "$WFB" >"$T/latmd.txt" ||
    die "maildir latency run failed"
stop_dispatch 50
check_spool "$HB" $((2 * NLAT)) "latency"
rm -rf "$HB"
"$WFB" spawnlat "$NLAT" "$T/spawn" "$WFB" >"$T/spawn.txt" || die "spawn run failed"
# µs: job start - before wf-enqueue's fork+exec; - after it returned;
# wf-enqueue's own time; job start - the maildir rename; bare fork+exec
awk '{ printf "%.1f\n", ($4 - $2) / 1000 }' "$T/lat.txt" >"$T/lat.exec"
awk '{ printf "%.1f\n", ($4 - $3) / 1000 }' "$T/lat.txt" >"$T/lat.ret"
awk '{ printf "%.1f\n", ($3 - $2) / 1000 }' "$T/lat.txt" >"$T/lat.enq"
awk '{ printf "%.1f\n", ($4 - $2) / 1000 }' "$T/latmd.txt" >"$T/lat.md"
awk '{ printf "%.1f\n", ($4 - $2) / 1000 }' "$T/spawn.txt" >"$T/lat.spawn"
for k in exec ret enq md spawn; do
	eval "LAT_${k}_50=\$(pct \"\$T/lat.\$k\" 0.50)"
	eval "LAT_${k}_99=\$(pct \"\$T/lat.\$k\" 0.99)"
done
LAT_ret_neg=$(awk '$1 < 0' "$T/lat.ret" | wc -l)

# --- the table ------------------------------------------------------------------
s() { calc "$1 / 1000000" "${2:-3}"; }         # µs -> s
rate() { calc "$1 / ($2 / 1000000)" 0; }       # jobs, µs -> jobs/s
ms() { calc "$1 / 1000" 3; }                   # µs -> ms
yn() { if awk "BEGIN { exit !($1) }"; then echo yes; else echo NO; fi; }

FLOOR_S=$(s "$FLOOR_US")
E_WF=$(rate "$N" "$WF_ENQ_US"); E_NQ=$(rate "$N" "$NQ_ENQ_US"); E_TSP=$(rate "$N" "$TSP_ENQ_US")
A_WF=$(s "$WF_ALL_US"); A_NQ=$(s "$NQ_ALL_US"); A_TSP=$(s "$TSP_ALL_US")
D_DIR=$(s "$DRAIN_DIRECT_US"); D_AG=$(s "$DRAIN_AGENT_US")
B_S=$(s "$BATCH_US"); B_RATE=$(rate "$NBATCH" "$BATCH_US")
SCAN_S=$(s "$SCAN_US")
R_E_NQ=$(calc "$E_WF / $E_NQ" 2); R_E_TSP=$(calc "$E_WF / $E_TSP" 2)
R_A_NQ=$(calc "$A_WF / $A_NQ" 2); R_A_TSP=$(calc "$A_WF / $A_TSP" 2)
M_ALL_TSP=$(yn "$A_WF <= $A_TSP"); M_ALL_NQ=$(yn "$A_WF * 1.5 <= $A_NQ")
M_BATCH=$(yn "$B_RATE >= 20000")
M_LAT_EXEC=$(yn "$LAT_exec_99 < 2000"); M_LAT_RET=$(yn "$LAT_ret_99 < 2000")
M_LAT_MD=$(yn "$LAT_md_99 < 2000")
M_RSS=$(yn "$WF_HWM < 8192")
M_SCAN=$(yn "$SCAN_US < 1000000")
M_SCAN_RSS=$(yn "$SCAN_RSS < 8192 && $SCAN_HWM1 < 8192")

row() { printf '%-44s %14s %10s %10s %8s %8s  %-22s %s\n' "$@"; }
{
echo
echo "wf queue benchmark: $N jobs, $(nproc) cores, load average $LOAD_START at the start, $(load) at the end"
[ -z "$SLOW" ] || echo "NOTE: $SLOW."
row "figure" "wf" "nq" "tsp" "wf/nq" "wf/tsp" "target" "met?"
row "--------------------------------------------" "--------------" "----------" "----------" "--------" "--------" "----------------------" "----"
row "floor: bash loop, $N x /bin/true (s)" "$FLOOR_S" "" "" "" "" "ref ~0.7 s" "-"
row "1. enqueue, one process per job (jobs/s)" "$E_WF" "$E_NQ" "$E_TSP" "$R_E_NQ" "$R_E_TSP" "-" "-"
row "2. all $N done from enqueue start (s)" "$A_WF" "$A_NQ" "$A_TSP" "$R_A_NQ" "$R_A_TSP" "<= tsp; nq/wf >= 1.5" "$M_ALL_TSP/$M_ALL_NQ"
row "   ref. (spec, this kind of machine) (s)" "" "~2.2" "~1.3" "" "" "" ""
row "   wf enqueue loop meanwhile (jobs/s)" "$(rate "$N" "$WF_ENQ_RUNNING_US")" "" "" "" "" "-" "-"
row "2b. wf drain of $N, runner=direct (s)" "$D_DIR" "" "" "" "" "-" "-"
row "7. wf drain of $N, runner=agent (s)" "$D_AG" "" "" "" "" "-" "-"
row "3. batch enqueue $NBATCH (jobs/s)" "$B_RATE" "" "" "" "" ">= 20000/s" "$M_BATCH"
row "   batch enqueue $NBATCH (s)" "$B_S" "" "" "" "" "" ""
row "4a. latency exec->start p50/p99 (ms)" "$(ms "$LAT_exec_50")/$(ms "$LAT_exec_99")" "" "" "" "" "p99 < 2 ms" "$M_LAT_EXEC"
row "4b. latency return->start p50/p99 (ms)" "$(ms "$LAT_ret_50")/$(ms "$LAT_ret_99")" "" "" "" "" "p99 < 2 ms" "$M_LAT_RET"
row "4c. latency rename->start p50/p99 (ms)" "$(ms "$LAT_md_50")/$(ms "$LAT_md_99")" "" "" "" "" "p99 < 2 ms" "$M_LAT_MD"
row "   floor: fork+exec->start p50/p99 (ms)" "$(ms "$LAT_spawn_50")/$(ms "$LAT_spawn_99")" "" "" "" "" "-" "-"
row "   wf-enqueue run time p50/p99 (ms)" "$(ms "$LAT_enq_50")/$(ms "$LAT_enq_99")" "" "" "" "" "-" "-"
row "5. wf-dispatch VmHWM, $N-job run (kB)" "$WF_HWM" "" "" "" "" "< 8192 kB" "$M_RSS"
row "6. start-up scan, $((NBATCH + 1)) queued (s)" "$SCAN_S" "" "" "" "" "< 1 s" "$M_SCAN"
row "   VmRSS/VmHWM at ready (kB)" "$SCAN_RSS/$SCAN_HWM" "" "" "" "" "< 8192 kB" "$M_SCAN_RSS"
row "   VmRSS/VmHWM 1 s after ready (kB)" "$SCAN_RSS1/$SCAN_HWM1" "" "" "" "" "" ""
row "   of which anonymous (RssAnon, kB)" "$SCAN_ANON1" "" "" "" "" "" ""
echo
echo "Definitions:"
echo " ratios are wf's figure over the other's: for jobs/s above 1 is wf faster, for seconds below 1."
echo " 1: wall time of the bash loop of $N enqueue commands (wf: wf-dispatch not running; nq and tsp"
echo "    start their jobs meanwhile).  2: from the loop's start until the last job ended: wf, done/"
echo "    holds $N records (inotify on done/, then readdir); nq, nq -w returns; tsp, tsp -w on the last."
echo "    nq and tsp in 1, and all of 2: the best of $ROUNDS rounds, each running wf, nq, tsp in turn."
echo "    wf fsyncs every job (wf-enqueue: file and directory; wf-dispatch: one syncfs per turn);"
echo "    nq fsyncs its directory once per job; tsp keeps its queue in memory."
echo " 2b/7: $N jobs queued, dispatcher stopped; from just before wf-dispatch's fork+exec until done/"
echo "    holds $N records.  wf's enqueue loop with the dispatcher running: $(s "$WF_ENQ_RUNNING_US") s."
echo " 4: $NLAT jobs on an idle wf-dispatch (concurrency 1), each enqueued after the previous one ended;"
echo "    the job is a static C program whose main() first reads CLOCK_REALTIME (start)."
echo "    4a: start - the time read just before fork+exec of wf-enqueue (its whole run included);"
echo "    4b: start - the time read once wf-enqueue has exited (the job may start before: $LAT_ret_neg"
echo "        of $NLAT were negative, as the dispatcher sees the rename before the directory fsync);"
echo "    4c: no wf-enqueue: the file is written and fsync'd in tmp/, then the time is read and the"
echo "        file renamed into queue/3-normal/new (the maildir commit): wf-dispatch's own latency."
echo "    floor: the bench helper forks and execs the same job itself (no wf): what one process"
echo "        start costs here; 4c cannot be below it."
echo " 5: VmHWM of wf-dispatch read from /proc at the end of the $N-job run (2), before stopping it"
echo "    (the highest of the rounds)."
echo " 6: from just before fork+exec of wf-dispatch until its \"ready:\" line ($SCAN_LINE) on"
echo "    stderr, a CRITICAL sleep 30 first in line holding the one slot; $SCAN_ACTIVE job(s) started"
echo "    by 1 s after ready.  Page cache warm (the batch had just been written)."
} | tee "$T/table.txt"

if [ -n "$BENCH_JSON" ]; then
	cat >"$BENCH_JSON" <<EOF
{"jobs":$N,"batch_jobs":$NBATCH,"latency_jobs":$NLAT,"rounds":$ROUNDS,"cores":$(nproc),
 "loadavg_start":"$LOAD_START","loadavg_end":"$(load)",
 "floor_loop_s":$FLOOR_S,"slow_machine":$([ -n "$SLOW" ] && echo true || echo false),
 "enqueue_jobs_per_s":{"wf":$E_WF,"nq":$E_NQ,"tsp":$E_TSP},
 "enqueue_ratio":{"wf_nq":$R_E_NQ,"wf_tsp":$R_E_TSP},
 "all_done_s":{"wf":$A_WF,"nq":$A_NQ,"tsp":$A_TSP},
 "all_done_ratio":{"wf_nq":$R_A_NQ,"wf_tsp":$R_A_TSP},
 "wf_enqueue_while_running_s":$(s "$WF_ENQ_RUNNING_US"),
 "wf_drain_s":{"direct":$D_DIR,"agent":$D_AG},
 "batch":{"seconds":$B_S,"jobs_per_s":$B_RATE},
 "latency_ms":{"exec_to_start":{"p50":$(ms "$LAT_exec_50"),"p99":$(ms "$LAT_exec_99")},
  "return_to_start":{"p50":$(ms "$LAT_ret_50"),"p99":$(ms "$LAT_ret_99"),"negative":$LAT_ret_neg},
  "rename_to_start":{"p50":$(ms "$LAT_md_50"),"p99":$(ms "$LAT_md_99")},
  "floor_fork_exec":{"p50":$(ms "$LAT_spawn_50"),"p99":$(ms "$LAT_spawn_99")},
  "wf_enqueue_run":{"p50":$(ms "$LAT_enq_50"),"p99":$(ms "$LAT_enq_99")}},
 "wf_dispatch_kb":{"run_hwm":$WF_HWM,"run_rss":$WF_RSS,"drain_direct_hwm":$DRAIN_DIRECT_HWM},
 "startup":{"queued":$((NBATCH + 1)),"scan_s":$SCAN_S,"rss_kb":$SCAN_RSS,"hwm_kb":$SCAN_HWM,
  "rss_kb_1s":$SCAN_RSS1,"hwm_kb_1s":$SCAN_HWM1,"rss_anon_kb_1s":$SCAN_ANON1},
 "met":{"all_done_vs_tsp":"$M_ALL_TSP","all_done_vs_nq_1_5x":"$M_ALL_NQ","batch":"$M_BATCH",
  "latency_exec_p99":"$M_LAT_EXEC","latency_return_p99":"$M_LAT_RET",
  "latency_rename_p99":"$M_LAT_MD","rss":"$M_RSS","startup_scan":"$M_SCAN",
  "startup_rss":"$M_SCAN_RSS"}}
EOF
	say "bench: figures written to $BENCH_JSON"
fi
