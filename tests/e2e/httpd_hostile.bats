#!/usr/bin/env bats
# httpd_hostile: wf-httpd against clients that hold connections (idle
# keep-alives, heads trickled a byte a second) and Host headers made to
# pass for loopback; the probes beside them are timed by
# tests/helpers/slowclients.py, which prints its figures as JSON.

load helpers

setup() {
	wf_setup
	HTTPD_PID=
	SLOW="$BATS_TEST_DIRNAME/../helpers/slowclients.py"
}

teardown() {
	local rc=0
	if [ -n "${HTTPD_PID:-}" ] && ! alive "$HTTPD_PID"; then
		echo "wf-httpd (pid $HTTPD_PID) died" >&2
		rc=1
	fi
	stop_httpd
	kill_strays
	sanitizer_check || rc=1
	[ $rc -eq 0 ] || tail -n 20 "$BATS_TEST_TMPDIR/httpd.log" >&2
	return $rc
}

# raw TEXT: TEXT sent as it is on a new connection; the reply in $output
raw() {
	run timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$1 &&
	    printf "%b" "$2" >&3 && cat <&3' raw "$HTTPD_PORT" "$1"
}

@test "100 idle keep-alives and 300 trickled heads: every probe answered, p99 under 50 ms, during and after" {
	wf_config '[httpd]' 'head_timeout = 8s' 'idle_timeout = 8s'
	start_httpd
	run python3 "$SLOW" "$HTTPD_PORT" --idle 100 --slow 300 --probes 200 \
	    --hold 5 --after 6
	[ "$status" -eq 0 ]
	echo "$output" >&2
	j=$output
	# all 400 were taken and held while the probes ran ...
	[ "$(jq .opened <<<"$j")" -eq 400 ]
	[ "$(jq .refused <<<"$j")" -eq 0 ]
	[ "$(jq .closed_during <<<"$j")" -eq 0 ]
	# ... and freed by their deadlines after
	[ "$(jq .closed_after <<<"$j")" -eq 400 ]
	for phase in during after; do
		[ "$(jq ".$phase.answered" <<<"$j")" -eq 200 ]
		[ "$(jq ".$phase.failed" <<<"$j")" -eq 0 ]
		jq -e ".$phase.p99_ms < $(slow 50)" <<<"$j"
	done
}

@test "connection_limit full of idle clients: they are timed out, and it accepts again without a signal" {
	wf_config '[httpd]' 'connection_limit = 16' 'idle_timeout = 1s' \
	    'head_timeout = 1s'
	start_httpd
	# 16 idle and 16 more trickling: the limit is full the whole time
	run python3 "$SLOW" "$HTTPD_PORT" --idle 16 --slow 16 --probes 10 \
	    --hold 0.2 --after "$(slow 3)"
	[ "$status" -eq 0 ]
	echo "$output" >&2
	[ "$(jq .after.answered <<<"$output")" -eq 10 ]
	[ "$(jq .closed_after <<<"$output")" -ge 16 ]
	run curl -s -o /dev/null -w '%{http_code}' "$HTTPD_URL/api/health"
	[ "$output" = 200 ]
}

@test "per_ip_limit: one address's connections past its bound are refused, another address is served" {
	wf_config '[httpd]' 'per_ip_limit = 8' 'head_timeout = 10s'
	start_httpd
	run python3 "$SLOW" "$HTTPD_PORT" --idle 0 --slow 20 --probes 20 \
	    --hold 1 --probe-from 127.0.0.2
	[ "$status" -eq 0 ]
	echo "$output" >&2
	# 8 held; the 12 over the bound closed at once
	[ "$(jq .closed_during <<<"$output")" -eq 12 ]
	[ "$(jq .during.answered <<<"$output")" -eq 20 ]
}

@test "Host: checked whole (name and this port), and two Host headers refused" {
	wf_config
	start_httpd
	for h in "127.0.0.1:80@evil.example" "127.0.0.1:$HTTPD_PORT@evil" \
	    "127.0.0.1:" "127.0.0.1:1$HTTPD_PORT" "localhost:$HTTPD_PORT " \
	    "127.0.0.1:+$HTTPD_PORT" "[::1]:$HTTPD_PORT/x"; do
		run curl -s -o /dev/null -w '%{http_code}' -H "Host: $h" \
		    "$HTTPD_URL/api/health"
		echo "$h: $output" >&2
		[ "$output" = 403 ]
	done
	raw "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:$HTTPD_PORT\r\nConnection: close\r\n\r\n"
	[[ "$output" == "HTTP/1.1 200"* ]]
	raw "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:$HTTPD_PORT\r\nHost: evil.example\r\nConnection: close\r\n\r\n"
	[[ "$output" == "HTTP/1.1 400"* ]]
	[[ "$output" == *'"error":"Host: more than one"'* ]]
	raw "GET /api/health HTTP/1.1\r\nHost: evil.example\r\nhost: 127.0.0.1\r\nConnection: close\r\n\r\n"
	[[ "$output" == "HTTP/1.1 400"* ]]
}

@test "[httpd] limits and time-outs: a bad value is refused at start (78)" {
	for kv in 'connection_limit = 0' 'per_ip_limit = lots' \
	    'head_timeout = 0' 'body_timeout = 2d' 'idle_timeout = 50ms'; do
		wf_config '[httpd]' "$kv"
		run -78 "$B/wf-httpd" -l 127.0.0.1:0
		echo "$kv: $output" >&2
		[[ "$output" == *"${kv%% *}"* ]]
	done
}
