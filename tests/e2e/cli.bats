#!/usr/bin/env bats
# cli: the wf front door: wf init (private modes), wf queue status/list/
# show (JSON that parses; a waiting job's position), retry, wait, purge,
# git-style wf X, unknown commands, and --help of every program.

load helpers

setup() { wf_setup; }
teardown() { wf_teardown; }

@test "wf init DIR makes the whole tree, every directory mode 0700" {
	d="$BATS_TEST_TMPDIR/tree"
	run sh -c "umask 000 && '$B/wf' init '$d'"
	[ "$status" -eq 0 ]
	for p in queue/1-critical/tmp queue/1-critical/new queue/2-high/tmp \
	    queue/2-high/new queue/3-normal/tmp queue/3-normal/new \
	    queue/4-low/tmp queue/4-low/new active deferred done failed \
	    cancelled output corrupt ctl/tmp ctl/new; do
		[ -d "$d/$p" ] || { echo "no $p" >&2; false; }
	done
	[ "$(stat -c %a "$d")" = 700 ]
	run find "$d" -type d ! -perm 0700
	[ "$status" -eq 0 ]
	[ -z "$output" ]
	# Again on the same tree: nothing to do, still fine.
	run "$B/wf" init "$d"
	[ "$status" -eq 0 ]
}

@test "wf queue status --json and list --json print JSON that parses" {
	low=$(enqueue -p low -- true)
	high=$(enqueue -p high -- sh -c 'exit 0')
	run "$B/wf" queue status --json
	[ "$status" -eq 0 ]
	json_ok <<<"$output"
	[[ "$output" == *'"low":1'* ]]
	[[ "$output" == *'"high":1'* ]]
	[[ "$output" == *'"pending":2'* ]]

	run "$B/wf" queue list --json
	[ "$status" -eq 0 ]
	# One array of the records, in the order they were enqueued.
	[ "${#lines[@]}" -eq 1 ]
	json_ok <<<"$output"
	[ "$(jq -r '.[0].id' <<<"$output")" = "$low" ]
	[ "$(jq -r '.[1].id' <<<"$output")" = "$high" ]
	[ "$(jq length <<<"$output")" -eq 2 ]

	start_dispatch
	wait_job "$low"
	wait_job "$high"
	run "$B/wf" queue status --json
	[ "$status" -eq 0 ]
	json_ok <<<"$output"
	[[ "$output" == *'"completed":2'* ]]
	run "$B/wf" queue list --status completed --json
	[ "$status" -eq 0 ]
	[ "$(jq '[.[] | select(.status == "completed")] | length' <<<"$output")" -eq 2 ]
	# None matches: an empty array, and no error.
	run --separate-stderr "$B/wf" queue list --status failed --json
	echo "list --status failed: $status, stderr: $stderr"
	[ "$status" -eq 0 ]
	[ "$output" = "[]" ]
	[ -z "$stderr" ]
}

# position ID: a waiting job's position, from wf queue show --json
position() {
	local s
	s=$("$B/wf" queue show --json "$1") || return 1
	[[ $s =~ \"position\":([0-9]+) ]] || return 1
	echo "${BASH_REMATCH[1]}"
}

@test "wf queue show: a waiting job's position in its lane" {
	a=$(enqueue -p low -- true)
	b=$(enqueue -p low -- true)
	c=$(enqueue -p low -- true)
	[ "$(position "$a")" -eq 1 ]
	[ "$(position "$b")" -eq 2 ]
	[ "$(position "$c")" -eq 3 ]
	# A NORMAL job goes ahead of every LOW one.
	n=$(enqueue -p normal -- true)
	[ "$(position "$n")" -eq 1 ]
	[ "$(position "$a")" -eq 2 ]
	[ "$(position "$c")" -eq 4 ]
	run "$B/wf" queue show "$b"
	[ "$status" -eq 0 ]
	[[ "$output" == *"status"*"pending"* ]]
	# Nothing runs them: a bounded wait gives up with 75.
	run "$B/wf" queue wait --timeout 1 "$a"
	[ "$status" -eq 75 ]
	run --separate-stderr "$B/wf" queue show 1700000000.M000001.nosuchjob
	[ "$status" -ne 0 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
}

@test "wf queue retry puts a failed job back, and it runs again" {
	start_dispatch
	runs="$BATS_TEST_TMPDIR/runs"
	ok="$BATS_TEST_TMPDIR/ok"
	id=$(enqueue -m 1 -- sh -c 'echo run >>"$1"; test -e "$2"' sh "$runs" "$ok")
	run wait_job "$id"
	[ "$status" -eq 1 ]
	ended "$id" failed
	# Only a failed, timed-out or cancelled job is retried.
	done_id=$(enqueue -- true)
	wait_job "$done_id"
	run "$B/wf" queue retry "$done_id"
	[ "$status" -eq 65 ]

	touch "$ok"
	run "$B/wf" queue retry "$id"
	[ "$status" -eq 0 ]
	run wait_job "$id"
	[ "$status" -eq 0 ]
	ended "$id" done
	[ "$(wc -l <"$runs")" -eq 2 ]
	[ "$(jget "$WF_HOME/done/$id" attempt)" -eq 1 ]
	[ "$(grep -c -- '--- wf: attempt' "$WF_HOME/output/$id.log")" -eq 2 ]
}

@test "wf queue purge --older-than removes old terminal records and their logs, delivered events and applied reports; never dead deliveries" {
	for d in events/cur reports/cur events/dead; do
		echo '{}' >"$WF_HOME/$d/1795000000.M1P1Q1"
		touch -d '1 hour ago' "$WF_HOME/$d/1795000000.M1P1Q1"
	done
	start_dispatch
	old_ok=$(enqueue -- echo old)
	old_bad=$(enqueue -m 1 -- false)
	wait_job "$old_ok" || true
	wait_job "$old_bad" || true
	ended "$old_ok" done
	ended "$old_bad" failed
	[ -f "$WF_HOME/output/$old_ok.log" ]
	# Record times are whole seconds: the old ones end up more than 3 s
	# old, the new one less than 2 s (a margin for a slow ASan build).
	sleep 3
	new=$(enqueue -- echo new)
	wait_job "$new"
	ended "$new" done

	echo '{}' >"$WF_HOME/events/cur/1795000001.M1P1Q1"
	run "$B/wf" queue purge --older-than 2s --dry-run
	[ "$status" -eq 0 ]
	[[ "$output" == *"done/$old_ok"* ]]
	[[ "$output" == *"failed/$old_bad"* ]]
	[[ "$output" != *"$new"* ]]
	[ -f "$WF_HOME/done/$old_ok" ]

	run "$B/wf" queue purge --older-than 2s
	[ "$status" -eq 0 ]
	[ -z "$(where "$old_ok")" ]
	[ -z "$(where "$old_bad")" ]
	[ ! -e "$WF_HOME/output/$old_ok.log" ]
	[ ! -e "$WF_HOME/output/$old_bad.log" ]
	[ -f "$WF_HOME/done/$new" ]
	[ -f "$WF_HOME/output/$new.log" ]
	echo "$output"
	[[ "$output" == "purged 2 jobs, 1 event, 1 report older than 2s" ]]
	[ ! -e "$WF_HOME/events/cur/1795000000.M1P1Q1" ]
	[ ! -e "$WF_HOME/reports/cur/1795000000.M1P1Q1" ]
	[ -e "$WF_HOME/events/cur/1795000001.M1P1Q1" ]
	[ -e "$WF_HOME/events/dead/1795000000.M1P1Q1" ]
	run "$B/wf" queue purge
	[ "$status" -eq 64 ]
}

@test "wf X runs wf-X (git-style); an unknown command exits 64" {
	run --separate-stderr "$B/wf" nosuchcmd
	[ "$status" -eq 64 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	run --separate-stderr "$B/wf" queue nosuchverb
	[ "$status" -eq 64 ]

	run "$B/wf" enqueue -- true
	[ "$status" -eq 0 ]
	id=$output
	[ -f "$WF_HOME/queue/3-normal/new/$id" ]
	[ "$(jget "$WF_HOME/queue/3-normal/new/$id" job_type)" = command ]
	grep -q '"argv":\["true"\]' "$WF_HOME/queue/3-normal/new/$id"
}

@test "--help of every program exits 0 and prints its usage on stdout" {
	for cmd in "wf --help" "wf init --help" "wf up --help" "wf queue --help" \
	    "wf-enqueue --help" "wf-dispatch --help" "wf-agent --help"; do
		set -- $cmd
		p=$1
		shift
		run --separate-stderr "$B/$p" "$@"
		echo "$cmd: $status" >&2
		[ "$status" -eq 0 ]
		[[ "$output" == *usage:* ]]
		[ -z "$stderr" ]
	done
	# And any other wf-* program built.
	for p in "$B"/wf-*; do
		run --separate-stderr "$p" --help
		echo "$p --help: $status" >&2
		[ "$status" -eq 0 ]
		[[ "$output" == *usage:* ]]
	done
}

@test "every --help works anywhere: no runtime tree, no config, in any position" {
	local v n=0
	export WF_HOME=/nonexistent/home WF_CONFIG=/nonexistent/wf.ini
	while read -r v; do
		# shellcheck disable=SC2086
		run --separate-stderr "$B/wf" $v --help
		if [ "$status" -ne 0 ] || [[ "$output" != *usage:* ]]; then
			echo "wf $v --help: $status: $stderr" >&2
			return 1
		fi
		n=$((n + 1))
	done <<'VERBS'
init
up
queue
queue status
queue list
queue show
queue cancel
queue retry
queue wait
queue purge
project
project create
project list
project show
project update
project delete
project context
task create
bug list
env create
run
run create
run list
run show
run report
run advance
run retry
run reset-to-dev
run approve-deploy
run set-state
run budget
run pm
pipeline
board
log
discover
cred
cred add
cred list
cred get
cred rm
cred rotate-key
webhook
webhook create
webhook list
webhook deliveries
webhook redeliver
token
token add
token list
token rm
VERBS
	[ "$n" -ge 50 ]
	# the flag after an operand too
	run -0 "$B/wf" token add somename --help
	[[ "$output" == *"usage: wf token add NAME"* ]]
	run -0 "$B/wf" queue show 1796686465.M --help
	[[ "$output" == *usage:* ]]
	for p in wf-enqueue wf-dispatch wf-agent wf-gate wf-notify wf-httpd; do
		run -0 "$B/$p" --help
		[[ "$output" == *usage:* ]]
	done
	# and no tree was made by asking
	[ ! -e /nonexistent ]
}

@test "a unique prefix of a job id is taken wherever an id is; an ambiguous one names the matches" {
	a=$(enqueue -p low -- true)
	b=$(enqueue -p low -- sleep 30)
	[ "${#a}" -ge 30 ]
	# a unique prefix: the whole id but its last characters
	run -0 "$B/wf" queue show "${a:0:${#a}-4}" --json
	[ "$(jq -r .id <<<"$output")" = "$a" ]
	# the first five characters are both jobs'
	run -64 --separate-stderr "$B/wf" queue show "${a:0:5}"
	[[ $stderr == *"ambiguous, 2 jobs"* ]]
	[[ $stderr == *"$a"* && $stderr == *"$b"* ]]
	run -66 --separate-stderr "$B/wf" queue show 0000
	[[ $stderr == *"0000: no such job"* ]]
	# cancel and wait take it too
	start_dispatch
	run -0 "$B/wf" queue cancel "${b:0:${#b}-3}"
	[[ $output == "$b "* ]]
	run -0 "$B/wf" queue wait --timeout "$(slow 20)" "${a:0:${#a}-2}"
	[ "$output" = "$a completed" ]
	# the API too: GET /api/queue/jobs/{job}
	start_httpd
	run -0 curl -s "$HTTPD_URL/api/queue/jobs/${a:0:${#a}-4}"
	[ "$(jq -r .id <<<"$output")" = "$a" ]
	run -0 curl -s -o /dev/null -w '%{http_code}' "$HTTPD_URL/api/queue/jobs/${a:0:5}"
	[ "$output" = 409 ]
	stop_httpd
}
