#!/usr/bin/env bats
# isolation: agents in a room of their own.  A run works in its own git
# worktree on wf/run-N, never in the user's checkout; every role's program
# and the gate's test runs run in the sandbox (bubblewrap): the worktree
# written, the spool, the config and the home hidden, a private /tmp, no
# network, and nothing left alive after the job.  Then the human's side:
# wf run diff, wf run merge (fast-forward, merge commit, refused conflict,
# refused dirty tree), wf run abandon, the clean-up of worktrees, and the
# sandbox turned off or missing, said plainly.

load helpers

H=$BATS_TEST_DIRNAME/../helpers

setup() {
	wf_setup
	GATE_PID= LISTEN_PID=
	USERDIR="$BATS_TEST_TMPDIR/user"
	REPO="$USERDIR/calc"
	ROLES="$BATS_TEST_TMPDIR/roles"
	mkdir -p "$REPO" "$ROLES"
	make_repo
	role pm "printf '{\"status\":\"pass\",\"summary\":\"spec\"}\\n'"
	role qa 'sh -c "$WF_TEST_COMMAND"'
	role security "printf '{\"status\":\"pass\",\"summary\":\"clean\",\"details\":{\"findings\":[]}}\\n'"
	config
	PROJ=$("$B/wf" project create --name calc --repo-path "$REPO" \
	    --test-command 'sh test_calc.sh')
	[ -n "$PROJ" ]
}

teardown() {
	local rc=0
	daemons_ok || rc=1
	# shellcheck disable=SC2086
	[ -z "$LISTEN_PID" ] || kill $LISTEN_PID 2>/dev/null || true
	stop_gate
	stop_dispatch
	kill_strays
	pkill -f "sleep ${MARK:-none}" 2>/dev/null || true
	rm -f "/tmp/wf-escape-${MARK:-none}"
	sanitizer_check || rc=1
	if grep -rEl 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' \
	    "$WF_HOME/output" >&2 2>/dev/null; then
		rc=1
	fi
	return $rc
}

# The user's project: calc.sh whose add subtracts, a TAP test of it.
make_repo() {
	git -C "$REPO" init -q -b main
	cat >"$REPO/calc.sh" <<'EOF'
#!/bin/sh
# calc.sh OP A B
case $1 in add) echo $(($2 - $3)) ;; mul) echo $(($2 * $3)) ;; esac
EOF
	cat >"$REPO/test_calc.sh" <<'EOF'
#!/bin/sh
echo 1..2
[ "$(sh calc.sh add 2 3)" = 5 ] && echo "ok 1 - add" || echo "not ok 1 - add"
[ "$(sh calc.sh mul 2 3)" = 6 ] && echo "ok 2 - mul" || echo "not ok 2 - mul"
EOF
	echo shared >"$REPO/shared.txt"
	git -C "$REPO" add -A
	git -C "$REPO" -c user.name=u -c user.email=u@localhost \
	    commit -qm 'calc with a bug'
}

# role NAME COMMAND: a command-backed role
role() {
	printf '[role]\nbackend = command\ncommand = %s\ntimeout = 60\n' "$2" \
	    >"$ROLES/$1.ini"
	case $1 in
	qa) echo 'owns = test_*.sh' >>"$ROLES/$1.ini" ;;
	dev) echo 'owns = *' >>"$ROLES/$1.ini" ;;
	pm) echo 'owns = _spec/' >>"$ROLES/$1.ini" ;;
	esac
}

# config [LINE...]: the test's wf.ini, with extra lines
config() {
	wf_config '[queue]' 'backoff_base = 1' '[lane.agent]' 'concurrency = 2' \
	    '[pipeline]' "roles_dir = $ROLES" 'auto_retry = false' \
	    'max_iter = 1' 'tdd = false' "$@"
}

start_all() {
	start_dispatch
	start_gate
}

jget() { jq -r ".$2 // empty" "$1" 2>/dev/null; }

state_is() { [ "$(jget "$WF_HOME/state/runs/$1.json" state)" = "$2" ]; }

dump() {
	{
		for f in "$WF_HOME"/state/runs/*.json; do
			[ -e "$f" ] && jq -c '{id, state, waiting_reason, worktree, history: [.history[] | "\(.from)->\(.to): \(.why)"]}' "$f"
		done
		echo "--- failed/"
		cat "$WF_HOME"/failed/* 2>/dev/null || true
		echo "--- output/"
		tail -n 40 "$WF_HOME"/output/* 2>/dev/null || true
		echo "--- gate.log"
		cat "$BATS_TEST_TMPDIR/gate.log" 2>/dev/null || true
		echo "--- dispatch.log"
		tail -n 40 "$BATS_TEST_TMPDIR/dispatch.log" 2>/dev/null || true
	} >&2
}

# wait_state RUN STATE [SECS]
wait_state() {
	if ! wait_until "$(slow "${3:-30}")" state_is "$1" "$2"; then
		echo "run $1 is not $2" >&2
		dump
		return 1
	fi
}

# snapshot: everything of the user's checkout that a run must not touch:
# its branch, HEAD, index, and every file's bytes (the untracked too)
snapshot() {
	{
		git -C "$REPO" symbolic-ref HEAD
		git -C "$REPO" rev-parse HEAD
		sha256sum "$REPO/.git/index"
		(cd "$REPO" && find . -path ./.git -prune -o -type f -print0 |
		    sort -z | xargs -0 sha256sum)
		git -C "$REPO" status --porcelain=v1 --untracked-files=all
	}
}

# The user's own work in progress: a line in a tracked test file, not
# committed, and an untracked notes file.
dirty_user() {
	echo '# my own note, not committed' >>"$REPO/test_calc.sh"
	echo 'remember the milk' >"$REPO/notes.txt"
}

# done_of RUN: a finished job of run RUN (its file), if any
done_of() {
	grep -l "\"run_id\":$1[,}]" "$WF_HOME"/done/* 2>/dev/null | head -n 1 | grep .
}

# the job log of the role's agent job of run RUN
role_log() {
	local f id
	for f in "$WF_HOME"/done/* "$WF_HOME"/failed/*; do
		[ -f "$f" ] || continue
		jq -e --arg r "$2" --argjson run "$1" \
		    '.job_type == "agent_run" and .request_data.role == $r and .run_id == $run' \
		    "$f" >/dev/null 2>&1 || continue
		id=${f##*/}
		cat "$WF_HOME/output/$id.log"
	done
}

@test "a hostile DEV reaches nothing outside its worktree, and the user's checkout stays as it was" {
	MARK=$((9000000 + RANDOM))
	OUTSIDE="$BATS_TEST_DIRNAME/escape-$MARK"
	# a TCP port on 127.0.0.1 that is not the model's, counting visitors
	"$PY" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept(); open(sys.argv[1], "a").write("connected\n"); c.close()
' "$BATS_TEST_TMPDIR/visits" >"$BATS_TEST_TMPDIR/port" &
	LISTEN_PID=$!
	wait_until 5 test -s "$BATS_TEST_TMPDIR/port"
	PORT=$(cat "$BATS_TEST_TMPDIR/port")
	printf 's3cr3t-%s' "$MARK" | "$B/wf" cred add --project "$PROJ" \
	    --name svc --type api_key >/dev/null
	role dev "$H/hostile_dev.sh $WF_HOME $B $PORT $MARK $OUTSIDE"
	dirty_user
	before=$(snapshot)

	start_all
	rid=$("$B/wf" run create --project-id "$PROJ")
	wait_state "$rid" READY_FOR_COMMIT 60
	log=$(role_log "$rid" dev)
	echo "$log"

	# every try failed (the room's own /tmp took its write)
	[ "$(grep -c '^TRY ' <<<"$log")" -ge 14 ]
	! grep -q ': ESCAPED' <<<"$log"
	grep -q '^TRY approve-deploy: blocked' <<<"$log"
	grep -q '^TRY set-state: blocked' <<<"$log"
	grep -q '^TRY cred-reveal: blocked' <<<"$log"
	grep -q '^TRY read-keys: blocked' <<<"$log"
	grep -q '^TRY connect: blocked' <<<"$log"
	! grep -q "s3cr3t-$MARK" "$WF_HOME"/output/*
	[ ! -e "/tmp/wf-escape-$MARK" ]
	[ ! -e "$OUTSIDE" ]
	[ ! -e "$BATS_TEST_TMPDIR/visits" ]
	[ "$(ls "$WF_HOME/reports/new" | grep -c escape)" -eq 0 ]
	! "$B/wf" token list 2>/dev/null | grep -q escape
	# the run was never approved nor forced
	! grep -q 'deploy_approved\|state_forced' "$WF_HOME/log/audit.jsonl"
	run jq -r '[.history[].why] | join("|")' "$WF_HOME/state/runs/$rid.json"
	[[ "$output" != *escape* ]]
	# nothing it started is alive
	! pgrep -f "sleep $MARK"

	# the fix is on wf/run-N, without the user's files
	git -C "$REPO" show "wf/run-$rid:calc.sh" | grep -q 'a + b\|\$2 + \$3'
	! git -C "$REPO" show "wf/run-$rid:notes.txt" 2>/dev/null
	! git -C "$REPO" show "wf/run-$rid:test_calc.sh" | grep -q 'my own note'
	# the user's checkout is byte for byte as it was
	after=$(snapshot)
	[ "$before" = "$after" ]
	# the job records say they ran in the sandbox
	jq -e '.result_data.sandbox == "bwrap"' \
	    $(grep -l '"role":"dev"' "$WF_HOME"/done/*) >/dev/null
}

@test "two runs of one project at once: each in its own worktree, each branch with its own work" {
	role dev "sleep 1; echo \"run \$WF_RUN_ID\" >work-\$WF_RUN_ID.txt; sed -i 's/\\\$2 - \\\$3/\$2 + \$3/' calc.sh; echo '{\"status\":\"pass\",\"summary\":\"ok\"}'"
	dirty_user
	before=$(snapshot)
	base=$(git -C "$REPO" rev-parse main)
	start_all
	r1=$("$B/wf" run create --project-id "$PROJ")
	r2=$("$B/wf" run create --project-id "$PROJ")
	wait_state "$r1" READY_FOR_COMMIT 60
	wait_state "$r2" READY_FOR_COMMIT 60
	for r in "$r1" "$r2"; do
		o=$((r == r1 ? r2 : r1))
		[ "$(jget "$WF_HOME/state/runs/$r.json" base_commit)" = "$base" ]
		git -C "$REPO" show "wf/run-$r:work-$r.txt" | grep -qx "run $r"
		! git -C "$REPO" show "wf/run-$r:work-$o.txt" 2>/dev/null
		# both forked from main, not from each other
		[ "$(git -C "$REPO" merge-base "wf/run-$r" main)" = "$base" ]
		! jq -e '.history[] | select(.why | test("ownership"))' \
		    "$WF_HOME/state/runs/$r.json"
	done
	# their DEV jobs overlapped in time
	s1=$(jq -r 'select(.request_data.role == "dev") | .started_at' "$WF_HOME"/done/* | sort | head -n 1)
	e1=$(jq -r 'select(.request_data.role == "dev") | .completed_at' "$WF_HOME"/done/* | sort | head -n 1)
	s2=$(jq -r 'select(.request_data.role == "dev") | .started_at' "$WF_HOME"/done/* | sort | tail -n 1)
	[[ "$s2" < "$e1" ]]
	[[ "$s1" < "$s2" || "$s1" = "$s2" ]]
	[ "$before" = "$(snapshot)" ]
}

@test "wf run diff, and wf run merge: a fast-forward into the user's checkout, then a merge commit" {
	role dev "echo \"run \$WF_RUN_ID\" >work-\$WF_RUN_ID.txt; sed -i 's/\\\$2 - \\\$3/\$2 + \$3/' calc.sh; echo '{\"status\":\"pass\",\"summary\":\"ok\"}'"
	start_all
	r1=$("$B/wf" run create --project-id "$PROJ")
	r2=$("$B/wf" run create --project-id "$PROJ")
	wait_state "$r1" READY_FOR_COMMIT 60
	wait_state "$r2" READY_FOR_COMMIT 60
	run "$B/wf" run diff "$r1"
	[ "$status" -eq 0 ]
	[[ "$output" == *'+echo "run '* || "$output" == *"+run $r1"* ]]
	[[ "$output" == *'+case $1 in add) echo $(($2 + $3))'* ]]
	run "$B/wf" run diff "$r1" --stat
	[ "$status" -eq 0 ]
	[[ "$output" == *"calc.sh"*"work-$r1.txt"* ]]
	[[ "$output" == *"2 files changed"* ]]
	# a worktree is made from main; main is checked out by the user,
	# whose notes stay: a fast-forward
	echo 'remember the milk' >"$REPO/notes.txt"
	run "$B/wf" run merge "$r1"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$output" = "run $r1: MERGED" ]
	[ "$(jget "$WF_HOME/state/runs/$r1.json" merge.how)" = fast-forward ]
	[ "$(git -C "$REPO" rev-parse main)" = "$(git -C "$REPO" rev-parse "wf/run-$r1")" ]
	[ -f "$REPO/work-$r1.txt" ]
	[ "$(cat "$REPO/notes.txt")" = 'remember the milk' ]
	[ -z "$(git -C "$REPO" status --porcelain --untracked-files=no)" ]
	# the second run forked before: a merge commit of both parents
	run "$B/wf" run merge "$r2"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(jget "$WF_HOME/state/runs/$r2.json" merge.how)" = "merge commit" ]
	[ "$(git -C "$REPO" rev-list --parents -n 1 main | wc -w)" -eq 3 ]
	[ -f "$REPO/work-$r1.txt" ] && [ -f "$REPO/work-$r2.txt" ]
	[ -z "$(git -C "$REPO" status --porcelain --untracked-files=no)" ]
	grep -q '"run.merged"' "$WF_HOME/log/audit.jsonl"
	# MERGED, then on
	run "$B/wf" run advance "$r2"
	[ "$output" = "run $r2: READY_FOR_DEPLOY" ]
}

@test "wf run merge refuses a conflict and the user's uncommitted work, and changes nothing" {
	role dev "echo \"run \$WF_RUN_ID\" >shared.txt; echo '{\"status\":\"pass\",\"summary\":\"ok\"}'"
	# the gate's test must pass: a project whose test passes
	sed -i 's/\$2 - \$3/$2 + $3/' "$REPO/calc.sh"
	git -C "$REPO" -c user.name=u -c user.email=u@localhost commit -qam fix
	start_all
	r1=$("$B/wf" run create --project-id "$PROJ")
	wait_state "$r1" READY_FOR_COMMIT 60
	# the user changed the same line on main meanwhile
	echo 'the user' >"$REPO/shared.txt"
	git -C "$REPO" -c user.name=u -c user.email=u@localhost commit -qam mine
	before=$(snapshot)
	run "$B/wf" run merge "$r1"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"does not merge into main cleanly"*"conflicts in: shared.txt"* ]]
	state_is "$r1" READY_FOR_COMMIT
	[ "$before" = "$(snapshot)" ]

	# a run that merges cleanly, over a tree the user has dirtied where
	# the merge writes
	git -C "$REPO" -c user.name=u -c user.email=u@localhost reset -q --hard HEAD~1
	echo 'my edit in progress' >"$REPO/shared.txt"
	before=$(snapshot)
	run "$B/wf" run merge "$r1"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"uncommitted changes where the merge writes"*"uncommitted in: shared.txt"* ]]
	state_is "$r1" READY_FOR_COMMIT
	[ "$before" = "$(snapshot)" ]
	# once the user has put their work away, it merges
	git -C "$REPO" checkout -q -- shared.txt
	run "$B/wf" run merge "$r1"
	[ "$status" -eq 0 ]
	[ "$(cat "$REPO/shared.txt")" = "run $r1" ]
}

@test "a run's worktree goes when it ends; its branch stays; the gate and purge remove leftovers" {
	role dev "sed -i 's/\\\$2 - \\\$3/\$2 + \$3/' calc.sh; echo '{\"status\":\"pass\",\"summary\":\"ok\"}'"
	start_all
	r1=$("$B/wf" run create --project-id "$PROJ")
	wait_state "$r1" READY_FOR_COMMIT 60
	wt=$(jget "$WF_HOME/state/runs/$r1.json" worktree)
	[ -f "$wt/.git" ]
	[[ "$wt" == "$WF_HOME/work/run-$r1" ]]
	run "$B/wf" run abandon "$r1" --why 'not needed'
	[ "$status" -eq 0 ]
	[ "$output" = "run $r1: ABANDONED" ]
	[ ! -e "$wt" ]
	git -C "$REPO" rev-parse -q --verify "refs/heads/wf/run-$r1"
	! git -C "$REPO" worktree list | grep -q "run-$r1"
	run "$B/wf" run abandon "$r1"
	[ "$status" -ne 0 ]

	# a crash left the worktree of a run that is gone: the gate's start
	# removes it
	git -C "$REPO" worktree add -q -b wf/run-77 "$WF_HOME/work/run-77" main
	stop_gate
	start_gate
	[ ! -e "$WF_HOME/work/run-77" ]
	grep -q 'removed 1 worktree of runs gone' "$BATS_TEST_TMPDIR/gate.log"
	! git -C "$REPO" worktree list | grep -q run-77
	# and wf queue purge does the same
	git -C "$REPO" worktree add -q "$WF_HOME/work/run-78" -b wf/run-78 main
	run "$B/wf" queue purge --older-than 1d
	[ "$status" -eq 0 ]
	[[ "$output" == *"removed 1 worktree of runs gone"* ]]
	[ ! -e "$WF_HOME/work/run-78" ]
}

# listen NAME: a TCP listener on 127.0.0.1 that answers HTTP 200 and counts
# its visitors in $BATS_TEST_TMPDIR/NAME.visits; its port in NAME_PORT
listen() {
	"$PY" -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        open(sys.argv[1], "a").write(self.path + "\n")
        self.send_response(200); self.end_headers(); self.wfile.write(b"{}")
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_port, flush=True)
s.serve_forever()
' "$BATS_TEST_TMPDIR/$1.visits" >"$BATS_TEST_TMPDIR/$1.port" &
	LISTEN_PID="$LISTEN_PID $!"
	wait_until 5 test -s "$BATS_TEST_TMPDIR/$1.port"
	printf -v "${1}_PORT" '%s' "$(cat "$BATS_TEST_TMPDIR/$1.port")"
}

@test "a goose role in the sandbox reaches its model on 127.0.0.1 and nothing else" {
	listen model
	listen other
	cp "$REPO/calc.sh" "$REPO/calc_fixed.sh"
	sed -i 's/\$2 - \$3/$2 + $3/' "$REPO/calc_fixed.sh"
	git -C "$REPO" add calc_fixed.sh
	git -C "$REPO" -c user.name=u -c user.email=u@localhost commit -qm fixed
	cat >"$ROLES/dev.ini" <<EOF
[role]
backend = goose
command = $H/fake_goose --log - --fix calc_fixed.sh --probe $other_PORT
prompt = $BATS_TEST_DIRNAME/../../etc/roles/dev.prompt
owns = *
EOF
	config '[llm]' 'provider = ollama' "base_url = http://127.0.0.1:$model_PORT" \
	    'model = tiny'
	start_all
	rid=$("$B/wf" run create --project-id "$PROJ")
	wait_state "$rid" READY_FOR_COMMIT 60
	log=$(role_log "$rid" dev)
	echo "$log"
	grep -q '^probe model: ok' <<<"$log"
	grep -q '^probe other: refused' <<<"$log"
	grep -qx '/api/tags' "$BATS_TEST_TMPDIR/model.visits"
	[ ! -e "$BATS_TEST_TMPDIR/other.visits" ]
	grep -qx "OLLAMA_HOST=http://127.0.0.1:$model_PORT" <<<"$log"
	git -C "$REPO" show "wf/run-$rid:calc.sh" | grep -q '\$2 + \$3'
}

@test "a project that is not a git repository: the run says it works in place" {
	plain="$BATS_TEST_TMPDIR/plain"
	mkdir -p "$plain"
	cp "$REPO/calc.sh" "$REPO/test_calc.sh" "$plain/"
	p2=$("$B/wf" project create --name plain --repo-path "$plain")
	run --separate-stderr "$B/wf" run create --project-id "$p2"
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"is not a git repository"*"no worktree"* ]]
	rid=$output
	[ "$(jq -r .worktree "$WF_HOME/state/runs/$rid.json")" = null ]
	run "$B/wf" run diff "$rid"
	[ "$status" -ne 0 ]
	[[ "$output" == *"no branch of its own"* ]]
}

@test "the sandbox, never silently off: bwrap missing fails the job with the fix; sandbox = off is said" {
	role dev "echo '{\"status\":\"pass\",\"summary\":\"ok\"}'"
	config '[sandbox]' 'bwrap = /nonexistent/bwrap'
	run "$B/wf" queue status
	[[ "$output" == *"sandbox: on, but jobs that need it fail: sandbox: /nonexistent/bwrap not found: install bubblewrap"* ]]
	start_all
	r1=$("$B/wf" run create --project-id "$PROJ")
	wait_until "$(slow 20)" count_ge failed 1
	f=$(ls "$WF_HOME"/failed/* | head -n 1)
	jq -r .error_message "$f" | grep -q 'bwrap not found: install bubblewrap (apt install bubblewrap, or make deps), or set \[sandbox\] sandbox = off'
	state_is "$r1" PM

	stop_gate
	stop_dispatch
	config '[sandbox]' 'sandbox = off'
	run "$B/wf" queue status
	[[ "$output" == *"sandbox: OFF: agents and tests run with wf's own rights"* ]]
	run "$B/wf" queue status --json
	[ "$(jq -r .sandbox <<<"$output")" = off ]
	start_all
	r2=$("$B/wf" run create --project-id "$PROJ")
	wait_until "$(slow 20)" done_of "$r2"
	jq -e '.result_data.sandbox == "off"' "$(done_of "$r2")"
}

@test "an environment that says sandbox: its deploy steps run in the sandbox, the project's directory written, the spool out of reach, the network kept" {
	listen health
	run -0 "$B/wf" env create --project-id "$PROJ" --name boxed \
	    --deploy-command "echo deployed >deployed.txt; if cat $WF_HOME/keys/*; then echo KEYS-READ; fi" \
	    --test-command "curl -sf http://127.0.0.1:$health_PORT/probe" \
	    --sandbox true
	start_all
	rid=$("$B/wf" run create --project-id "$PROJ")
	"$B/wf" run set-state "$rid" READY_FOR_DEPLOY --force --why test >/dev/null
	run -0 "$B/wf" run approve-deploy "$rid" --env boxed
	wait_until "$(slow 30)" state_is "$rid" DEPLOYED || { dump; false; }
	# it wrote in the project's directory, read no key, reached the
	# network
	[ "$(cat "$REPO/deployed.txt")" = deployed ]
	! grep -q KEYS-READ "$WF_HOME"/output/*.log
	grep -qx /probe "$BATS_TEST_TMPDIR/health.visits"
	run -0 jq -r '.results.deploy.details.sandbox' "$WF_HOME/state/runs/$rid.json"
	[ "$output" = bwrap ]
}

# sleeper_up MARK: a process "sleep MARK" is alive
sleeper_up() { pgrep -f "^sleep $1\$" >/dev/null; }

@test "a role's program cancelled mid-way: everything it forked dies with it, setsid or not" {
	MARK=$((8000000 + RANDOM))
	role dev "setsid sleep $MARK </dev/null >/dev/null 2>&1 & sleep $((MARK + 1))"
	start_all
	rid=$("$B/wf" run create --project-id "$PROJ")
	wait_until "$(slow 30)" sleeper_up "$MARK" || { dump; false; }
	# the room's own processes are not in the job's process group: the
	# setsid one has a session of its own
	pid=$(pgrep -f "^sleep $MARK\$" | head -n 1)
	[ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ]
	job=$(jq -r 'select(.request_data.role == "dev") | .id' "$WF_HOME"/active/* 2>/dev/null | head -n 1)
	[ -n "$job" ]
	run -0 "$B/wf" queue cancel "$job"
	wait_until "$(slow 20)" test -f "$WF_HOME/cancelled/$job" || { dump; false; }
	wait_until 5 sh -c "! pgrep -f '^sleep $MARK\$'"
	! pgrep -f "^sleep $((MARK + 1))\$"
	state_is "$rid" DEV
}

@test "a repository whose branch is master: the run begins from master (primary_branch's default, main, is not there)" {
	m="$BATS_TEST_TMPDIR/m"
	mkdir -p "$m"
	git -C "$m" init -q -b master
	echo x >"$m/f"
	git -C "$m" add f
	git -C "$m" -c user.name=u -c user.email=u@localhost commit -qm one
	git -C "$m" checkout -q -b feature
	p2=$("$B/wf" project create --name m --repo-path "$m")
	[ "$(jq -r .primary_branch "$WF_HOME/state/projects/$p2.json")" = main ]
	rid=$("$B/wf" run create --project-id "$p2")
	[ "$(jget "$WF_HOME/state/runs/$rid.json" base_branch)" = master ]
	[ "$(jget "$WF_HOME/state/runs/$rid.json" base_commit)" = "$(git -C "$m" rev-parse master)" ]
	# the user's checkout stays on its own branch
	[ "$(git -C "$m" branch --show-current)" = feature ]
	# a primary_branch that the repository has wins
	git -C "$m" branch trunk master
	"$B/wf" project update "$p2" --primary-branch trunk >/dev/null
	rid=$("$B/wf" run create --project-id "$p2")
	[ "$(jget "$WF_HOME/state/runs/$rid.json" base_branch)" = trunk ]
}
