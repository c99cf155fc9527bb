#!/usr/bin/env bats
# enqueue: getting jobs in.  The README's maildir drop with no wf program
# (and a drop with only the seed's fields, which gets the defaults);
# wf-enqueue's validation (bad flags and bad JSON exit 65 with one line on
# stderr and write nothing), a missing spool (78), --batch being all or
# nothing, --wait's exit codes, and a full disk (75, nothing half-written).

load helpers

setup() {
	wf_setup
	MNT=
}

teardown() {
	wf_teardown
	if [ -n "$MNT" ] && mountpoint -q "$MNT"; then
		umount "$MNT" || umount -l "$MNT"
	fi
}

@test "the README's 3-line maildir drop, with no wf program, runs" {
	start_dispatch
	# As in README.md, word for word:
	f=$(date +%s).M$$.$(hostname)
	printf '{"job_type":"command","request_data":{"argv":["echo","hi"]}}' > "$WF_HOME/queue/3-normal/tmp/$f"
	mv "$WF_HOME/queue/3-normal/tmp/$f" "$WF_HOME/queue/3-normal/new/$f"

	run wait_job "$f"
	[ "$status" -eq 0 ]
	ended "$f" done
	grep -qx hi "$WF_HOME/output/$f.log"
}

@test "a drop with only the seed's fields gets the defaults" {
	f=$(date +%s).M$$.seed
	printf '{"job_type":"command","request_data":{"argv":["true"]}}' >"$WF_HOME/queue/3-normal/tmp/$f"
	mv "$WF_HOME/queue/3-normal/tmp/$f" "$WF_HOME/queue/3-normal/new/$f"
	start_dispatch
	run wait_job "$f"
	[ "$status" -eq 0 ]
	ended "$f" done
	r="$WF_HOME/done/$f"
	[ "$(jget "$r" id)" = "$f" ]
	[ "$(jget "$r" status)" = completed ]
	[ "$(jget "$r" lane)" = command ]
	[ "$(jget "$r" priority)" -eq 3 ]
	[ "$(jget "$r" timeout)" -eq 300 ]
	[ "$(jget "$r" attempt)" -eq 1 ]
	[ "$(jget "$r" exit_code)" -eq 0 ]
	[ "$(jget "$r" started_at)" != null ]
	[ "$(jget "$r" completed_at)" != null ]
}

# refused WHY ARG...: wf-enqueue ARG... (stdin is the caller's) exits 65
# with one line on stderr, prints nothing, and writes nothing under queue/.
refused() {
	local why=$1
	shift
	run --separate-stderr "$B/wf-enqueue" "$@"
	echo "$why: status $status, stderr: $stderr" >&2
	[ "$status" -eq 65 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[ -z "$(queued)" ]
}

@test "wf-enqueue refuses bad flags: exit 65, one line on stderr, nothing written" {
	refused "unknown type" --type nosuchtype -- true
	refused "priority urgent" --priority urgent -- true
	refused "priority 5" --priority 5 -- true
	refused "timeout 0" --timeout 0 -- true
	refused "max-attempts 0" --max-attempts 0 -- true
}

@test "wf-enqueue refuses bad JSON on stdin: exit 65, one line on stderr, nothing written" {
	refused "unknown field" <<<'{"job_type":"command","request_data":{"argv":["true"]},"colour":"red"}'
	refused "not an object" <<<'["job_type","command"]'
	refused "malformed" <<<'{"job_type":"command",'
	refused "no argv" <<<'{"job_type":"command","request_data":{}}'
	{
		printf '{"job_type":"command","request_data":{"argv":["echo","'
		head -c 1100000 /dev/zero | tr '\0' A
		printf '"]}}'
	} >"$BATS_TEST_TMPDIR/big.json"
	refused "oversized" <"$BATS_TEST_TMPDIR/big.json"
	# refused, not altered: a NUL (escaped or raw), bytes not UTF-8
	refused "escaped NUL" <<<'{"job_type":"command","request_data":{"argv":["echo","a\u0000b"]}}'
	[[ "$stderr" == *"argv: a NUL (\u0000) in a string, refused"* ]]
	printf '{"job_type":"command","request_data":{"argv":["echo","a\0b"]}}' >"$BATS_TEST_TMPDIR/nul.json"
	refused "raw NUL" <"$BATS_TEST_TMPDIR/nul.json"
	[[ "$stderr" == *"argv: a NUL byte in a string, refused"* ]]
	printf '{"job_type":"command","request_data":{"argv":["echo","\377"]}}' >"$BATS_TEST_TMPDIR/bad.json"
	refused "not UTF-8" <"$BATS_TEST_TMPDIR/bad.json"
	[[ "$stderr" == *"argv: not UTF-8 in a string, refused"* ]]
}

@test "wf-enqueue with no spool: exit 78 and a message naming wf init" {
	WF_HOME="$BATS_TEST_TMPDIR/nonexistent" run --separate-stderr "$B/wf-enqueue" -- true
	[ "$status" -eq 78 ]
	[ -z "$output" ]
	[[ "$stderr" == *"wf init"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/nonexistent" ]
}

@test "wf-enqueue --batch with one bad line among good ones queues nothing" {
	good='{"job_type":"command","request_data":{"argv":["true"]}}'
	printf '%s\n' "$good" "$good" '{"job_type":"command","bogus":1}' "$good" \
	    >"$BATS_TEST_TMPDIR/jobs"
	run --separate-stderr "$B/wf-enqueue" --batch <"$BATS_TEST_TMPDIR/jobs"
	[ "$status" -eq 65 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *"line 3"* ]]
	[ -z "$(queued)" ]
	# The same batch without the bad line: all of it.
	printf '%s\n' "$good" "$good" "$good" >"$BATS_TEST_TMPDIR/jobs"
	run "$B/wf-enqueue" --batch <"$BATS_TEST_TMPDIR/jobs"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 3 ]
	[ "$(count queue/3-normal/new)" -eq 3 ]
}

@test "wf-enqueue --wait exits 0 completed, 1 failed, 124 timed out" {
	wf_config '[queue]' 'kill_grace = 1'
	start_dispatch
	run enqueue_wait -- true
	[ "$status" -eq 0 ]
	ended "$output" done
	run enqueue_wait -m 1 -- false
	[ "$status" -eq 1 ]
	ended "$output" failed
	run enqueue_wait -m 1 -T 1 -- sleep 30
	[ "$status" -eq 124 ]
	ended "$output" failed
	[ "$(jget "$WF_HOME/failed/$output" status)" = timeout ]
}

@test "wf-enqueue --wait --json prints the record the job ended with, once" {
	start_dispatch
	run --separate-stderr enqueue_wait --json -- sh -c 'echo hi; exit 3'
	[ "$status" -eq 1 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r .status <<<"$output")" = failed ]
	[ "$(jq -r .exit_code <<<"$output")" -eq 3 ]
	[ "$(jq -r .completed_at <<<"$output")" != null ]
	ended "$(jq -r .id <<<"$output")" failed
	run --separate-stderr enqueue_wait --json -- true
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$(jq -r .status <<<"$output")" = completed ]
	# --json alone is the pending record, printed at once
	run "$B/wf-enqueue" --json -- true
	[ "$(jq -r .status <<<"$output")" = pending ]
}

@test "wf-enqueue --batch --json prints one array of the records" {
	printf '%s\n' '{"job_type":"command","request_data":{"argv":["true"]}}' \
	    '{"job_type":"command","request_data":{"argv":["false"]},"priority":1}' |
	    "$B/wf-enqueue" --batch --json >"$BATS_TEST_TMPDIR/out"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/out")" -eq 1 ]
	[ "$(jq length "$BATS_TEST_TMPDIR/out")" -eq 2 ]
	[ "$(jq -r '.[1].priority' "$BATS_TEST_TMPDIR/out")" -eq 1 ]
	[ "$(jq -r '.[0].status' "$BATS_TEST_TMPDIR/out")" = pending ]
}

# The disk is full: a tiny tmpfs as WF_HOME, filled up (we are root here
# and in CI), or else an LD_PRELOAD shim that fails writes under tmp/.
full_disk() {
	SHIM=
	MNT="$BATS_TEST_TMPDIR/mnt"
	mkdir -p "$MNT"
	if [ -z "${WF_TEST_NO_MOUNT:-}" ] &&
	    mount -t tmpfs -o size=256k,mode=0700 tmpfs "$MNT" 2>/dev/null; then
		export WF_HOME="$MNT/home"
		"$B/wf" init >/dev/null
		dd if=/dev/zero of="$MNT/fill" bs=4096 2>/dev/null || true
		[ "$(df -k --output=avail "$MNT" | tail -n 1)" -eq 0 ]
	else
		MNT=
		SHIM="$BATS_TEST_TMPDIR/enospc.so"
		cc -shared -fPIC -o "$SHIM" "$BATS_TEST_DIRNAME/../helpers/enospc.c" -ldl
	fi
}

# make_room BYTES: free that much of the full disk (nothing for the shim)
make_room() {
	[ -z "$SHIM" ] || return 0
	truncate -s "-$1" "$MNT/fill"
}

# enqueue_full ARG...: wf-enqueue on the full disk (stdin is the caller's)
enqueue_full() {
	if [ -n "$SHIM" ]; then
		LD_PRELOAD=$SHIM ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
		    "$B/wf-enqueue" "$@"
	else
		"$B/wf-enqueue" "$@"
	fi
}

# no_space WHY: the last run exited 75 with one clear line, and nothing
# is queued, whole or half.
no_space() {
	echo "$1: status $status, stderr: $stderr" >&2
	[ "$status" -eq 75 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == *"No space left on device"* ]]
	[ -z "$(queued)" ]
}

@test "a full disk: wf-enqueue exits 75 with a clear error, and leaves no half-written job" {
	full_disk
	run --separate-stderr enqueue_full -- true
	no_space "a small job"

	# Room for the start of a job but not all of it: a short write, then
	# ENOSPC.  The half-written file must not be left anywhere.
	make_room 8192
	{
		printf '{"job_type":"command","request_data":{"argv":["echo","'
		head -c 65536 /dev/zero | tr '\0' A
		printf '"]}}'
	} >"$BATS_TEST_TMPDIR/big.json"
	run --separate-stderr enqueue_full <"$BATS_TEST_TMPDIR/big.json"
	no_space "a job larger than the room left"

	good='{"job_type":"command","request_data":{"argv":["true"]}}'
	printf '%s\n' "$good" "$(cat "$BATS_TEST_TMPDIR/big.json")" "$good" \
	    >"$BATS_TEST_TMPDIR/jobs"
	run --separate-stderr enqueue_full --batch <"$BATS_TEST_TMPDIR/jobs"
	no_space "a batch"

	# Room again: the same job goes in, whole.
	if [ -n "$MNT" ]; then rm "$MNT/fill"; fi
	run "$B/wf-enqueue" <"$BATS_TEST_TMPDIR/big.json"
	[ "$status" -eq 0 ]
	[ -f "$WF_HOME/queue/3-normal/new/$output" ]
	json_ok <"$WF_HOME/queue/3-normal/new/$output"
	[ -z "$(find "$WF_HOME"/queue/*/tmp -mindepth 1)" ]
}

@test "a --batch larger than its chunk of open files: all of it, each file whole, nothing left in tmp/" {
	good='{"job_type":"command","request_data":{"argv":["true"]}}'
	for ((i = 0; i < 300; i++)); do
		printf '%s\n' "$good"
	done >"$BATS_TEST_TMPDIR/jobs"
	# 100 open files: the batch goes in chunks of 36
	run bash -c 'ulimit -n 100 && exec "$1" --batch <"$2"' _ \
	    "$B/wf-enqueue" "$BATS_TEST_TMPDIR/jobs"
	[ "$status" -eq 0 ]
	[ "${#lines[@]}" -eq 300 ]
	[ "$(count queue/3-normal/new)" -eq 300 ]
	for id in "${lines[0]}" "${lines[150]}" "${lines[299]}"; do
		json_ok <"$WF_HOME/queue/3-normal/new/$id"
		[ "$(jget "$WF_HOME/queue/3-normal/new/$id" id)" = "$id" ]
	done
	[ -z "$(find "$WF_HOME"/queue/*/tmp -mindepth 1)" ]
}

@test "a disk that fills up in a later chunk of a --batch: the chunks before it are queued, and named" {
	full_disk
	if [ -z "$MNT" ]; then
		# The shim fails every write under tmp/: the first chunk fails
		# and nothing is queued.
		printf '%s\n' '{"job_type":"command","request_data":{"argv":["true"]}}' \
		    >"$BATS_TEST_TMPDIR/jobs"
		run --separate-stderr enqueue_full --batch <"$BATS_TEST_TMPDIR/jobs"
		no_space "a batch"
		return
	fi
	# Room for 50 files of one page each; 100 open files make chunks of 36.
	make_room $((50 * 4096))
	good='{"job_type":"command","request_data":{"argv":["true"]}}'
	for ((i = 0; i < 60; i++)); do
		printf '%s\n' "$good"
	done >"$BATS_TEST_TMPDIR/jobs"
	run --separate-stderr bash -c 'ulimit -n 100 && exec "$1" --batch <"$2"' _ \
	    "$B/wf-enqueue" "$BATS_TEST_TMPDIR/jobs"
	echo "status $status; stderr: $stderr" >&2
	[ "$status" -eq 75 ]
	[[ "$stderr" == *"No space left on device"* ]]
	[[ "$stderr" == *"jobs were queued before that"* ]]
	n=$(count queue/3-normal/new)
	# whole chunks, at least one, not all
	[ "$n" -gt 0 ] && [ "$n" -lt 60 ] && [ $((n % 36)) -eq 0 ]
	# the ids printed are exactly the jobs queued, each one whole
	[ "${#lines[@]}" -eq "$n" ]
	for id in "${lines[@]}"; do
		json_ok <"$WF_HOME/queue/3-normal/new/$id"
	done
	[ -z "$(find "$WF_HOME"/queue/*/tmp -mindepth 1)" ]
}

@test "a --batch on a file system without O_TMPFILE: named tmp/ files, renamed, all of it" {
	SHIM="$BATS_TEST_TMPDIR/notmpfile.so"
	cc -shared -fPIC -o "$SHIM" "$BATS_TEST_DIRNAME/../helpers/notmpfile.c" -ldl
	good='{"job_type":"command","request_data":{"argv":["true"]}}'
	for ((i = 0; i < 100; i++)); do
		printf '%s\n' "$good"
	done >"$BATS_TEST_TMPDIR/jobs"
	# 60 open files: chunks of 32, each renamed out of tmp/
	NOTMPFILE_MARK=$BATS_TEST_TMPDIR/asked run bash -c 'ulimit -n 60 &&
	    LD_PRELOAD=$1 ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
	    exec "$2" --batch <"$3"' _ "$SHIM" "$B/wf-enqueue" "$BATS_TEST_TMPDIR/jobs"
	[ "$status" -eq 0 ]
	# it was asked for O_TMPFILE, and refused
	[ -e "$BATS_TEST_TMPDIR/asked" ]
	[ "${#lines[@]}" -eq 100 ]
	[ "$(count queue/3-normal/new)" -eq 100 ]
	[ -z "$(find "$WF_HOME"/queue/*/tmp -mindepth 1)" ]
	for id in "${lines[0]}" "${lines[99]}"; do
		json_ok <"$WF_HOME/queue/3-normal/new/$id"
	done
}
