#!/usr/bin/env bats
# vision: vision_analyze jobs through the real wf-dispatch and wf-agent
# against the fake LLM server (tests/helpers/fake_llm.py) on 127.0.0.1.
# The image goes to the vision model ([llm] vision_model, or VISION_MODEL,
# which wins), as an OpenAI image_url part holding a data: URI or in an
# Ollama message's images, and the base64 the server got is the file's
# bytes exactly.  A file over the cap, a symlink, a directory or a FIFO is
# refused with a clear error and nothing is sent.

load helpers

setup() {
	wf_setup
	FAKE_PID=
	# only wf.ini (and what a test exports) may point the agent anywhere
	no_model_env
	SCRIPT="$BATS_TEST_TMPDIR/script.json"
	FAKELOG="$BATS_TEST_TMPDIR/fake.jsonl"
	IMG="$BATS_TEST_TMPDIR/pic.png"
	jq -n '{"what is in this picture": {content: "a small gradient",
	    prompt_tokens: 1234, completion_tokens: 4}}' >"$SCRIPT"
	png "$IMG"
}

teardown() {
	local rc=0
	stop_dispatch
	stop_fake
	kill_strays
	if grep -s Traceback "$BATS_TEST_TMPDIR/fake.err" >&2; then
		rc=1
	fi
	sanitizer_check || rc=1
	if grep -rEl 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' \
	    "$WF_HOME/output" >&2 2>/dev/null; then
		rc=1
	fi
	return $rc
}

# png FILE: a small valid PNG (4x3 RGB), made with the stdlib only
png() {
	"$PY" - "$1" <<'EOF'
import struct, sys, zlib

def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))

w, h = 4, 3
raw = b"".join(b"\x00" + bytes(v for x in range(w)
                               for v in (x * 60, y * 100, 255 - x * y * 20))
               for y in range(h))
with open(sys.argv[1], "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
EOF
}

start_fake() {
	local pf="$BATS_TEST_TMPDIR/fake.port"
	rm -f "$pf"
	"$PY" "$BATS_TEST_DIRNAME/../helpers/fake_llm.py" --port 0 \
	    --portfile "$pf" --script "$SCRIPT" --log "$FAKELOG" \
	    2>>"$BATS_TEST_TMPDIR/fake.err" 3>&- &
	FAKE_PID=$!
	wait_until 10 test -s "$pf" || {
		echo "the fake LLM server did not start" >&2
		cat "$BATS_TEST_TMPDIR/fake.err" >&2
		return 1
	}
	PORT=$(<"$pf")
}

stop_fake() {
	[ -n "$FAKE_PID" ] || return 0
	kill -TERM "$FAKE_PID" 2>/dev/null || true
	wait "$FAKE_PID" 2>/dev/null || true
	FAKE_PID=
}

# config PROVIDER [LINE...]: wf.ini for the fake; the text model is "fake"
config() {
	local provider=$1
	shift
	wf_config '[queue]' 'backoff_base = 1' \
	    '[llm]' "provider = $provider" "base_url = http://127.0.0.1:$PORT" \
	    'model = fake' 'timeout = 20' "$@"
}

# vision JSON: enqueue a vision_analyze job, print its id
vision() {
	enqueue -t vision_analyze -d "$1"
}

# job ID: the job's record (it has ended)
job() {
	jq -c . "$WF_HOME/$2/$1"
}

# the one request the fake got: its body
body() {
	[ "$(wc -l <"$FAKELOG")" -eq 1 ] || { cat "$FAKELOG" >&2; return 1; }
	jq -c .body "$FAKELOG"
}

@test "vision_analyze, OpenAI shape: [llm] vision_model, the prompt and an image_url data: URI of exactly the file's bytes" {
	start_fake
	config openai 'vision_model = fake-vision'
	start_dispatch
	id=$(vision "{\"image_path\":\"$IMG\",\"prompt\":\"what is in this picture?\"}")
	wait_job "$id"
	ended "$id" done
	rec=$(job "$id" done)
	echo "$rec"
	[ "$(jq -r .result_data.content <<<"$rec")" = "a small gradient" ]
	[ "$(jq -r .result_data.model <<<"$rec")" = fake-vision ]
	[ "$(jq -r .result_data.usage.prompt_tokens <<<"$rec")" -eq 1234 ]

	b=$(body)
	[ "$(jq -r .path "$FAKELOG")" = /v1/chat/completions ]
	# the vision model, not the text model
	[ "$(jq -r .model <<<"$b")" = fake-vision ]
	[ "$(jq '.messages | length' <<<"$b")" -eq 1 ]
	[ "$(jq -r '.messages[0].role' <<<"$b")" = user ]
	# content parts: the prompt as text, the image as a data: URI
	[ "$(jq '.messages[0].content | length' <<<"$b")" -eq 2 ]
	[ "$(jq -r '[.messages[0].content[] | select(.type == "text") | .text] | join("|")' <<<"$b")" = "what is in this picture?" ]
	url=$(jq -r '[.messages[0].content[] | select(.type == "image_url")] | if length == 1 then .[0].image_url.url else error("not one image") end' <<<"$b")
	[[ "$url" == data:image/png\;base64,* ]]
	printf '%s' "${url#data:image/png;base64,}" | base64 -d >"$BATS_TEST_TMPDIR/got.png"
	cmp "$BATS_TEST_TMPDIR/got.png" "$IMG"
	# no Ollama-style images left in the OpenAI body
	[ "$(jq '.messages[0] | has("images")' <<<"$b")" = false ]
}

@test "vision_analyze, Ollama shape: VISION_MODEL over [llm] vision_model, the image in messages[].images, exactly the file's bytes" {
	start_fake
	config ollama 'vision_model = ini-vision'
	VISION_MODEL=env-vision start_dispatch
	id=$(vision "{\"image_path\":\"$IMG\",\"prompt\":\"what is in this picture, in Ollama?\"}")
	wait_job "$id"
	ended "$id" done
	rec=$(job "$id" done)
	echo "$rec"
	[ "$(jq -r .result_data.content <<<"$rec")" = "a small gradient" ]
	[ "$(jq -r .result_data.provider <<<"$rec")" = ollama ]
	[ "$(jq -r .result_data.model <<<"$rec")" = env-vision ]

	b=$(body)
	[ "$(jq -r .path "$FAKELOG")" = /api/chat ]
	[ "$(jq -r .model <<<"$b")" = env-vision ]
	[ "$(jq -r .stream <<<"$b")" = false ]
	[ "$(jq '.messages | length' <<<"$b")" -eq 1 ]
	[ "$(jq -r '.messages[0].content' <<<"$b")" = "what is in this picture, in Ollama?" ]
	[ "$(jq '.messages[0].images | length' <<<"$b")" -eq 1 ]
	img=$(jq -r '.messages[0].images[0]' <<<"$b")
	# Ollama takes bare base64, no data: URI
	[[ "$img" != data:* ]]
	printf '%s' "$img" | base64 -d >"$BATS_TEST_TMPDIR/got.png"
	cmp "$BATS_TEST_TMPDIR/got.png" "$IMG"
}

@test "vision_analyze refuses a file over the cap, a symlink, a directory and a FIFO, and sends nothing" {
	start_fake
	config openai 'vision_model = fake-vision'
	# one byte over the 8 MiB cap, a PNG by its first bytes
	big="$BATS_TEST_TMPDIR/big.png"
	head -c 8 "$IMG" >"$big"
	truncate -s $((8 * 1024 * 1024 + 1)) "$big"
	ln -s "$IMG" "$BATS_TEST_TMPDIR/link.png"
	mkdir "$BATS_TEST_TMPDIR/dir.png"
	mkfifo "$BATS_TEST_TMPDIR/fifo.png"
	start_dispatch
	a=$(vision "{\"image_path\":\"$big\",\"prompt\":\"what is in this picture\"}")
	b=$(vision "{\"image_path\":\"$BATS_TEST_TMPDIR/link.png\",\"prompt\":\"what is in this picture\"}")
	c=$(vision "{\"image_path\":\"$BATS_TEST_TMPDIR/dir.png\",\"prompt\":\"what is in this picture\"}")
	d=$(vision "{\"image_path\":\"$BATS_TEST_TMPDIR/fifo.png\",\"prompt\":\"what is in this picture\"}")
	for id in "$a" "$b" "$c" "$d"; do
		run wait_job "$id"
		[ "$status" -ne 0 ]
		ended "$id" failed
	done
	err() { jq -r .error_message "$WF_HOME/failed/$1"; }
	err "$a"
	[[ "$(err "$a")" == *"request_data.image_path: $big: 8388609 bytes, over the image cap of 8388608"* ]]
	[[ "$(err "$b")" == *"link.png: a symlink, not an image file"* ]]
	[[ "$(err "$c")" == *"dir.png: not a regular file"* ]]
	[[ "$(err "$d")" == *"fifo.png: not a regular file"* ]]
	# refused at once, not retried: a bad request does not get better
	for id in "$a" "$b" "$c" "$d"; do
		[ "$(jq -r .attempt "$WF_HOME/failed/$id")" -eq 1 ]
	done
	# and nothing reached the server
	[ ! -s "$FAKELOG" ]
}
