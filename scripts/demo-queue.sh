#!/bin/sh
# demo-queue.sh: the queue alone (make demo-queue).  Start the daemons
# (wf up) on the checkout's spool/, run a batch of jobs of mixed
# priorities through them, show progress as they finish, and the outcome.
set -eu
B=${WF_BIN:?WF_BIN must name the directory of the built programs}
export WF_BINDIR="$B"
: "${WF_HOME:=$(cd "$(dirname "$0")/.." && pwd)/spool}"
export WF_HOME
"$B/wf" init >/dev/null

"$B/wf" up 2>"$WF_HOME/up.log" &
up=$!
trap 'kill $up 2>/dev/null; wait $up 2>/dev/null || true' EXIT INT TERM

echo "== wf demo: daemons up on $WF_HOME (log: $WF_HOME/up.log)"
ids=
for i in 1 2 3 4; do
	ids="$ids $("$B/wf-enqueue" -p low -- sh -c "sleep 0.3; echo low job $i")"
done
for i in 1 2 3; do
	ids="$ids $("$B/wf-enqueue" -p normal -- sh -c "sleep 0.2; echo normal job $i")"
done
ids="$ids $("$B/wf-enqueue" -p high -- sh -c 'echo high job; ls /')"
ids="$ids $("$B/wf-enqueue" -p critical -- sh -c 'echo critical job; date -u')"
ids="$ids $("$B/wf-enqueue" -p normal -m 2 -- sh -c 'echo this one fails >&2; exit 3')"
ids="$ids $("$B/wf-enqueue" -p high -T 1 -m 1 -- sleep 30)"
echo "== enqueued $(echo $ids | wc -w) jobs (low x4, normal x3, high, critical,"
echo "   one that fails and is retried, one that times out)"
"$B/wf" queue status

for id in $ids; do
	st=$("$B/wf" queue wait "$id" || true)
	echo "   done: $st"
done
echo "== outcome"
"$B/wf" queue list | awk 'NR == 1 || /completed|failed|timeout/' | cut -c1-110
"$B/wf" queue status
