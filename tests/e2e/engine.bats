#!/usr/bin/env bats
# engine: llm_complete and llm_chat jobs through wf (wf-dispatch and
# wf-agent) against a real inference engine: llama.cpp through
# node-llama-cpp (tests/helpers/llama_server.mjs) over the tiny real model
# of tests/fixtures/models/ (checked against its sha256 first), in both
# shapes wf speaks (OpenAI, Ollama).  The jobs must record the engine's own
# token counts, as its server reported them, and its model's name.
#
# Needs npm; node-llama-cpp, and Node.js 20 where the system's is older,
# are installed once from the npm registry by tests/helpers/engine.sh into
# a cache directory outside the repository
# (${XDG_CACHE_HOME:-$HOME/.cache}/wf-tests, or beside $WF_ENGINE_DIR).
# Without npm or with a damaged model the test fails and says why: it
# never skips.  WF_ENGINE_MODEL names another GGUF model file.

load helpers

H=$BATS_TEST_DIRNAME/../helpers

setup() {
	wf_setup
	SERVER_PID=
	no_model_env
	SLOG="$BATS_TEST_TMPDIR/engine.jsonl"
}

teardown() {
	local rc=0
	stop_dispatch
	if [ -n "$SERVER_PID" ]; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	kill_strays
	sanitizer_check || rc=1
	if grep -rEl 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' \
	    "$WF_HOME/output" >&2 2>/dev/null; then
		rc=1
	fi
	return $rc
}

# say TEXT: a line in bats' output (timings), on the terminal
say() { echo "# $*" >&3; }

# config PROVIDER: wf.ini for the engine at 127.0.0.1:$PORT
config() {
	wf_config '[queue]' 'backoff_base = 1' \
	    '[llm]' "provider = $1" "base_url = http://127.0.0.1:$PORT" \
	    'model = stories260K' 'timeout = 60'
}

# the server's log line for the Nth request (1-based), flattened into $S
served() {
	S=$(sed -n "$1p" "$SLOG" | jq -r 'to_entries[] | "\(.key)=\(.value)"')
	[ -n "$S" ]
}

# rec ID: a done job's record, flattened into $J
rec() {
	J=$(jq -r 'paths(type | . != "object" and . != "array") as $p |
	    "." + ($p | map(tostring) | join(".")) + "=" + (getpath($p) | tostring)' \
	    "$WF_HOME/done/$1")
	[ -n "$J" ]
}

# val LINES KEY: the value of KEY in LINES; null when there is none
val() {
	local line
	while IFS= read -r line; do
		if [[ $line == "$2="* ]]; then
			printf '%s\n' "${line#"$2="}"
			return 0
		fi
	done <<<"$1"
	echo null
}

# check_job ID N: job ID is done and recorded what the engine said in its
# Nth answer: the counts, the model, the content, why it stopped
check_job() {
	wait_job "$1" "$(slow 60)" || {
		cat "$WF_HOME"/failed/* "$WF_HOME"/output/* "$BATS_TEST_TMPDIR"/*.log >&2 2>/dev/null
		return 1
	}
	ended "$1" "done"
	rec "$1"
	served "$2"
	echo "job $1:" >&2
	echo "$J" >&2
	echo "engine's answer $2:" >&2
	echo "$S" >&2
	[ "$(val "$S" status)" -eq 200 ]
	[ "$(val "$J" .status)" = completed ]
	[ "$(val "$J" .result_data.usage.prompt_tokens)" -eq "$(val "$S" prompt_tokens)" ]
	[ "$(val "$J" .result_data.usage.completion_tokens)" -eq "$(val "$S" completion_tokens)" ]
	[ "$(val "$J" .result_data.usage.total_tokens)" -eq \
	    $(($(val "$S" prompt_tokens) + $(val "$S" completion_tokens))) ]
	[ "$(val "$J" .result_data.model)" = stories260K ]
	[ "$(val "$J" .result_data.finish_reason)" = "$(val "$S" finish_reason)" ]
	[ -n "$(val "$J" .result_data.content)" ]
	[ "$(val "$J" .result_data.content)" = "$(val "$S" content)" ]
	[ "$(val "$J" .result_data.latency_ms)" -ge 0 ]
	# real counts: the prompt is several tokens, the reply within the cap
	[ "$(val "$S" prompt_tokens)" -ge 3 ]
	[ "$(val "$S" completion_tokens)" -ge 1 ]
	[ "$(val "$S" completion_tokens)" -le 32 ]
}

@test "llm_complete and llm_chat against a real engine (llama.cpp, stories260K): the engine's own token counts, OpenAI and Ollama" {
	local t0 t1 out
	t0=$(now_ms)
	if ! out=$("$H/engine.sh" check 2>&1); then
		echo "$out" >&2
		echo "engine.bats needs npm (see tests/helpers/engine.sh)" >&2
		return 1
	fi
	MODEL=$("$H/engine.sh" model) || return 1
	NODE=$("$H/engine.sh" node) || {
		echo "no Node.js 20 or later (tests/helpers/engine.sh node)" >&2
		return 1
	}
	[ "$("$NODE" -p 'process.versions.node.split(".")[0] >= 20')" = true ]
	DIR=$("$H/engine.sh" install) || {
		echo "node-llama-cpp could not be installed (tests/helpers/engine.sh install)" >&2
		return 1
	}
	t1=$(now_ms)
	say "node $("$NODE" --version) and node-llama-cpp ready in $DIR: $((t1 - t0)) ms"

	"$NODE" "$H/llama_server.mjs" --model "$MODEL" --modules "$DIR" \
	    --portfile "$BATS_TEST_TMPDIR/engine.port" --log "$SLOG" \
	    --max-tokens 32 >"$BATS_TEST_TMPDIR/engine.out" 2>&1 3>&- &
	SERVER_PID=$!
	if ! wait_until 120 test -s "$BATS_TEST_TMPDIR/engine.port"; then
		echo "llama_server.mjs did not start:" >&2
		cat "$BATS_TEST_TMPDIR/engine.out" >&2
		return 1
	fi
	PORT=$(<"$BATS_TEST_TMPDIR/engine.port")
	say "engine up in $(($(now_ms) - t1)) ms: $(tr -d '\n' <"$BATS_TEST_TMPDIR/engine.out")"

	# the OpenAI shape
	config openai
	start_dispatch
	a=$(enqueue -t llm_complete -d '{"prompt":"Once upon a time","max_tokens":24}')
	check_job "$a" 1
	[ "$(val "$S" shape)" = openai ]
	# asked for 24 tokens at most: the story goes on past them
	[ "$(val "$S" completion_tokens)" -eq 24 ]
	[ "$(val "$J" .result_data.finish_reason)" = length ]
	complete_content=$(val "$J" .result_data.content)
	complete_in=$(val "$S" prompt_tokens)
	b=$(enqueue -t llm_chat -d '{"messages":[{"role":"system","content":"Lily and Ben"},{"role":"user","content":"One day, Lily went to the park."}]}')
	check_job "$b" 2
	[ "$(val "$S" shape)" = openai ]
	chat_in=$(val "$S" prompt_tokens)
	chat_out=$(val "$S" completion_tokens)
	chat_content=$(val "$J" .result_data.content)
	# the chat's prompt is its two messages: more tokens than the
	# complete's four words
	[ "$chat_in" -gt "$complete_in" ]
	stop_dispatch

	# the Ollama shape: the same engine, the same greedy replies
	config ollama
	start_dispatch
	c=$(enqueue -t llm_complete -d '{"prompt":"Once upon a time","max_tokens":24}')
	check_job "$c" 3
	[ "$(val "$S" shape)" = ollama ]
	[ "$(val "$S" path)" = /api/chat ]
	[ "$(val "$S" prompt_tokens)" -eq "$complete_in" ]
	# max_tokens went as options.num_predict
	[ "$(val "$S" completion_tokens)" -eq 24 ]
	[ "$(val "$J" .result_data.content)" = "$complete_content" ]
	d=$(enqueue -t llm_chat -d '{"messages":[{"role":"system","content":"Lily and Ben"},{"role":"user","content":"One day, Lily went to the park."}]}')
	check_job "$d" 4
	[ "$(val "$S" shape)" = ollama ]
	[ "$(val "$S" prompt_tokens)" -eq "$chat_in" ]
	[ "$(val "$S" completion_tokens)" -eq "$chat_out" ]
	[ "$(val "$J" .result_data.content)" = "$chat_content" ]
	echo "complete: $complete_content" >&2
	echo "chat: $chat_content" >&2
	[ "$(wc -l <"$SLOG")" -eq 4 ]
	say "engine.bats body: $(($(now_ms) - t0)) ms"
}

@test "the test model is checked against its sha256 before use: a damaged copy is refused, saying so" {
	local t="$BATS_TEST_TMPDIR/t" m
	m=$("$H/engine.sh" model)
	[ "$m" = "$(cd "$BATS_TEST_DIRNAME/../fixtures/models" && pwd)/stories260K.gguf" ]
	[ "$(sha256sum <"$m" | cut -d' ' -f1)" = 270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d ]
	grep -q 'MIT' "$BATS_TEST_DIRNAME/../fixtures/models/README.md"
	grep -q 270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d \
	    "$BATS_TEST_DIRNAME/../fixtures/models/README.md"
	# the same script beside a copy whose one byte differs
	mkdir -p "$t/helpers" "$t/fixtures/models"
	cp "$H/engine.sh" "$t/helpers/"
	cp "$BATS_TEST_DIRNAME"/../fixtures/models/stories260K.gguf* "$t/fixtures/models/"
	run "$t/helpers/engine.sh" model
	[ "$status" -eq 0 ]
	printf 'x' | dd of="$t/fixtures/models/stories260K.gguf" bs=1 seek=4096 \
	    conv=notrunc 2>/dev/null
	run "$t/helpers/engine.sh" model
	echo "$output"
	[ "$status" -eq 1 ]
	[[ $output == *"does not match its sha256"* ]]
	rm "$t/fixtures/models/stories260K.gguf"
	run "$t/helpers/engine.sh" model
	[ "$status" -eq 1 ]
	[[ $output == *"the test model is missing"* ]]
}
