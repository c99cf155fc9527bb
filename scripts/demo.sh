#!/bin/sh
# demo.sh: the main job, for real (make demo).  A sample project, a small
# git repo whose test fails (calc.sh's add subtracts), goes through the
# whole pipeline: PM plans, QA writes a failing test first, DEV fixes the
# code on the run's branch, QA runs the tests, SEC passes, then a human's
# two steps (wf run merge, ready for deploy) and the board.  The model is the
# configured one ([llm] of wf.ini, or WF_LLM_*) when it answers; when none
# does, a local stand-in serves recorded replies (scripts/demo-replies.json),
# and the demo says so.  The runtime tree is a new temporary directory
# (WF_DEMO_DIR to choose it), kept afterwards for a look; the daemons and
# the stand-in are stopped on exit.
#
# WF_BIN: the built programs (required).  WF_DEMO_TIMEOUT: seconds the run
# may take (default 120 with the stand-in, 900 with a real model).
# WF_DEMO_REPLIES: the stand-in's recorded replies (fake_llm.py --script).
set -eu
B=${WF_BIN:?WF_BIN must name the directory of the built programs}
B=$(cd "$B" && pwd)
TOP=$(cd "$(dirname "$0")/.." && pwd)
FIX=$TOP/tests/e2e/fixtures/agents
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
export WF_BINDIR="$B"

say() { printf '== %s\n' "$*"; }
die() {
	printf 'demo: %s\n' "$*" >&2
	exit 1
}

for t in git curl "$PY"; do
	command -v "$t" >/dev/null 2>&1 || die "$t is needed and not found"
done

# The configured model: the user's wf.ini [llm], then WF_LLM_* over it
# (as the daemons read them), then the built-in defaults (Docker Model
# Runner).  Read before WF_CONFIG points at the demo's own config.
usercfg=${WF_CONFIG:-$TOP/etc/wf.ini}
cfgname=$usercfg
[ "$usercfg" != "$TOP/etc/wf.ini" ] || cfgname=etc/wf.ini
ini() {
	[ -r "$usercfg" ] || return 0
	awk -v key="$1" '
	    /^[ \t]*\[/ { sec = $0; gsub(/[][ \t]/, "", sec); next }
	    sec == "llm" && $0 ~ "^[ \t]*" key "[ \t]*=" {
		sub(/^[^=]*=[ \t]*/, ""); sub(/[ \t]+$/, ""); v = $0 }
	    END { if (v != "") print v }' "$usercfg"
}
provider=${WF_LLM_PROVIDER:-$(ini provider)}
provider=${provider:-dmr}
base=${WF_LLM_BASE_URL:-$(ini base_url)}
if [ -z "$base" ]; then
	case $provider in
	openai) base=${OPENAI_BASE_URL:-https://api.openai.com} ;;
	*) base=${OLLAMA_HOST:-http://localhost:12434} ;;
	esac
fi
case $base in *://*) ;; *) base=http://$base ;; esac
model=${WF_LLM_MODEL:-$(ini model)}
model=${model:-ai/qwen3-coder:latest}
base=${base%/}
case $provider in
ollama) probe=$base/api/tags ;;
openai) case $base in */v1) probe=$base/models ;; *) probe=$base/v1/models ;; esac ;;
*) case $base in */engines/v1) probe=$base/models ;;
	*/engines) probe=$base/v1/models ;; *) probe=$base/engines/v1/models ;; esac ;;
esac

# The demo's own runtime tree, config, roles and sample repository.
D=${WF_DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/wf-demo.XXXXXX")}
mkdir -p "$D"
D=$(cd "$D" && pwd)
[ ! -e "$D/home" ] || die "$D already holds a demo (home/): choose another WF_DEMO_DIR"
export WF_HOME="$D/home" WF_CONFIG="$D/wf.ini"
export no_proxy="127.0.0.1,localhost${no_proxy:+,$no_proxy}"
export NO_PROXY="$no_proxy"

up='' fake=''
cleanup() {
	rc=$?
	trap - EXIT INT TERM
	if [ -n "$up" ]; then
		kill -TERM "$up" 2>/dev/null || true
		wait "$up" 2>/dev/null || true
	fi
	if [ -n "$fake" ]; then
		kill -TERM "$fake" 2>/dev/null || true
		wait "$fake" 2>/dev/null || true
	fi
	[ "$rc" -eq 0 ] || printf 'demo: the runtime tree is kept in %s (logs: %s/*.log)\n' "$D" "$D" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "wf demo in $D"
# probe: the HTTP status of the model list, in 3 s at most; a key goes to
# curl on stdin, never on its command line
probe() {
	auth=${WF_LLM_API_KEY:-${OPENAI_API_KEY:-}}
	if [ -n "$auth" ]; then
		printf 'header = "Authorization: Bearer %s"\n' "$auth"
	fi | curl -s -o /dev/null -w '%{http_code}' --connect-timeout 2 -m 3 \
	    -K - "$probe" 2>/dev/null
}
if code=$(probe) && [ "$code" = 200 ]; then
	say "model: $model ($provider) at $base answered; the agents use it"
	timeout=${WF_DEMO_TIMEOUT:-900}
	export WF_LLM_PROVIDER="$provider" WF_LLM_BASE_URL="$base" \
	    WF_LLM_MODEL="$model"
else
	pf="$D/fake.port"
	"$PY" "$TOP/tests/helpers/fake_llm.py" --port 0 --portfile "$pf" \
	    --script "${WF_DEMO_REPLIES:-$TOP/scripts/demo-replies.json}" --log "$D/fake.jsonl" \
	    2>"$D/fake.log" &
	fake=$!
	i=0
	until [ -s "$pf" ]; do
		i=$((i + 1))
		[ "$i" -le 100 ] || die "the local stand-in did not start (see $D/fake.log)"
		kill -0 "$fake" 2>/dev/null || die "the local stand-in died (see $D/fake.log)"
		sleep 0.1
	done
	port=$(cat "$pf")
	echo "NOTE: no model answered at $base; serving recorded replies from a local stand-in (127.0.0.1:$port)."
	echo "To use a real model, set in $cfgname: [llm] base_url = http://localhost:11434 (with provider = ollama)"
	timeout=${WF_DEMO_TIMEOUT:-120}
	export WF_LLM_PROVIDER=openai WF_LLM_BASE_URL="http://127.0.0.1:$port" \
	    WF_LLM_MODEL=recorded
fi

# The roles as shipped, with QA writing its failing test first (tdd): a
# fourth case, add 3 4.  QA edits the test in the run's worktree, inside
# the sandbox (where the repository's git directory is read-only); wf
# commits it on the run's branch before DEV starts.
mkdir -p "$D/roles"
cp "$TOP"/etc/roles/*.ini "$TOP"/etc/roles/*.prompt "$D/roles/"
cat >>"$D/roles/qa.ini" <<'EOF'
tdd_command = sed -i -e 's/^echo 1..3/echo 1..4/' -e 's/^check 3 0 add 0 0$/&\ncheck 4 7 add 3 4/' test_calc.sh
EOF
cat >"$WF_CONFIG" <<EOF
; the demo's config (scripts/demo.sh); [llm] comes from WF_LLM_*
[queue]
backoff_base = 1
backoff_max = 2
[pipeline]
roles_dir = $D/roles
auto_retry = false
max_iter = 3
EOF

# The sample project: calc.sh, whose add subtracts, and its TAP tests.
R="$D/calc"
mkdir -p "$R"
cp "$FIX/calc.sh" "$FIX/test_calc.sh" "$R/"
git -C "$R" init -q -b main
git -C "$R" add calc.sh test_calc.sh
git -C "$R" -c user.name=demo -c user.email=demo@localhost \
    commit -q -m 'calc with a bug'
"$B/wf" init >/dev/null
proj=$("$B/wf" project create --name calc --repo-path "$R" \
    --test-command 'sh test_calc.sh' \
    --description 'calc.sh: integer arithmetic; add is broken')
say "project $proj: calc, a git repo at $R whose tests fail:"
(cd "$R" && sh test_calc.sh) | sed 's/^/   /' || true

"$B/wf" up 2>"$D/up.log" &
up=$!
say "daemons up (wf up; log: $D/up.log); the pipeline, stage by stage:"
out="$D/pipeline.out"
# live, one line a stage; its exit status through a file (no pipefail in sh)
{
	prc=0
	"$B/wf" pipeline --project-id "$proj" --name fix-calc \
	    --timeout "$timeout" 2>&1 || prc=$?
	echo "$prc" >"$D/pipeline.rc"
} | tee "$out" | sed 's/^/   /'
prc=$(cat "$D/pipeline.rc")
rid=$(sed -n 's/^run \([0-9][0-9]*\) created for project.*/\1/p' "$out" | head -n 1)
[ -n "$rid" ] || die "wf pipeline made no run (exit $prc)"
state=$("$B/wf" run show "$rid" --json | sed -n 's/.*"state":"\([A-Z_]*\)".*/\1/p')
if [ "$prc" -ne 0 ] || [ "$state" != READY_FOR_COMMIT ]; then
	die "run $rid stopped at $state (wf pipeline exit $prc), not READY_FOR_COMMIT: see wf run show $rid, $D/up.log"
fi

say "DEV's fix is on branch wf/run-$rid (its own worktree; your checkout untouched):"
git -C "$R" log --oneline "main..wf/run-$rid" | sed 's/^/   /'
"$B/wf" run diff "$rid" --stat | sed 's/^/   /'
say "a human's steps now: merge it, then mark it ready for deploy"
"$B/wf" run merge "$rid" | sed 's/^/   wf run merge: /'
echo "   the tests on main:"
(cd "$R" && sh test_calc.sh) | sed 's/^/   /' ||
	die "the tests fail on main after the merge"
"$B/wf" run advance "$rid" | sed 's/^/   wf run advance: /'
state=$("$B/wf" run show "$rid" --json | sed -n 's/.*"state":"\([A-Z_]*\)".*/\1/p')
[ "$state" = READY_FOR_DEPLOY ] ||
	die "run $rid is $state after merge and advance, not READY_FOR_DEPLOY"

say "the board (the one failed job is the gate's run of QA's new test before DEV: it had to fail)"
"$B/wf" board --project-id "$proj"
say "run $rid is READY_FOR_DEPLOY. Deploying is a human's call, not the demo's:"
echo "   WF_HOME=$WF_HOME WF_CONFIG=$WF_CONFIG $B/wf run approve-deploy $rid"
say "done; the runtime tree stays in $D (rm -rf it when done)"
