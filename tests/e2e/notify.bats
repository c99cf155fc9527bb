#!/usr/bin/env bats
# notify: wf-notify and wf webhook end to end, against a receiver on
# 127.0.0.1 (tests/helpers/webhook_recv.py) that checks both signatures
# with the webhook's secret: deliveries signed both ways, 500s retried
# then received with one webhook-id, a 429's Retry-After honoured, dead
# letters listed and redelivered, a 410 turning a webhook off, hooks fed
# the event, a kill -9 losing nothing, subscriptions by glob and by the
# seed's underscore names, a receiver that never answers holding back no
# other webhook (unless [notify] parallel = 1; one attempt in flight a
# webhook), and the attempt log's rotation at [notify] log_max.

load helpers

SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

setup() {
	wf_setup
	wf_config '[notify]' 'backoff_base = 200ms' 'backoff_max = 1s' \
	    'max_attempts = 3' 'timeout = 5' 'hook_timeout = 2'
	R=$BATS_TEST_TMPDIR
	printf '%s\n' "$SECRET" >"$R/secret"
	: >"$R/out.jsonl"
	echo 200 >"$R/mode"
	RECV_PID=
	HUNG_PID=
	NOTIFY_PID=
}

teardown() {
	stop_notify
	[ -z "$RECV_PID" ] || kill "$RECV_PID" 2>/dev/null || true
	[ -z "$HUNG_PID" ] || kill "$HUNG_PID" 2>/dev/null || true
	wf_teardown
}

start_recv() {
	"$PY" "$BATS_TEST_DIRNAME/../helpers/webhook_recv.py" "$R/secret" \
	    "$R/out.jsonl" "$R/mode" >"$R/port" 2>"$R/recv.err" &
	RECV_PID=$!
	wait_until 10 test -s "$R/port"
	PORT=$(<"$R/port")
	URL=http://127.0.0.1:$PORT/hook
}

# start_hung: a second receiver that takes each request and never answers;
# its requests go to $R/hung.jsonl, its URL to $HUNG_URL
start_hung() {
	echo never >"$R/mode.hung"
	: >"$R/hung.jsonl"
	"$PY" "$BATS_TEST_DIRNAME/../helpers/webhook_recv.py" "$R/secret" \
	    "$R/hung.jsonl" "$R/mode.hung" >"$R/port.hung" 2>"$R/hung.err" &
	HUNG_PID=$!
	wait_until 10 test -s "$R/port.hung"
	HUNG_URL=http://127.0.0.1:$(<"$R/port.hung")/hook
}

start_notify() {
	local log="$R/notify.log" n
	n=$(grep -c 'ready:' "$log" 2>/dev/null) || n=0
	"$B/wf-notify" -v >>"$log" 2>&1 3>&- &
	NOTIFY_PID=$!
	wait_until "$(slow 10)" ready_more "$n" || {
		cat "$log" >&2
		return 1
	}
}
ready_more() { [ "$(grep -c 'ready:' "$R/notify.log")" -gt "$1" ]; }

stop_notify() {
	[ -n "$NOTIFY_PID" ] || return 0
	kill -TERM "$NOTIFY_PID" 2>/dev/null || true
	wait_until 5 gone "$NOTIFY_PID" || kill -KILL "$NOTIFY_PID" 2>/dev/null || true
	wait "$NOTIFY_PID" 2>/dev/null || true
	NOTIFY_PID=
}

# webhook NAME EVENTS: a webhook on the receiver with the test's secret
webhook() {
	"$B/wf" webhook create --name "$1" --url "$URL" --events "$2" \
	    --secret-file "$R/secret"
}

# drop_event NAME PAYLOAD: an event dropped by the maildir protocol
drop_event() {
	local f
	f=$(date +%s).M$RANDOM$RANDOM.test
	printf '{"event":"%s","timestamp":"2026-01-01T00:00:00.000Z","payload":%s}' \
	    "$1" "$2" >"$WF_HOME/events/tmp/$f"
	mv "$WF_HOME/events/tmp/$f" "$WF_HOME/events/new/$f"
	echo "$f"
}

lines() { wc -l <"$R/out.jsonl"; }
lines_ge() { [ "$(lines)" -ge "$1" ]; }

# recv EXPR: evaluate a Python expression over the received requests (r,
# a list of dicts, in arrival order); prints its value
recv() { recv_in "$R/out.jsonl" "$1"; }
recv_in() {
	"$PY" -c 'import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
print(eval(sys.argv[2]))' "$1" "$2"
}

@test "a delivery is signed both ways with the secret wf made; show hides it" {
	start_recv
	run "$B/wf" webhook create --name made --url "$URL"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 1 ]
	[[ "${lines[1]}" == "secret: whsec_"* ]]
	printf '%s\n' "${lines[1]#secret: }" >"$R/secret"
	# Sealed at rest: the secret is nowhere in the store.
	run grep -rqF "${lines[1]#secret: }" "$WF_HOME/state"
	[ "$status" -eq 1 ]
	run "$B/wf" webhook show 1 --json
	[ "$status" -eq 0 ]
	[[ "$output" != *whsec_* ]]
	[[ "$output" == *'"has_secret":true'* ]]
	run "$B/wf" webhook show 1 --reveal-secret
	[[ "$output" == *"$(<"$R/secret")"* ]]

	start_notify
	run "$B/wf" bug create --title boom
	[ "$status" -eq 0 ]
	wait_until "$(slow 10)" lines_ge 1
	[ "$(recv 'r[0]["std_ok"] and r[0]["seed_ok"] and r[0]["ts_ok"]')" = True ]
	[ "$(recv 'json.loads(r[0]["body"])["event"]')" = bug.created ]
	[ "$(recv 'json.loads(r[0]["body"])["payload"]["title"]')" = boom ]
	[[ "$(recv 'r[0]["headers"]["user-agent"]')" == wf-notify/* ]]
	[ "$(recv 'r[0]["headers"]["content-type"]')" = application/json ]
	[[ "$(recv 'r[0]["headers"]["webhook-id"]')" == *.w1 ]]
	# The attempt is logged with its status and latency.
	wait_until 5 grep -q '"outcome":"delivered"' "$WF_HOME/log/deliveries.jsonl"
	grep -q '"status":200,"latency_ms":' "$WF_HOME/log/deliveries.jsonl"

	# wf webhook test: synchronous, signed the same way.
	run "$B/wf" webhook test 1
	[ "$status" -eq 0 ]
	[[ "$output" == *"HTTP 200"* ]]
	[ "$(recv 'json.loads(r[-1]["body"])["event"]')" = webhook.test ]
	[ "$(recv 'r[-1]["std_ok"] and r[-1]["seed_ok"]')" = True ]
	# A wrong secret on the receiver's side is noticed (the check can
	# fail).
	echo whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA >"$R/secret"
	run "$B/wf" webhook test 1
	[ "$(recv 'r[-1]["std_ok"] or r[-1]["seed_ok"]')" = False ]
}

@test "500s are retried with back-off, then received, under one webhook-id" {
	start_recv
	echo 'fail 500 2' >"$R/mode"
	webhook h 'run.*'
	start_notify
	drop_event run.state_changed '{"run_id":1,"from_state":"PM","to_state":"DEV"}'
	wait_until "$(slow 15)" lines_ge 3
	[ "$(recv '[x["status"] for x in r]')" = "[500, 500, 200]" ]
	[ "$(recv 'len({x["headers"]["webhook-id"] for x in r})')" = 1 ]
	[ "$(recv 'all(x["std_ok"] and x["seed_ok"] for x in r)')" = True ]
	# Backed off: not all at once.
	[ "$(recv 'r[2]["t"] - r[0]["t"] >= 0.2')" = True ]
	wait_until 5 grep -q '"outcome":"delivered"' "$WF_HOME/log/deliveries.jsonl"
	[ "$(grep -c '"outcome":"retry"' "$WF_HOME/log/deliveries.jsonl")" -eq 2 ]
	[ "$(count events/deferred)" -eq 0 ]
	[ "$(count events/dead)" -eq 0 ]
	sleep 0.5
	[ "$(lines)" -eq 3 ]
}

@test "a 429's Retry-After is honoured" {
	start_recv
	echo 'retry-after 2' >"$R/mode"
	webhook h '*'
	start_notify
	drop_event job.failed '{"job_id":"x"}'
	wait_until "$(slow 15)" lines_ge 2
	[ "$(recv '[x["status"] for x in r]')" = "[429, 200]" ]
	# backoff_base is 200 ms: only the header explains the wait.
	[ "$(recv 'r[1]["t"] - r[0]["t"] >= 2.0')" = True ]
	grep -q '"retry_after":2' "$WF_HOME/log/deliveries.jsonl"
}

@test "after max_attempts a delivery is dead; deliveries lists it; redeliver sends it" {
	start_recv
	echo 'always 500' >"$R/mode"
	webhook h '*'
	start_notify
	ev=$(drop_event bug.created '{"id":7}')
	wait_until "$(slow 15)" count_ge events/dead 1
	[ "$(lines)" -eq 3 ]
	run "$B/wf" webhook deliveries --dead
	[ "$status" -eq 0 ]
	[[ "$output" == *"$ev.w1"*"HTTP 500"* ]]
	run "$B/wf" webhook deliveries 1 --dead --json
	[[ "$output" == *"\"id\":\"$ev.w1\""* ]]
	printf '%s' "$output" | json_ok
	run "$B/wf" webhook deliveries 1 --json
	[ "$(printf '%s' "$output" | "$PY" -c 'import json,sys; print([x["outcome"] for x in json.load(sys.stdin)])')" = "['retry', 'retry', 'dead']" ]

	echo 200 >"$R/mode"
	run "$B/wf" webhook redeliver "$ev.w1"
	[ "$status" -eq 0 ]
	wait_until "$(slow 10)" lines_ge 4
	[ "$(recv 'r[3]["status"]')" = 200 ]
	[ "$(recv 'r[3]["headers"]["webhook-id"] == r[0]["headers"]["webhook-id"]')" = True ]
	[ "$(count events/dead)" -eq 0 ]
	run "$B/wf" webhook redeliver "$ev.w1"
	[ "$status" -eq 66 ]
}

@test "a 410 turns the webhook off and stops its deliveries" {
	start_recv
	echo 'always 410' >"$R/mode"
	webhook h '*'
	start_notify
	drop_event bug.created '{"id":1}'
	wait_until "$(slow 10)" count_ge events/dead 1
	run "$B/wf" webhook show 1 --json
	[[ "$output" == *'"active":false'* ]]
	[[ "$output" == *'"disabled_reason":"HTTP 410 Gone'* ]]
	[ "$(lines)" -eq 1 ]
	drop_event bug.created '{"id":2}'
	wait_until 5 count_ge events/cur 2
	sleep 0.5
	[ "$(lines)" -eq 1 ]
	# Redelivering to a webhook that is off is refused until it is on.
	run "$B/wf" webhook redeliver "$(ls "$WF_HOME/events/dead")"
	[ "$status" -eq 69 ]
	run "$B/wf" webhook update 1 --active
	[ "$status" -eq 0 ]
	run "$B/wf" webhook show 1 --json
	[[ "$output" == *'"active":true'* ]]
	[[ "$output" != *'HTTP 410'* ]]
}

@test "hooks: an executable gets the event on stdin; others are skipped; a hang is killed" {
	mkdir "$R/hooks.d"
	printf '#!/bin/sh\ncat >"%s/hook.out"\necho "$WF_EVENT" >"%s/hook.env"\n' \
	    "$R" "$R" >"$R/hooks.d/10-save"
	printf '#!/bin/sh\ntouch "%s/plain.ran"\n' "$R" >"$R/hooks.d/20-plain"
	printf '#!/bin/sh\ntouch "%s/dot.ran"\n' "$R" >"$R/hooks.d/.30-dot"
	printf '#!/bin/sh\nsleep 30\n' >"$R/hooks.d/40-hang"
	chmod +x "$R/hooks.d/10-save" "$R/hooks.d/.30-dot" "$R/hooks.d/40-hang"
	start_notify
	drop_event run.gate_failed '{"run_id":3,"gate":"qa"}'
	wait_until "$(slow 10)" test -s "$R/hook.out"
	run "$PY" -c 'import json,sys; e=json.load(open(sys.argv[1])); print(e["event"], e["payload"]["run_id"])' "$R/hook.out"
	[ "$output" = "run.gate_failed 3" ]
	[ "$(<"$R/hook.env")" = run.gate_failed ]
	wait_until "$(slow 10)" grep -q '"hook":"40-hang".*"timed_out":true' \
	    "$WF_HOME/log/deliveries.jsonl"
	grep -q '"hook":"10-save".*"exit":0' "$WF_HOME/log/deliveries.jsonl"
	[ ! -e "$R/plain.ran" ]
	[ ! -e "$R/dot.ran" ]
	run grep -q '"hook":"20-plain"' "$WF_HOME/log/deliveries.jsonl"
	[ "$status" -eq 1 ]
	# Killed at its timeout (2 s), not after its 30 s.
	ms=$(grep '"hook":"40-hang"' "$WF_HOME/log/deliveries.jsonl" |
	    sed 's/.*"latency_ms":\([0-9]*\).*/\1/')
	[ "$ms" -ge 1900 ] && [ "$ms" -lt 10000 ]
	[ "$(count events/deferred)" -eq 0 ]
}

@test "kill -9 mid-way loses nothing: after a restart each delivery arrives, once per webhook-id but those in flight" {
	start_recv
	echo 'hang 1' >"$R/mode"
	webhook a '*'
	webhook b 'bug.*'
	start_notify
	for i in 1 2 3; do drop_event bug.created "{\"id\":$i}" >/dev/null; done
	wait_until "$(slow 10)" lines_ge 1
	kill -KILL "$NOTIFY_PID"
	wait "$NOTIFY_PID" 2>/dev/null || true
	NOTIFY_PID=
	# Events that come while it is down wait in events/new.
	for i in 4 5; do drop_event bug.created "{\"id\":$i}" >/dev/null; done
	echo 200 >"$R/mode"
	start_notify
	want=10
	wait_until "$(slow 20)" eval '[ "$(recv "len({x[\"headers\"][\"webhook-id\"] for x in r})")" -ge $want ]'
	sleep 0.5
	[ "$(recv 'len({x["headers"]["webhook-id"] for x in r})')" -eq 10 ]
	# At most those in flight at the kill came twice: one a webhook.
	[ "$(recv 'len(r) - len({x["headers"]["webhook-id"] for x in r})')" -le 2 ]
	[ "$(count events/new)" -eq 0 ]
	[ "$(count events/deferred)" -eq 0 ]
	[ "$(count events/cur)" -eq 5 ]
}

@test "subscriptions: globs and the seed's names; a real action's event; a bad event goes to corrupt/" {
	start_recv
	webhook alias bug_created   # 1
	webhook runs 'run.*'        # 2
	webhook all '*'             # 3
	"$B/wf" webhook create --name off --url "$URL" --inactive \
	    --secret-file "$R/secret" # 4
	start_notify
	run "$B/wf" bug create --title 'from a real action'
	[ "$status" -eq 0 ]
	drop_event run.state_changed '{"run_id":1}'
	wait_until "$(slow 10)" lines_ge 4
	sleep 0.5
	[ "$(lines)" -eq 4 ]
	[ "$(recv 'sorted(x["headers"]["webhook-id"].split(".w")[1] + ":" + x["headers"]["x-webhook-event"] for x in r)')" = \
	    "['1:bug.created', '2:run.state_changed', '3:bug.created', '3:run.state_changed']" ]
	[ "$(recv 'all(x["std_ok"] and x["seed_ok"] for x in r)')" = True ]

	printf 'not json' >"$WF_HOME/events/tmp/bad"
	mv "$WF_HOME/events/tmp/bad" "$WF_HOME/events/new/bad"
	wait_until 5 test -e "$WF_HOME/corrupt/event-bad.why"
	alive "$NOTIFY_PID"
	run "$B/wf" webhook create --name x --url ftp://x/ --secret-file "$R/secret"
	[ "$status" -eq 65 ]
	run "$B/wf" webhook create --name y --url "$URL" --events 'a/b'
	[ "$status" -eq 64 ]
}

# hung_beside PARALLEL: webhook 1 on a receiver that never answers (a 4 s
# timeout, 2 attempts), webhook 2 on a healthy one, both on one event;
# sets T0 (ms, the event's drop) and OK_MS (ms from it to the healthy
# one's arrival)
hung_beside() {
	wf_config '[notify]' 'backoff_base = 200ms' 'backoff_max = 1s' \
	    'max_attempts = 3' 'timeout = 5' "parallel = $1"
	start_recv
	start_hung
	"$B/wf" webhook create --name hung --url "$HUNG_URL" --events '*' \
	    --secret-file "$R/secret" --timeout 4 --max-attempts 2 >/dev/null
	webhook ok 'bug.*' >/dev/null
	start_notify
	T0=$(now_ms)
	drop_event bug.created '{"id":1}' >/dev/null
	wait_until "$(slow 15)" lines_ge 1
	OK_MS=$(recv "int(r[0]['t'] * 1000) - $T0")
	echo "# parallel = $1: the healthy webhook's delivery came after $OK_MS ms" >&3
}

@test "a receiver that never answers holds back no other webhook" {
	hung_beside 8
	# Well before the hung one's 4 s timeout: less than half of it.
	[ "$OK_MS" -lt 2000 ]
	[ "$(recv 'r[0]["status"] == 200 and r[0]["std_ok"]')" = True ]
	[ "$(recv_in "$R/hung.jsonl" 'len(r)')" -eq 1 ]
	# The hung one is timed out, retried under one webhook-id, then dead.
	wait_until "$(slow 20)" count_ge events/dead 1
	[ "$(recv_in "$R/hung.jsonl" 'len(r)')" -eq 2 ]
	[ "$(recv_in "$R/hung.jsonl" 'len({x["headers"]["webhook-id"] for x in r})')" -eq 1 ]
	[ "$(recv_in "$R/hung.jsonl" 'r[1]["t"] - r[0]["t"] >= 4.0')" = True ]
	[[ "$(ls "$WF_HOME/events/dead")" == *.w1 ]]
	log=$WF_HOME/log/deliveries.jsonl
	[ "$(grep -c '"webhook_id":1,.*"outcome":"retry"' "$log")" -eq 1 ]
	[ "$(grep -c '"webhook_id":1,.*"outcome":"dead"' "$log")" -eq 1 ]
	grep '"webhook_id":1,.*"outcome":"dead"' "$log" | grep -qi 'timed out'
	[ "$(grep -c '"webhook_id":2,.*"outcome":"delivered"' "$log")" -eq 1 ]
	[ "$(lines)" -eq 1 ]
	[ "$(count events/deferred)" -eq 0 ]
}

@test "parallel = 1: one attempt at a time, so the healthy webhook waits" {
	hung_beside 1
	# Behind the hung one's whole 4 s timeout.
	[ "$OK_MS" -ge 3800 ]
	[ "$(recv_in "$R/hung.jsonl" 'len(r)')" -ge 1 ]
	[ "$(recv_in "$R/hung.jsonl" 'r[0]["t"] * 1000 < '"$T0"' + 2000')" = True ]
}

@test "SIGTERM with an attempt in flight: it is sent again after the start, same webhook-id" {
	start_hung
	"$B/wf" webhook create --name hung --url "$HUNG_URL" \
	    --secret-file "$R/secret" --timeout 30 >/dev/null
	start_notify
	drop_event bug.created '{"id":1}' >/dev/null
	wait_until "$(slow 10)" eval '[ "$(recv_in "$R/hung.jsonl" "len(r)")" -ge 1 ]'
	t=$(now_ms)
	stop_notify
	# Stopped at once, not after the 30 s timeout.
	[ $(($(now_ms) - t)) -lt "$(slow 3)000" ]
	grep -q 'left for the next start' "$R/notify.log"
	[ "$(count events/deferred)" -eq 1 ]
	[ ! -e "$WF_HOME/log/deliveries.jsonl" ]
	start_notify
	wait_until "$(slow 10)" eval '[ "$(recv_in "$R/hung.jsonl" "len(r)")" -ge 2 ]'
	[ "$(recv_in "$R/hung.jsonl" 'len({x["headers"]["webhook-id"] for x in r})')" -eq 1 ]
}

@test "deliveries.jsonl past log_max is renamed to .1, never rewritten" {
	wf_config '[notify]' 'log_max = 1024'
	start_recv
	webhook h '*' >/dev/null
	start_notify
	log=$WF_HOME/log/deliveries.jsonl
	for i in 1 2 3; do drop_event bug.created "{\"id\":$i}" >/dev/null; done
	wait_until "$(slow 10)" eval '[ "$(grep -c delivered "$log")" -eq 3 ]'
	[ "$(stat -c %s "$log")" -lt 1024 ]
	ino=$(stat -c %i "$log")
	for i in 4 5 6 7 8; do drop_event bug.created "{\"id\":$i}" >/dev/null; done
	wait_until "$(slow 10)" lines_ge 8
	wait_until 5 eval '[ "$(cat "$log" "$log.1" | grep -c delivered)" -eq 8 ]'
	# The same file, moved: one rename.
	[ "$(stat -c %i "$log.1")" = "$ino" ]
	# It went once past log_max, not before, and the lines after it are
	# in a new file.
	size=$(stat -c %s "$log.1")
	last=$(tail -n 1 "$log.1" | wc -c)
	[ "$size" -gt 1024 ] && [ $((size - last)) -le 1024 ]
	[ "$(stat -c %i "$log")" != "$ino" ]
	size=$(stat -c %s "$log")
	last=$(tail -n 1 "$log" | wc -c)
	[ $((size - last)) -le 1024 ]
	# Every attempt once, whole lines only.
	[ "$(cat "$log.1" "$log" | "$PY" -c 'import json,sys; print(len({json.loads(l)["delivery"] for l in sys.stdin}))')" -eq 8 ]
	# wf webhook deliveries reads both, the older first
	run -0 "$B/wf" webhook deliveries --json
	[ "$(jq length <<<"$output")" -eq 8 ]
	[ "$(jq -c '[.[].delivery]' <<<"$output")" = "$(cat "$log.1" "$log" | jq -sc '[.[].delivery]')" ]
	run -0 "$B/wf" webhook deliveries --json --limit 2
	[ "$(jq -c '[.[].delivery]' <<<"$output")" = "$(cat "$log.1" "$log" | jq -sc '[.[].delivery] | .[-2:]')" ]
}

@test "one attempt at a time per webhook: a hung one's backlog leaves the other slots free" {
	wf_config '[notify]' 'parallel = 2'
	start_recv
	start_hung
	"$B/wf" webhook create --name hung --url "$HUNG_URL" --events '*' \
	    --secret-file "$R/secret" --timeout 4 --max-attempts 1 >/dev/null
	webhook ok 'run.*' >/dev/null
	start_notify
	for i in 1 2 3; do drop_event bug.created "{\"id\":$i}" >/dev/null; done
	wait_until "$(slow 10)" eval '[ "$(recv_in "$R/hung.jsonl" "len(r)")" -ge 1 ]'
	t0=$(now_ms)
	drop_event run.created '{"run_id":1}' >/dev/null
	wait_until "$(slow 15)" lines_ge 1
	ms=$(recv "int(r[0]['t'] * 1000) - $t0")
	[ "$ms" -lt 2000 ]
	# The hung webhook's other three (the run.created one too) wait their
	# turn; the one in flight keeps its file until its attempt ends.
	[ "$(recv_in "$R/hung.jsonl" 'len(r)')" -eq 1 ]
	[ "$(count events/deferred)" -eq 4 ]
}

@test "a delivery's file left in events/tmp by a wf-notify killed between its create and its rename does not hold the event back" {
	# Found by bench/crash.sh: the fan-out of that event failed (File
	# exists, O_EXCL) at every try, and the event stayed in events/new
	# undelivered until some later restart, or for good.
	start_recv
	webhook all '*' >/dev/null
	f=$(date +%s).M$RANDOM$RANDOM.test
	printf '{"half' >"$WF_HOME/events/tmp/$f.w1"
	printf '{"event":"crash.left","timestamp":"2026-01-01T00:00:00.000Z","payload":{}}' \
	    >"$WF_HOME/events/tmp/$f"
	mv "$WF_HOME/events/tmp/$f" "$WF_HOME/events/new/$f"
	start_notify
	wait_until "$(slow 10)" lines_ge 1
	[ "$(recv 'r[0]["headers"]["webhook-id"]')" = "$f.w1" ]
	[ "$(recv 'json.loads(r[0]["body"])["event"]')" = crash.left ]
	[ -e "$WF_HOME/events/cur/$f" ]
	[ ! -e "$WF_HOME/events/tmp/$f.w1" ]
}
