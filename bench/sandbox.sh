#!/usr/bin/env bash
# bench/sandbox.sh: what does the sandbox add to the start of a job?
# `make bench-sandbox` runs it with WF_BIN=<checkout>/bin (and `make bench`
# after the other two).
#
# A `command` job whose request_data has "sandbox": {"rw": DIR, "ro":
# [DIR...], "network": false} (what wf-gate gives a project's test run) is
# run by wf-dispatch inside bubblewrap, with the argv lib/sandbox.c builds.
# The job here is the bench helper's `wfb stamp FILE` (bench/wfb.c, built
# static when it can be): the first thing its main() does is read
# CLOCK_REALTIME, which it writes to FILE, in the sandbox's one written
# directory.  Two ways, in the same run, BENCH_N (200) jobs or runs a case,
# in BENCH_ROUNDS (8) rounds; each round takes every case in turn, the
# order of the plain and the sandboxed case swapped every other round, so
# that a load that drifts falls on both alike:
#
#  a. through the real daemons: one wf-dispatch ([lane.command]
#     concurrency 1, runner direct, the sandbox on as by default) on a
#     temporary $WF_HOME; each job is written into queue/3-normal/tmp and
#     renamed into new/ (wfb latmd) BENCH_GAP_MS (30) after the previous
#     one has ended, with and without the sandbox field.  wf-dispatch
#     makes a job's room ahead (lib/room.h: bwrap with the last sandboxed
#     job's options, waiting in `wf-agent --room`), so that what (a)
#     measures is the hand-off; the gap is the time the next room has to
#     be made in, as a real job's run gives it (a project's tests run for
#     seconds).  BENCH_GAP_MS=0 runs them back to back: the job then waits
#     for the rest of its room's making.  Per job: start = the job's first
#     instruction - the rename (wf-dispatch's wake-up, claim, fork+exec,
#     and in the sandbox bwrap's making of the room); turnaround = its
#     record seen in done/ - the rename (the room's tear-down too);
#     duration_ms as wf-dispatch records it (whole ms).
#  b. the raw exec cost, no wf: the bench helper forks and execs the job
#     itself (wfb spawnv), and the same job under the exact bwrap argv
#     wf-dispatch built for a job of (a) (read from /proc/PID/cmdline of a
#     running sandboxed job).  start = the job's first instruction - just
#     before fork; whole = reaped - just before fork.
#  c. (BENCH_VARIANTS=1, the default) the bwrap argv of (b) with one
#     option taken away at a time, to see what each costs; and, when run
#     as root, the whole argv run as uid 65534 (wf's installed user is not
#     root: bwrap then makes a user namespace too).  A variant is a
#     measurement only, not a proposal: the sandbox's options stay as
#     lib/sandbox.c builds them.
#
# The target: under 5 ms p50 added by the sandbox to the start of a job on
# the machine it runs on; its figure is (a)'s start, sandboxed p50 minus
# plain p50.  (b)'s added p50 is printed beside it.
#
# Environment: WF_BIN (programs; default <checkout>/bin), BENCH_N (200),
# BENCH_GAP_MS (30; the time between one job's end and the next),
# BENCH_ROUNDS (8), BENCH_VARIANTS (1; 0 skips c), BENCH_RT=1 (b and c
# under SCHED_FIFO, chrt -f 10, root only: each process runs as soon as it
# can, what a busy machine's run queue adds is out), BENCH_JSON (write the
# figures there as one JSON object), BENCH_KEEP=1 (keep the temporary
# directory and print its path).  Exit status 0 when every job and run
# completed (a missed target is a figure, not a failure); 1 when bwrap is
# missing or cannot make a sandbox here, or a job failed.  Not part of
# make check.
# shellcheck disable=SC2034,SC2154 # the figures are set and read through eval
set -eu

here=$(cd "$(dirname "$0")" && pwd)
WF_BIN=${WF_BIN:-$here/../bin}
WF_BIN=$(cd "$WF_BIN" && pwd)
N=${BENCH_N:-200}
ROUNDS=${BENCH_ROUNDS:-8}
VARIANTS=${BENCH_VARIANTS:-1}
RT=()
if [ "${BENCH_RT:-0}" = 1 ]; then
	[ "$(id -u)" -eq 0 ] && command -v chrt >/dev/null 2>&1 ||
	    { echo "bench: BENCH_RT=1 needs root and chrt" >&2; exit 1; }
	RT=(chrt -f 10)
fi
BENCH_JSON=${BENCH_JSON:-}
TARGET_US=5000 # p50 added at the start
GAP=${BENCH_GAP_MS:-30}
case $GAP in '' | *[!0-9]*) echo "bench: BENCH_GAP_MS must be a number" >&2; exit 1 ;; esac

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }

for p in wf wf-enqueue wf-dispatch; do
	[ -x "$WF_BIN/$p" ] || die "$WF_BIN/$p missing (run make first)"
done
case $N in '' | *[!0-9]* | 0) die "BENCH_N must be a number > 0" ;; esac
case $ROUNDS in '' | *[!0-9]* | 0) die "BENCH_ROUNDS must be a number > 0" ;; esac
[ "$ROUNDS" -le "$N" ] || die "BENCH_ROUNDS must not exceed BENCH_N"
BWRAP=$(command -v bwrap) ||
    die "bwrap not found: install bubblewrap (apt install bubblewrap, or make deps)"
bwrap --ro-bind / / true 2>/dev/null ||
    die "bwrap cannot make a sandbox here: $(bwrap --ro-bind / / true 2>&1 | head -1)"

T=$(mktemp -d "${TMPDIR:-/tmp}/wfsb.XXXXXX")
HPID='' DPID=''

# start_dispatch, stop_dispatch: bench/lib.sh
. "$(dirname "$0")/lib.sh"

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	stop_dispatch
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

# A copy of the programs (a rebuild during the run must not change what
# is measured), and the helper beside them: $T/bin is the sandbox's one
# read-only directory, as a job's repository is in wf-gate's test runs.
# $T is opened to others for the run as uid 65534 (c).
chmod 755 "$T"
mkdir "$T/bin" "$T/rw"
for p in wf wf-enqueue wf-dispatch wf-agent; do
	[ -x "$WF_BIN/$p" ] && cp "$WF_BIN/$p" "$T/bin/$p"
done
WF_SRC_BIN=$WF_BIN
WF_BIN=$T/bin
WFB=$T/bin/wfb
cc -O2 -static -o "$WFB" "$here/wfb.c" 2>/dev/null ||
    cc -O2 -o "$WFB" "$here/wfb.c" || die "cannot compile bench/wfb.c"
# The written directory is a worktree in wf's own use: its .git file is
# bound read-only on top, one mount more; so here too.
: >"$T/rw/.git"

calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
# percentile (nearest rank) of the numbers in a file: pct FILE 0.99
pct() { sort -n "$1" | awk -v q="$2" '{ v[NR] = $1 }
	END { if (NR == 0) { print "nan"; exit } r = int(q * NR); if (r < q * NR) r++;
	if (r < 1) r = 1; print v[r] }'; }
count() { find "$1" -mindepth 1 -maxdepth 1 -name '[!.]*' | wc -l; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
v() { eval "echo \"\$$1\""; }

# stats FILE PREFIX (µs a line): sets PREFIX_50 PREFIX_99 PREFIX_MAX (ms)
stats() {
	local p50 p99 mx
	p50=$(pct "$1" 0.50)
	p99=$(pct "$1" 0.99)
	mx=$(sort -n "$1" | tail -1)
	eval "${2}_50=$(calc "$p50 / 1000" 2)"
	eval "${2}_99=$(calc "$p99 / 1000" 2)"
	eval "${2}_MAX=$(calc "$mx / 1000" 2)"
}

say "bench: wf $("$WF_BIN/wf-dispatch" --version | cut -d' ' -f2) (a copy of $WF_SRC_BIN), $("$BWRAP" --version) ($BWRAP), as uid $(id -u)"
say "bench: $(nproc) cores, $(uname -r), $(wc -l </proc/self/mountinfo) mounts, load $(load); $N jobs or runs a case, $ROUNDS rounds"
LOAD_START=$(load)

# --- the spool and the dispatcher -------------------------------------------
H=$T/home
WF_HOME=$H "$WF_BIN/wf" init >/dev/null
cat >"$T/wf.ini" <<-EOF
[queue]
aging = 300
max_attempts = 1

[lane.command]
concurrency = 1
runner = direct

[sandbox]
sandbox = on
EOF
SBJSON="\"sandbox\":{\"rw\":\"$T/rw\",\"ro\":[\"$T/bin\"],\"network\":false}"
start_dispatch "$H" "$T/wf.ini" d

# --- the argv wf builds: read from a running sandboxed job ------------------
say "bench: reading the bwrap argv of a running sandboxed job (load $(load))"
printf '{"job_type":"command","request_data":{"argv":["sleep","2"],"cwd":"/",%s}}\n' \
    "$SBJSON" | WF_HOME=$H WF_CONFIG=$T/wf.ini "$WF_BIN/wf-enqueue" >"$T/cap.id" ||
    die "cannot enqueue the sandboxed job"
id=$(cat "$T/cap.id")
got=
for ((i = 0; i < 500; i++)); do
	if [ -s "$H/active/$id.pid" ]; then
		read -r pid _ <"$H/active/$id.pid"
		if tr '\0' '\n' <"/proc/$pid/cmdline" >"$T/argv.txt" 2>/dev/null &&
		    [ "$(head -1 "$T/argv.txt")" = "$BWRAP" ]; then
			got=1
			break
		fi
	fi
	sleep 0.01
done
[ -n "$got" ] || die "no bwrap seen for the sandboxed job $id; the dispatcher's log: $(tail -3 "$T/d.log")"
"$WFB" waitn "$H/done" 1 20000 >/dev/null ||
    die "the sandboxed job did not end: $(cat "$H"/failed/* 2>/dev/null | head -c 600)"
# Its options: everything between bwrap and "--".
OPTS=()
while IFS= read -r a; do
	[ "$a" = -- ] && break
	OPTS+=("$a")
done < <(tail -n +2 "$T/argv.txt")
say "bench: bwrap ${OPTS[*]} -- ..."

# --- the variants ---------------------------------------------------------------
# arity of bwrap's options in wf's argv
arity() {
	case $1 in
	--ro-bind | --bind) echo 2 ;;
	--dev | --proc | --tmpfs | --chdir) echo 1 ;;
	*) echo 0 ;;
	esac
}
# without OPT [ARG1]: OPTS without every OPT (whose first argument is
# ARG1, when given); sets VOPTS
without() {
	local i=0 n=${#OPTS[@]} a k
	VOPTS=()
	while [ "$i" -lt "$n" ]; do
		a=${OPTS[$i]}
		k=$(arity "$a")
		if [ "$a" = "$1" ] && { [ $# -lt 2 ] || [ "${OPTS[$((i + 1))]}" = "$2" ]; }; then
			i=$((i + 1 + k))
			continue
		fi
		VOPTS+=("${OPTS[@]:$i:$((k + 1))}")
		i=$((i + 1 + k))
	done
}
# the hidden places: every --tmpfs but /tmp, /var/tmp and /run, and every
# /dev/null bound on a file
without_hidden() {
	local i=0 n=${#OPTS[@]} a k
	VOPTS=()
	while [ "$i" -lt "$n" ]; do
		a=${OPTS[$i]}
		k=$(arity "$a")
		case "$a ${OPTS[$((i + 1))]:-}" in
		"--tmpfs /tmp" | "--tmpfs /var/tmp" | "--tmpfs /run") ;;
		"--tmpfs "* | "--ro-bind /dev/null")
			i=$((i + 1 + k))
			continue ;;
		esac
		VOPTS+=("${OPTS[@]:$i:$((k + 1))}")
		i=$((i + 1 + k))
	done
}
NV=0
addv() { # addv NAME LABEL UID OPTIONS...: one variant of (c), bwrap's
	local name=$1 label=$2 uid=$3
	shift 3
	NV=$((NV + 1))
	eval "V${NV}_NAME=\$name V${NV}_LABEL=\$label V${NV}_UID=\$uid"
	printf '%s\0' "$BWRAP" "$@" -- "$WFB" stamp '{}' >"$T/v$NV.argv"
}
addcmd() { # addcmd NAME LABEL UID ARGV...: a variant of (c), any command
	local name=$1 label=$2 uid=$3
	shift 3
	NV=$((NV + 1))
	eval "V${NV}_NAME=\$name V${NV}_LABEL=\$label V${NV}_UID=\$uid"
	printf '%s\0' "$@" >"$T/v$NV.argv"
}
UNSH=()
for a in "${OPTS[@]}"; do
	case $a in --unshare-*) UNSH+=("$a") ;; esac
done
BARE=(--ro-bind / / --bind "$T/rw" "$T/rw")
addv full "as wf builds it" 0 "${OPTS[@]}"
if [ "$VARIANTS" = 1 ]; then
	for o in --unshare-net --unshare-pid --unshare-ipc --unshare-uts \
	    --unshare-cgroup-try --new-session --die-with-parent; do
		without "$o"
		addv "-${o#--}" "without $o" 0 "${VOPTS[@]}"
	done
	without --proc; addv -proc "without --proc /proc" 0 "${VOPTS[@]}"
	without --dev; addv -dev "without --dev /dev" 0 "${VOPTS[@]}"
	without_hidden
	addv -hidden "without the hidden places (tmpfs, /dev/null)" 0 "${VOPTS[@]}"
	without --tmpfs
	addv -tmpfs "without every --tmpfs" 0 "${VOPTS[@]}"
	without --ro-bind "$T/rw/.git"
	addv -dotgit "without the .git bind" 0 "${VOPTS[@]}"
	addv unshares "only --ro-bind / /, the rw bind, the unshares" 0 \
	    "${BARE[@]}" "${UNSH[@]}"
	addv bare "only --ro-bind / / and the rw bind" 0 "${BARE[@]}"
	# References: bwrap's own exec, with no room made and no job (its
	# start is not measured); the kernel's mount and network namespaces
	# alone, made by util-linux's unshare (one exec of a small program,
	# like bwrap's, and no mounts).
	addcmd version "ref: bwrap --version (its exec alone; whole only)" 0 \
	    "$BWRAP" --version
	ur=()
	[ "$(id -u)" -eq 0 ] || ur=(-r)
	if command -v unshare >/dev/null 2>&1; then
		addcmd unshare-m "ref: unshare ${ur[*]}${ur:+ }-m: a mount namespace, no bwrap" 0 \
		    "$(command -v unshare)" "${ur[@]}" -m "$WFB" stamp '{}'
		addcmd unshare-n "ref: unshare ${ur[*]}${ur:+ }-n: a network namespace, no bwrap" 0 \
		    "$(command -v unshare)" "${ur[@]}" -n "$WFB" stamp '{}'
	fi
	if [ "$(id -u)" -eq 0 ]; then
		addcmd plain-u "no sandbox, as uid 65534" 65534 "$WFB" stamp '{}'
		addv full-u "as wf builds it, as uid 65534 (a user namespace)" \
		    65534 "${OPTS[@]}"
	fi
fi

# --- the rounds -------------------------------------------------------------------
# job i of N falls in round i % ROUNDS: per round K jobs, the first N %
# ROUNDS rounds one more
per_round() { echo $(($1 <= N % ROUNDS ? N / ROUNDS + 1 : N / ROUNDS)); }
for f in a-p a-s b-p; do : >"$T/$f.txt"; done
for ((k = 1; k <= NV; k++)); do : >"$T/v$k.txt"; done
VFAIL=

case_a() { # case_a p|s ROUND K: K jobs through the daemons
	local d=$T/rw/a-$1-$2
	mkdir "$d"
	if [ "$1" = s ]; then
		WF_HOME=$H WFB_GAP_MS=$GAP "$WFB" latmd "$3" "$d" "$H" "$WFB" "$SBJSON" >>"$T/a-s.txt" ||
		    die "round $2: sandboxed jobs failed: $(cat "$H"/failed/* 2>/dev/null | head -c 600)"
	else
		WF_HOME=$H WFB_GAP_MS=$GAP "$WFB" latmd "$3" "$d" "$H" "$WFB" >>"$T/a-p.txt" ||
		    die "round $2: plain jobs failed: $(cat "$H"/failed/* 2>/dev/null | head -c 600)"
	fi
	rm -rf "$d"
}

case_b() { # case_b p|VARIANT ROUND K: K raw runs
	local d=$T/rw/b-$1-$2 uid=0 u=() argv=()
	mkdir "$d"
	if [ "$1" = p ]; then
		"${RT[@]}" "$WFB" spawnv "$3" "$d" -- "$WFB" stamp '{}' >>"$T/b-p.txt" ||
		    die "round $2: the plain runs failed"
	else
		case " $VFAIL " in *" $1 "*) rmdir "$d"; return 0 ;; esac
		uid=$(v "V${1}_UID")
		if [ "$uid" != 0 ]; then
			chmod 777 "$d"
			u=(-u "$uid:$uid")
		fi
		mapfile -d '' argv <"$T/v$1.argv"
		"${RT[@]}" "$WFB" spawnv "$3" "$d" "${u[@]}" -- "${argv[@]}" \
		    >>"$T/v$1.txt" 2>"$T/v$1.err" || VFAIL="$VFAIL $1"
		# (.err: the stderr of the last round run, a failure's reason)
	fi
	rm -rf "$d"
}

for ((r = 1; r <= ROUNDS; r++)); do
	K=$(per_round "$r")
	say "bench: round $r/$ROUNDS: $K jobs a case through wf-dispatch, $K runs a case raw (load $(load))"
	if [ $((r % 2)) = 1 ]; then
		case_a p "$r" "$K"; case_a s "$r" "$K"
		case_b p "$r" "$K"; case_b 1 "$r" "$K"
	else
		case_a s "$r" "$K"; case_a p "$r" "$K"
		case_b 1 "$r" "$K"; case_b p "$r" "$K"
	fi
	for ((k = 2; k <= NV; k++)); do
		case_b "$k" "$r" "$K"
		# the plain runs again between every few variants, so that
		# each variant is near some of them in time
		[ $((k % 4)) != 0 ] || case_b p "$r.$k" "$K"
	done
done
stop_dispatch
LOAD_END=$(load)
case " $VFAIL " in *" 1 "*) die "wf's own bwrap argv failed when run raw: $(cat "$T/v1.err")" ;; esac

# --- the figures --------------------------------------------------------------------
# a: µs from the rename to the start, and to the record in done/
for c in p s; do
	awk '{ printf "%.1f\n", ($4 - $2) / 1000 }' "$T/a-$c.txt" >"$T/a-$c.start"
	awk '{ printf "%.1f\n", ($5 - $2) / 1000 }' "$T/a-$c.txt" >"$T/a-$c.turn"
	stats "$T/a-$c.start" "A${c}S"
	stats "$T/a-$c.turn" "A${c}T"
done
# duration_ms of the records of the stamp jobs, with and without the room
for f in a-p a-s; do : >"$T/$f.dur"; done
for f in "$H"/done/*; do
	grep -q '"stamp"' "$f" || continue
	d=$(sed -n 's/.*"duration_ms":\([0-9]*\).*/\1/p' "$f")
	if grep -q '"sandbox":{' "$f"; then echo "$d" >>"$T/a-s.dur"; else echo "$d" >>"$T/a-p.dur"; fi
done
for c in p s; do
	eval "A${c}D_50=$(pct "$T/a-$c.dur" 0.50) A${c}D_99=$(pct "$T/a-$c.dur" 0.99)"
	eval "A${c}_N=$(wc -l <"$T/a-$c.txt")"
done
# b, c: µs from just before the fork to the start, and to the reaping
raw_stats() { # raw_stats FILE PREFIX
	awk '{ printf "%.1f\n", ($3 - $2) / 1000 }' "$1" >"$1.start"
	awk '{ printf "%.1f\n", ($4 - $2) / 1000 }' "$1" >"$1.whole"
	stats "$1.start" "${2}S"
	stats "$1.whole" "${2}W"
	eval "${2}_N=$(wc -l <"$1")"
}
raw_stats "$T/b-p.txt" BP
for ((k = 1; k <= NV; k++)); do
	raw_stats "$T/v$k.txt" "V$k"
done

added() { calc "$1 - $2" 2; }
ratio() { calc "$1 / $2" 2; }
met() { if awk "BEGIN { exit !($1 * 1000 < $TARGET_US) }"; then echo met; else echo MISSED; fi; }
ADD_A=$(added "$AsS_50" "$ApS_50")
ADD_B=$(added "$V1S_50" "$BPS_50")
row() { printf '%-46s %8s %8s %8s %6s\n' "$@"; }
{
	echo
	echo "sandbox: the start of a job in bubblewrap against a plain start; $N jobs or runs a case in $ROUNDS alternating rounds; ms"
	echo "$(nproc) cores, $(uname -r), bwrap as uid $(id -u); load $LOAD_START at the start, $LOAD_END at the end"
	[ ${#RT[@]} = 0 ] || echo "b and c under SCHED_FIFO (BENCH_RT=1): ${RT[*]}"
	echo
	echo "a. through wf-dispatch (rename into new/ -> the job's first instruction; -> its record in done/); ${GAP} ms between jobs"
	row "" p50 p99 max n
	row "plain: start" "$ApS_50" "$ApS_99" "$ApS_MAX" "$Ap_N"
	row "sandbox: start" "$AsS_50" "$AsS_99" "$AsS_MAX" "$As_N"
	row "  added by the sandbox (TARGET: p50 < $((TARGET_US / 1000)) ms)" "$ADD_A" "$(added "$AsS_99" "$ApS_99")" "" ""
	row "  ratio sandbox / plain" "$(ratio "$AsS_50" "$ApS_50")" "$(ratio "$AsS_99" "$ApS_99")" "" ""
	row "plain: turnaround (to done/)" "$ApT_50" "$ApT_99" "$ApT_MAX" ""
	row "sandbox: turnaround (to done/)" "$AsT_50" "$AsT_99" "$AsT_MAX" ""
	row "  added by the sandbox" "$(added "$AsT_50" "$ApT_50")" "$(added "$AsT_99" "$ApT_99")" "" ""
	row "duration_ms recorded, plain / sandbox (whole ms)" "$ApD_50/$AsD_50" "$ApD_99/$AsD_99" "" ""
	echo
	echo "b. raw, no wf: fork+exec of the job, and of bwrap with wf's argv and the job (before fork -> first instruction; -> reaped)"
	row "" p50 p99 max n
	row "plain: start" "$BPS_50" "$BPS_99" "$BPS_MAX" "$BP_N"
	row "sandbox: start" "$V1S_50" "$V1S_99" "$V1S_MAX" "$V1_N"
	row "  added by the sandbox" "$ADD_B" "$(added "$V1S_99" "$BPS_99")" "" ""
	row "  ratio sandbox / plain" "$(ratio "$V1S_50" "$BPS_50")" "$(ratio "$V1S_99" "$BPS_99")" "" ""
	row "plain: whole (to reaped)" "$BPW_50" "$BPW_99" "$BPW_MAX" ""
	row "sandbox: whole (to reaped)" "$V1W_50" "$V1W_99" "$V1W_MAX" ""
	row "  added by the sandbox" "$(added "$V1W_50" "$BPW_50")" "$(added "$V1W_99" "$BPW_99")" "" ""
	if [ "$NV" -gt 1 ]; then
		echo
		echo "c. variants of the bwrap argv (raw, as b; added = the variant's p50 - plain's p50; saved = full's p50 - the variant's)"
		printf '%-58s %8s %8s %8s %8s %8s\n' "" "start" "p99" "whole" "added" "saved"
		for ((k = 1; k <= NV; k++)); do
			case " $VFAIL " in
			*" $k "*)
				printf '%-58s %s\n' "$(v "V${k}_LABEL")" "fails: $(head -c 120 "$T/v$k.err" | tr '\n' ' ')"
				continue ;;
			esac
			if [ "$(v "V${k}_NAME")" = version ]; then
				printf '%-58s %8s %8s %8s %8s %8s\n' "$(v "V${k}_LABEL")" \
				    - - "$(v "V${k}W_50")" \
				    "$(added "$(v "V${k}W_50")" "$BPW_50")" -
				continue
			fi
			printf '%-58s %8s %8s %8s %8s %8s\n' "$(v "V${k}_LABEL")" \
			    "$(v "V${k}S_50")" "$(v "V${k}S_99")" "$(v "V${k}W_50")" \
			    "$(added "$(v "V${k}S_50")" "$BPS_50")" \
			    "$(added "$V1S_50" "$(v "V${k}S_50")")"
		done
	fi
	echo
	echo "The target (under $((TARGET_US / 1000)) ms p50 added at the start, this machine): a. $ADD_A ms: $(met "$ADD_A"); b. (raw) $ADD_B ms: $(met "$ADD_B")"
}

if [ -n "$BENCH_JSON" ]; then
	{
		printf '{"n":%d,"rounds":%d,"rt":%s,"uid":%d,"target_p50_added_ms":%s,"load_start":"%s","load_end":"%s",' \
		    "$N" "$ROUNDS" "$([ ${#RT[@]} = 0 ] && echo false || echo true)" \
		    "$(id -u)" "$((TARGET_US / 1000))" "$LOAD_START" "$LOAD_END"
		printf '"daemons":{"plain":{"start_p50_ms":%s,"start_p99_ms":%s,"turnaround_p50_ms":%s,"turnaround_p99_ms":%s},' \
		    "$ApS_50" "$ApS_99" "$ApT_50" "$ApT_99"
		printf '"sandbox":{"start_p50_ms":%s,"start_p99_ms":%s,"turnaround_p50_ms":%s,"turnaround_p99_ms":%s},"added_p50_ms":%s,"met":%s},' \
		    "$AsS_50" "$AsS_99" "$AsT_50" "$AsT_99" "$ADD_A" \
		    "$([ "$(met "$ADD_A")" = met ] && echo true || echo false)"
		printf '"raw":{"plain":{"start_p50_ms":%s,"start_p99_ms":%s,"whole_p50_ms":%s},"variants":{' \
		    "$BPS_50" "$BPS_99" "$BPW_50"
		sep=
		for ((k = 1; k <= NV; k++)); do
			case " $VFAIL " in *" $k "*) continue ;; esac
			if [ "$(v "V${k}_NAME")" = version ]; then
				printf '%s"version":{"whole_p50_ms":%s}' "$sep" "$(v "V${k}W_50")"
				sep=,
				continue
			fi
			printf '%s"%s":{"start_p50_ms":%s,"start_p99_ms":%s,"whole_p50_ms":%s}' "$sep" \
			    "$(v "V${k}_NAME")" "$(v "V${k}S_50")" "$(v "V${k}S_99")" "$(v "V${k}W_50")"
			sep=,
		done
		printf '},"added_p50_ms":%s}}\n' "$ADD_B"
	} >"$BENCH_JSON"
	say "bench: figures written to $BENCH_JSON"
fi
