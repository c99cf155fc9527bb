# lib.sh: what the benches share (sourced by bench/*.sh, bash).
#   stop_dispatch [TICKS]: stop the wf-dispatch of $DPID: SIGTERM drains
#   (a running job gets its grace), waiting up to TICKS x 10 ms (100); a
#   second SIGTERM stops that wait at once (a job goes back to its
#   queue), 5 s more; then SIGKILL.  Reaps $HPID, clears both.

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
