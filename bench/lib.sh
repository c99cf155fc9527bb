# lib.sh: what the benches share (sourced by bench/*.sh, bash).  The
# caller defines die, T, WFB and WF_BIN.
#   stop_dispatch [TICKS]: stop the wf-dispatch of $DPID: SIGTERM drains
#   (a running job gets its grace), waiting up to TICKS x 10 ms (100); a
#   second SIGTERM stops that wait at once (a job goes back to its
#   queue), 5 s more; then SIGKILL.  Reaps $HPID, clears both.
#   start_dispatch HOME CONFIG TAG: start wf-dispatch on HOME through
#   wfb's start (in $T, $WFB, $WF_BIN of the caller) and wait for its
#   ready line: DPID, HPID, and what wfb measured, RES_T0 RES_T1 RES_RSS
#   RES_HWM.

start_dispatch() {
	local res=$T/$3.res i
	rm -f "$res"
	WF_HOME=$1 WF_CONFIG=$2 WF_BINDIR=$WF_BIN \
	    "$WFB" start "$T/$3.log" "$res" -- "$WF_BIN/wf-dispatch" &
	HPID=$!
	for ((i = 0; i < 6000; i++)); do
		[ -s "$res" ] && break
		kill -0 "$HPID" 2>/dev/null || break
		sleep 0.005
	done
	[ -s "$res" ] || die "wf-dispatch did not get ready; its log: $(cat "$T/$3.log")"
	read -r DPID RES_T0 RES_T1 RES_RSS RES_HWM <"$res"
	[ "$RES_T1" != 0 ] || die "wf-dispatch exited before ready: $(cat "$T/$3.log")"
}

stop_dispatch() {
	[ -n "$DPID" ] || return 0
	local i
	kill -TERM "$DPID" 2>/dev/null || true
	for ((i = 0; i < ${1:-100}; i++)); do
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.01
	done
	kill -TERM "$DPID" 2>/dev/null || true
	for ((i = 0; i < 500; i++)); do
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.01
	done
	kill -KILL "$DPID" 2>/dev/null || true
	wait "$HPID" 2>/dev/null || true
	HPID='' DPID=''
}
