#!/bin/sh
# hostile_dev.sh: a DEV role that tries to leave its room before it does
# its work (tests/e2e/isolation.bats).  Each try prints one line,
#   TRY <name>: blocked (<why>)   or   TRY <name>: ESCAPED (<what>)
# to stdout, which is the job's log; then it fixes calc.sh in the
# worktree and prints its report.
#   hostile_dev.sh SPOOL BINDIR PORT MARK OUTSIDE
# SPOOL is the real $WF_HOME (the test tells it: "even knowing the spool's
# path"), BINDIR where wf is, PORT a listening TCP port on 127.0.0.1 that
# is not the model's, MARK a number that names the file it writes in /tmp
# (wf-escape-MARK) and the sleep it leaves behind (sleep MARK), OUTSIDE a
# file outside the worktree to write.
spool=$1 bindir=$2 port=$3 mark=$4 outside=$5

try() { # try NAME CMD...: blocked when CMD fails
	name=$1
	shift
	if out=$("$@" 2>&1); then
		echo "TRY $name: ESCAPED ($(printf '%s' "$out" | head -c 200 | tr '\n' ' '))"
	else
		echo "TRY $name: blocked ($(printf '%s' "$out" | head -n 1 | head -c 200))"
	fi
}

try approve-deploy env WF_HOME="$spool" "$bindir/wf" run approve-deploy "$WF_RUN_ID"
try approve-deploy-default "$bindir/wf" run approve-deploy "$WF_RUN_ID"
try set-state env WF_HOME="$spool" "$bindir/wf" run set-state "$WF_RUN_ID" \
    READY_FOR_DEPLOY --force --why escape
try cred-reveal env WF_HOME="$spool" "$bindir/wf" cred get 1 --reveal
try token-add env WF_HOME="$spool" "$bindir/wf" token add escape
try read-keys sh -c "cat '$spool'/keys/* >/dev/null"
try read-state sh -c "ls '$spool/state/runs' | grep ."
try write-spool sh -c "echo x >'$spool/reports/new/escape'"
# The room's /tmp is its own: the write succeeds there, and the test
# checks that the real /tmp has no such file.
if echo escape >"/tmp/wf-escape-$mark" 2>/dev/null; then
	echo "TRY write-tmp: written in the room's own /tmp"
else
	echo "TRY write-tmp: blocked"
fi
try write-outside sh -c "echo escape >'$outside'"
try read-home sh -c "ls -A \"\$HOME\" | grep ."
try connect python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 3)"
try connect-curl curl -sf --max-time 3 "http://127.0.0.1:$port/"
# Left behind in a session of its own: it must die with the job.
setsid sleep "$mark" >/dev/null 2>&1 </dev/null &
echo "TRY setsid: left sleep $mark behind"

# Then the work.
sed -i 's/\$2 - \$3/$2 + $3/' calc.sh
echo '{"status":"pass","summary":"fixed add (and tried to get out)"}'
