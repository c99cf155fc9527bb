#!/usr/bin/env bats
# ui: the web page at /ui/, loaded in headless Chromium against a seeded
# store: the stat cards, the project, a task in its column, a run in its
# state's column with why it waits for a human, the queue and the audit
# trail; the CSP's rules kept (no inline script or style, no HTML built
# from data); the project filter; a write without a token answered with how
# to get one; with a token, a pipeline started and a deploy approved from
# the page; and, once the server is gone, the unreachable banner.  Then
# the other views of the hash route: a project's page (overview, tasks,
# credentials without their secret, environments, runs) and its writes
# (an environment edited and deleted too), the runs and a run's page with
# its actions and the pipeline's refusal, the bugs, and the webhooks (made
# and deleted, their secret never in the page).  Then a run of a git
# project: what it changed (its branch, the stat, the patch, bounded)
# before its actions, Merge (and its refusals), Abandon, Approve deploy
# again after a failed deploy, and the sandbox said when it is off or
# broken; the running jobs with what they run, the queue card at 420 px,
# the feature request of Start pipeline and the dead letters
# redelivered; the task board by stage (the seed's columns, a task where
# its run is, what it waits on and why it is blocked) and Add task, on the
# board and on a project's page, with acceptance criteria and
# dependencies; a run's handoffs; a feature request typed on the page
# reaching PM's prompt and its tasks on the board.  The real wf-httpd
# serves the page and its API.

load helpers

REPO_ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
WEB=$REPO_ROOT/web
CHROMIUM=${CHROMIUM:-chromium}

setup() {
	wf_setup
	SERVER_PID=
	command -v "$CHROMIUM" >/dev/null || {
		echo "no $CHROMIUM: make deps installs it" >&2
		return 1
	}
}

teardown() {
	stop_server
	wf_teardown
}

# seed: two projects; calc has a task in each of two columns, two runs
# (one at READY_FOR_DEPLOY waiting for a human, with tokens) and two open
# bugs; other has a task and a run.
seed() {
	P=$("$B/wf" project create --name calc --description 'a calculator' \
	    --repo-path "$BATS_TEST_TMPDIR")
	Q=$("$B/wf" project create --name other --repo-path "$BATS_TEST_TMPDIR")
	"$B/wf" task create --project-id "$P" --task-id CALC-1 \
	    --title 'add adds its operands' --priority 1 >/dev/null
	"$B/wf" task create --project-id "$P" --task-id CALC-2 \
	    --title 'keep mul working' --status in_progress >/dev/null
	"$B/wf" task create --project-id "$Q" --task-id OTHER-1 \
	    --title 'elsewhere' >/dev/null
	R1=$("$B/wf" run create --project-id "$P" --name fix-add)
	R2=$("$B/wf" run create --project-id "$P" --name second)
	"$B/wf" run create --project-id "$Q" --name other-run >/dev/null
	"$B/wf" run set-state "$R1" READY_FOR_DEPLOY --force --why test \
	    >/dev/null
	# what the pipeline would have written: the store is plain files
	f="$WF_HOME/state/runs/$R1.json"
	jq '.tokens_in = 599 | .tokens_out = 200 | .iteration = 2 |
	    .waiting_for_human = true |
	    .waiting_reason = "deploy needs a <b>human</b> approval"' \
	    "$f" >"$f.new"
	mv "$f.new" "$f"
	"$B/wf" bug create --project-id "$P" --title 'crash on 0' >/dev/null
	"$B/wf" bug create --project-id "$Q" --title 'typo' >/dev/null
}

# start_server [ARG...]: wf-httpd (and ARGs) on an ephemeral port; sets
# PORT, URL, SERVER_PID
start_server() {
	local log="$BATS_TEST_TMPDIR/server.log" port
	: >"$log"
	"$B/wf-httpd" -l 127.0.0.1:0 -w "$WEB" "$@" 2>>"$log" 3>&- &
	SERVER_PID=$!
	SERVER=wf-httpd
	port() { sed -n 's/.*wf-httpd: listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -1; }
	for _ in $(seq 1 200); do
		port=$(port)
		[ -n "$port" ] && break
		alive "$SERVER_PID" || break
		sleep 0.025
	done
	[ -n "$port" ] || {
		echo "$SERVER did not start" >&2
		cat "$log" >&2
		return 1
	}
	PORT=$port
	URL=http://127.0.0.1:$PORT/ui/
}

stop_server() {
	[ -n "${SERVER_PID:-}" ] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	wait_until 5 gone "$SERVER_PID" || kill -KILL "$SERVER_PID" 2>/dev/null || true
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
}

# dump_dom URL: the DOM as the page left it after 5 s of virtual time
# (its first polls done)
dump_dom() {
	timeout -s KILL 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
	    --user-data-dir="$BATS_TEST_TMPDIR/chromium" \
	    --virtual-time-budget=5000 --dump-dom "$1" 2>/dev/null
}

# between HTML FROM TO: the part of HTML after the first FROM, up to the
# next TO
between() {
	local s=${1#*"$2"}
	[ "$s" != "$1" ] || return 1
	printf '%s\n' "${s%%"$3"*}"
}

@test "Active runs counts the runs on their way: not a failed one, not a deployed one" {
	seed
	"$B/wf" run set-state "$R2" QA_FAILED --force --why test >/dev/null
	r4=$("$B/wf" run create --project-id "$P" --name done)
	"$B/wf" run set-state "$r4" READY_FOR_DEPLOY --force --why test >/dev/null
	"$B/wf" run approve-deploy "$r4" >/dev/null
	start_server
	dom=$(dump_dom "$URL")
	# 4 runs: R1 (READY_FOR_DEPLOY) and the other project's are on their
	# way; R2 failed; r4 deployed
	[[ "$dom" == *'id="stat-runs">2<'* ]]
	[[ "$dom" == *"1 failed · 1 deployed"* ]]
}

@test "the page shows the store: stat cards, projects, tasks and runs in their columns, the human's wait, the queue, the audit trail" {
	seed
	start_server
	dom=$(dump_dom "$URL")
	[ -n "$dom" ]
	# the stat cards: 2 open bugs, 3 runs none deployed, 3 tasks, 2 projects
	[[ "$dom" == *'id="stat-bugs">2<'* ]]
	[[ "$dom" == *'id="stat-runs">3<'* ]]
	[[ "$dom" == *'id="stat-tasks">3<'* ]]
	[[ "$dom" == *'id="stat-projects">2<'* ]]
	[[ "$dom" == *"1 waiting for a human · 0 deployed"* ]]
	# the projects, with their counts of tasks and runs
	projects=$(between "$dom" 'id="projects-body"' '</tbody>')
	[[ "$projects" =~ \>calc\</a\>.*\>a\ calculator\<.*\>2\</td\>\<td\ class=\"num\"\>2\< ]]
	[[ "$projects" == *'>other</a>'* ]]
	# each task in its stage's column, with its priority, and nowhere
	# else: no run works on either, so both are in the backlog, CALC-2
	# with its status
	backlog=$(between "$dom" 'data-col="stage-NONE"' 'data-col=')
	[[ "$backlog" == *'>CALC-1<'*'>critical<'*'>add adds its operands<'* ]]
	[[ "$backlog" == *'>elsewhere<'* ]]
	[[ "$backlog" == *'>in progress<'*'>keep mul working<'* ]]
	[[ "$(between "$dom" 'data-col="stage-PM"' 'data-col=')" == *'No items'* ]]
	# the run in its state's column: id, name, iteration, tokens, the
	# reason it waits (as text: the <b> in it is not markup), the button
	ready=$(between "$dom" 'data-col="READY_FOR_DEPLOY"' 'data-col=')
	[[ "$ready" == *"data-run=\"$R1\""*">#$R1<"*'>fix-add<'* ]]
	[[ "$ready" == *'iteration 2 · tokens 599 in / 200 out'* ]]
	[[ "$ready" == *'waiting for a human: deploy needs a &lt;b&gt;human&lt;/b&gt; approval'* ]]
	[[ "$ready" == *'>Approve deploy</button>'* ]]
	[[ "$ready" != *'>second<'* ]]
	pm=$(between "$dom" 'data-col="PM"' 'data-col=')
	[[ "$pm" == *"data-run=\"$R2\""* && "$pm" == *'>other-run<'* ]]
	[[ "$pm" != *'waiting for a human'* ]]
	# the queue: each run create queued PM's job at high priority
	[[ "$dom" == *'id="q-waiting">3<'* ]]
	[[ "$dom" == *'data-prio="high">3<'* ]]
	# recent activity: the audit trail, newest first
	act=$(between "$dom" 'id="activity"' '</ol>')
	[[ "$act" == *'>bug.created<'*'>run.state_forced<'*'>project.created<'* ]]
	# the server's version in the footer, and no banner
	[[ "$dom" =~ id=\"version\"\>[0-9]+\.[0-9]+ ]]
	[[ "$dom" =~ \<div\ id=\"banner\"\ class=\"banner\"\ role=\"alert\"\ hidden ]]
	[[ "$dom" == *'class="conn ok"'* ]]
}

# running ID...: the jobs made running as wf-dispatch leaves them: in
# active/, with their pid file
running() {
	local id f
	for id in "$@"; do
		f=$(find "$WF_HOME/queue" -type f -name "$id")
		mv "$f" "$WF_HOME/active/$id"
		printf '%d %s\n' $$ "$(date -u -d '-75 seconds' +%Y-%m-%dT%H:%M:%S.000Z)" \
		    >"$WF_HOME/active/$id.pid"
	done
}

@test "the queue card: a running command job shows its argv (cut), an agent job its run and role, linked" {
	seed
	long=$(printf 'arg%02d ' $(seq 1 40))
	C=$("$B/wf-enqueue" -- /bin/echo '<b>hi</b>' $long)
	A=$("$B/wf-enqueue" -t agent_run --run-id "$R1" \
	    -d '{"role":"dev","prompt":"x"}')
	running "$C" "$A"
	start_server
	api=$(curl -sf "http://127.0.0.1:$PORT/api/queue/status")
	# the API cuts a long argv at 240 bytes, and says so
	want="/bin/echo <b>hi</b> ${long% }"
	[ "$(jq -r --arg c "$C" '.running[] | select(.id == $c) | "\(.command)|\(.command_cut)"' <<<"$api")" = "${want:0:240}|true" ]
	[ "$(jq -r --arg a "$A" '.running[] | select(.id == $a) | "\(.run_id) \(.role)"' <<<"$api")" = "$R1 dev" ]
	dom=$(dump_dom "$URL")
	jobs=$(between "$dom" 'Running jobs (2)' '</table>')
	cmd=$(between "$jobs" "data-job=\"$C\"" '</tr>')
	# the page: the first 60 characters, as text; the whole in the title
	[[ "$cmd" == *'class="jwhat mono" title="/bin/echo &lt;b&gt;hi&lt;/b&gt; arg01 '*' arg36 arg3…">/bin/echo &lt;b&gt;hi&lt;/b&gt; arg01 arg02 arg03 arg04 arg05 arg06 arg0…</span>'* ]]
	[[ "$cmd" == *'>1m '[0-9]*'s<'* ]]
	agent=$(between "$jobs" "data-job=\"$A\"" '</tr>')
	[[ "$agent" == *"<a href=\"#/runs/$R1\">run #$R1 · DEV</a>"* ]]
	[[ "$agent" == *'>agent_run<'* ]]
}

@test "at 420 px wide the queue card does not overflow, with running jobs" {
	seed
	long=$(printf 'argument%02d ' $(seq 1 30))
	C=$("$B/wf-enqueue" -- /bin/echo $long)
	A=$("$B/wf-enqueue" -t agent_run --run-id "$R1" -d '{"role":"dev"}')
	running "$C" "$A"
	start_server
	fits='(e) => e.scrollWidth <= e.clientWidth'
	run cdp "$URL" \
	    "size 420 900" \
	    "wait document.querySelectorAll('[data-job]').length === 2" \
	    "print window.innerWidth" \
	    "print (e => e.scrollWidth + ' ' + e.clientWidth)(document.getElementById('queue-body'))" \
	    "print ($fits)(document.getElementById('queue-body')) && ($fits)(document.getElementById('queue-body').closest('.panel'))" \
	    "print document.getElementById('queue-body').closest('.panel').getBoundingClientRect().right <= window.innerWidth" \
	    "print document.documentElement.scrollWidth <= window.innerWidth" \
	    "print (e => e.scrollWidth <= e.clientWidth)(document.querySelector('[data-job=\"$C\"] .jwhat'))"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 420 ]
	[ "${lines[2]}" = True ]
	[ "${lines[3]}" = True ]
	[ "${lines[4]}" = True ]
	# the command is cut by its cell, not spilled out of it
	[ "${lines[5]}" = False ]
}

@test "the page keeps the CSP's rules: no inline script or style, nothing from elsewhere, no HTML from data" {
	start_server
	run curl -sfD - -o /dev/null "$URL"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Content-Security-Policy: default-src 'self'"* ]]
	# every script comes from a file, and no style element or attribute
	[ -z "$(grep -Eio '<script[^>]*>' "$WEB/index.html" | grep -v ' src=')" ]
	! grep -Eiq '<script[^>]*>[^<]' "$WEB/index.html"
	! grep -Eiq '<style|[[:space:]]style=' "$WEB/index.html"
	# nothing fetched from another origin
	! grep -Eiq '(src|href)="(https?:)?//' "$WEB/index.html"
	! grep -Eq "https?://" "$WEB/style.css"
	# data reaches the page as text only
	! grep -Eq 'innerHTML|outerHTML|insertAdjacentHTML|document\.write' "$WEB/app.js"
	node --check "$WEB/app.js"
}

# cdp URL STEP...: drive Chromium over --remote-debugging-pipe: open URL,
# then each step: "wait JS" (until JS is truthy; 20 s), "eval JS",
# "kill PID", "print JS" (its value on stdout), "size W H" (the viewport,
# in CSS pixels).
cdp() {
	timeout -s KILL 90 "$PY" - "$CHROMIUM" "$BATS_TEST_TMPDIR/chromium" "$@" <<'EOF'
import fcntl, json, os, subprocess, sys, time

chrome, profile, url, steps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
to_chrome, from_us = os.pipe()  # Chromium reads fd 3, writes fd 4
to_us, from_chrome = os.pipe()

def fds():
    # above 10 first, so that neither lands on 3 or 4 before it is moved
    a = fcntl.fcntl(to_chrome, fcntl.F_DUPFD, 10)
    b = fcntl.fcntl(from_chrome, fcntl.F_DUPFD, 10)
    os.dup2(a, 3)
    os.dup2(b, 4)

p = subprocess.Popen([chrome, "--headless", "--no-sandbox", "--disable-gpu",
                      "--user-data-dir=" + profile, "--remote-debugging-pipe",
                      "about:blank"], preexec_fn=fds, pass_fds=(3, 4),
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(to_chrome)
os.close(from_chrome)
buf, seq, session = b"", 0, None

def call(method, **params):
    global buf, seq
    seq += 1
    msg = {"id": seq, "method": method, "params": params}
    if session:
        msg["sessionId"] = session
    os.write(from_us, json.dumps(msg).encode() + b"\0")
    while True:
        while b"\0" not in buf:
            chunk = os.read(to_us, 65536)
            if not chunk:
                sys.exit("cdp: Chromium went away")
            buf += chunk
        line, buf = buf.split(b"\0", 1)
        r = json.loads(line)
        if r.get("id") == seq:
            if "error" in r:
                sys.exit("cdp: %s: %s" % (method, r["error"]))
            return r["result"]

def js(expr):
    r = call("Runtime.evaluate", expression=expr, returnByValue=True)
    return r["result"].get("value")

try:
    tid = call("Target.createTarget", url="about:blank")["targetId"]
    session = call("Target.attachToTarget", targetId=tid, flatten=True)["sessionId"]
    call("Page.navigate", url=url)
    for st in steps:
        verb, arg = st.split(" ", 1)
        if verb == "wait":
            until = time.monotonic() + 20
            while not js(arg):
                if time.monotonic() > until:
                    sys.exit("cdp: timed out waiting for: " + arg)
                time.sleep(0.1)
        elif verb == "eval":
            js(arg)
        elif verb == "print":
            print(js(arg))
        elif verb == "kill":
            os.kill(int(arg), 15)
        elif verb == "size":
            w, h = arg.split()
            call("Emulation.setDeviceMetricsOverride", width=int(w),
                 height=int(h), deviceScaleFactor=1, mobile=False)
finally:
    p.kill()
    p.wait()
EOF
}

@test "the project filter, a write without a token told how to make one, the banner once the server is gone" {
	seed
	start_server
	live='document.querySelector("#conn.ok") && document.getElementById("stat-projects").textContent === "2"'
	notice='document.getElementById("notice-text").textContent'
	banner='!document.getElementById("banner").hidden'
	run cdp "$URL" \
	    "wait $live" \
	    "eval (s => { s.value = '$Q'; s.dispatchEvent(new Event('change')); })(document.getElementById('filter-project'))" \
	    "wait document.getElementById('scope').textContent === 'Project: other'" \
	    "print document.querySelector('[data-col=stage-NONE]').textContent" \
	    "print document.getElementById('run-board').textContent" \
	    "eval document.getElementById('token').value = ''" \
	    "eval document.getElementById('start-project').value = '$P'" \
	    "eval document.getElementById('start-btn').click()" \
	    "wait $notice.includes('token')" \
	    "print $notice" \
	    "print $banner" \
	    "kill $SERVER_PID" \
	    "wait $banner" \
	    "print document.getElementById('banner').textContent.replace(/\s+/g, ' ').trim()" \
	    "print document.getElementById('conn-text').textContent"
	echo "$output"
	[ "$status" -eq 0 ]
	# filtered: only the other project's task and run
	[[ "${lines[0]}" == *elsewhere* && "${lines[0]}" != *"add adds"* ]]
	[[ "${lines[1]}" == *other-run* && "${lines[1]}" != *fix-add* ]]
	[ "${lines[2]}" = 'A token is needed: run `wf token add NAME` and paste the token in the Token field.' ]
	[ "${lines[3]}" = False ]
	[[ "${lines[4]}" == *"The wf server is unreachable."* ]]
	[[ "${lines[4]}" == *"Last good update at"* ]]
	[ "${lines[5]}" = offline ]
	# nothing was started without the token
	[ "$("$B/wf" run list --json | jq length)" -eq 3 ]
}

@test "with a token, the page starts a pipeline for a chosen task and approves a deploy; the token's name is the actor" {
	seed
	TOKEN=$("$B/wf" token add carol)
	start_server
	live='document.querySelector("#conn.ok") && document.getElementById("stat-projects").textContent === "2"'
	notice='document.getElementById("notice-text").textContent'
	tid=$("$B/wf" task list --project-id "$P" --json | jq '.[] | select(.task_id == "CALC-1") | .id')
	run cdp "$URL" \
	    "wait $live" \
	    "eval (t => { t.value = '$TOKEN'; t.dispatchEvent(new Event('change')); })(document.getElementById('token'))" \
	    "eval (s => { s.value = '$P'; s.dispatchEvent(new Event('change')); })(document.getElementById('start-project'))" \
	    "wait !!document.querySelector('#start-task option[value=\"$tid\"]')" \
	    "eval document.getElementById('start-task').value = '$tid'" \
	    "eval document.getElementById('start-btn').click()" \
	    "wait $notice.includes('started')" \
	    "print $notice" \
	    "eval window.confirm = () => true" \
	    "eval document.querySelector('[data-run=\"$R1\"] button').click()" \
	    "wait $notice.includes('approved')" \
	    "print $notice"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^Run\ #([0-9]+)\ started\ for\ calc\ \(task\ CALC-1\)\.$ ]]
	new=${BASH_REMATCH[1]}
	[ "${lines[1]}" = "Deploy of run #$R1 approved." ]
	# the run is the store's, for that task, made by the token's owner
	[ "$("$B/wf" run show "$new" --json | jq .task_id)" = "$tid" ]
	grep "\"action\":\"run.created\"" "$WF_HOME/log/audit.jsonl" | tail -1 | grep -q '"actor":"http:carol"'
	[ "$("$B/wf" run show "$R1" --json | jq -r .approved_by)" = http:carol ]
	[ "$("$B/wf" run show "$R1" --json | jq -r .state)" != READY_FOR_DEPLOY ]
}

@test "Start pipeline's feature request: the text typed starts a run that keeps it, shown on the run's page" {
	seed
	TOKEN=$("$B/wf" token add rita)
	start_server
	live='document.querySelector("#conn.ok") && document.getElementById("stat-projects").textContent === "2"'
	req='Add a <b>dark</b> mode toggle.
Keep it "simple".'
	js=$(jq -nc --arg r "$req" '$r')
	run cdp "$URL" \
	    "wait $live" \
	    "$SETF" \
	    "$WATCH" \
	    "eval setf('token', '$TOKEN')" \
	    "eval setf('start-project', '$P')" \
	    "print document.getElementById('start-request').tagName" \
	    "eval setf('start-request', $js)" \
	    "eval document.getElementById('start-btn').click()" \
	    "wait $NOTICE.includes('started')" \
	    "print $NOTICE" \
	    "print window.sent[window.sent.length - 1]" \
	    "print JSON.stringify(document.getElementById('start-request').value)" \
	    "eval setf('start-request', '   ')" \
	    "eval document.getElementById('start-btn').click()" \
	    "wait window.sent.length === 2" \
	    "print window.sent[1]"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = TEXTAREA ]
	[[ "${lines[1]}" =~ ^Run\ #([0-9]+)\ started\ for\ calc,\ with\ your\ request\ for\ PM\.$ ]]
	new=${BASH_REMATCH[1]}
	[ "${lines[2]}" = "POST /api/projects/$P/execute $(jq -nc --arg r "$req" '{request: $r}')" ]
	[ "${lines[3]}" = '""' ]
	# a blank request is not sent
	[ "${lines[4]}" = "POST /api/projects/$P/execute {}" ]
	[ "$("$B/wf" run show "$new" --json | jq -r .request)" = "$req" ]
	# the run's page shows it, as text
	dom=$(dump_dom "$URL#/runs/$new")
	[[ "$dom" == *'<dt>Request</dt><dd><span class="request">Add a &lt;b&gt;dark&lt;/b&gt; mode toggle.
Keep it "simple".</span></dd>'* ]]
}

# seed_project: the seed, and calc's overview, a credential (its secret on
# stdin) and an environment
seed_project() {
	seed
	"$B/wf" project update "$P" --primary-branch trunk --languages c,sh \
	    --frameworks bats --key-files Makefile,lib/calc.c \
	    --build-command 'make all' --test-command 'make check' \
	    --deploy-command './deploy.sh' >/dev/null
	SECRET=s3cr3t-$RANDOM-value
	printf '%s\n' "$SECRET" | "$B/wf" cred add --project "$P" \
	    --name deploy-key --type api_key --service github.com \
	    --username bob >/dev/null
	"$B/wf" env create --project-id "$P" --name prod --env-type production \
	    --url https://calc.example >/dev/null
}

# the page's helpers for the steps of cdp: set a field as a person would
SETF="eval window.setf = (id, v) => { const e = document.getElementById(id); e.value = v; e.dispatchEvent(new Event('change')); }"
NOTICE='document.getElementById("notice-text").textContent'

@test "#/projects/N shows the project's overview, tasks, credentials without their secret, environments and runs" {
	seed_project
	start_server
	dom=$(dump_dom "$URL#/projects/$P")
	[ -n "$dom" ]
	# this view shown, the dashboard hidden, the nav says where we are
	[[ "$dom" =~ \<section\ id=\"view-dashboard\"\ class=\"view\"\ aria-labelledby=\"dashboard-h\"\ hidden ]]
	[[ "$dom" == *'aria-current="page">Projects<'* ]]
	view=$(between "$dom" 'id="view-project"' 'id="view-runs"')
	[[ "$view" == *'id="project-h" class="page-h" tabindex="-1">calc<'* ]]
	[[ "$view" == *'>a calculator<'* ]]
	# the overview
	[[ "$view" == *"data-field=\"repo_path\">$BATS_TEST_TMPDIR<"* ]]
	[[ "$view" == *'data-field="primary_branch">trunk<'* ]]
	[[ "$view" == *'>c</span><span class="chip lang">sh<'* ]]
	[[ "$view" == *'>bats<'* && "$view" == *'>lib/calc.c<'* ]]
	[[ "$view" == *'data-field="build_command">make all<'* ]]
	[[ "$view" == *'data-field="test_command">make check<'* ]]
	[[ "$view" == *'data-field="deploy_command">./deploy.sh<'* ]]
	# its tasks, with their status, and not the other project's
	tasks=$(between "$view" 'id="ptasks-body"' '</tbody>')
	[[ "$tasks" == *'data-task="CALC-1"'*'>add adds its operands<'*'>critical<'* ]]
	[[ "$tasks" == *'data-task="CALC-2"'*'>keep mul working<'* ]]
	[[ "$tasks" != *elsewhere* ]]
	# the credential, by name, type, service and user; never its secret
	creds=$(between "$view" 'id="pcreds-body"' '</tbody>')
	[[ "$creds" == *'data-cred="deploy-key"'*'>api_key<'*'>github.com<'*'>bob<'*'>Delete</button>'* ]]
	[[ "$dom" != *"$SECRET"* ]]
	[[ "$(curl -sf "http://127.0.0.1:$PORT/api/projects/$P/credentials")" != *"$SECRET"* ]]
	# the environment
	envs=$(between "$view" 'id="penvs-body"' '</tbody>')
	[[ "$envs" == *'data-env="prod"'*'>production<'*'>https://calc.example<'* ]]
	# its runs, each a link to its page
	runs=$(between "$view" 'id="pruns-body"' '</tbody>')
	[[ "$runs" == *"href=\"#/runs/$R1\""*'>fix-add<'* ]]
	[[ "$runs" == *'>second<'* && "$runs" != *'other-run'* ]]
	# an id that is no project says so
	dom=$(dump_dom "$URL#/projects/999")
	[[ "$dom" == *'tabindex="-1">No project 999<'* ]]
}

@test "with a token, #/projects/N adds a task, moves one, adds a credential (its secret never shown), an environment, deletes a credential, starts a pipeline and edits the settings" {
	seed_project
	TOKEN=$("$B/wf" token add dave)
	start_server
	NEW=n3w-$RANDOM-secret
	run cdp "$URL#/projects/$P" \
	    "wait !!(document.querySelector('[data-task=\"CALC-1\"] select'))" \
	    "$SETF" \
	    "eval setf('token', '$TOKEN')" \
	    "eval setf('task-id', 'CALC-9')" \
	    "eval setf('task-title', 'divide by zero politely')" \
	    "eval setf('task-priority', '2')" \
	    "eval setf('task-desc', 'say so, do not crash')" \
	    "eval document.querySelector('#task-form button[type=submit]').click()" \
	    "wait !!(document.querySelector('[data-task=\"CALC-9\"]'))" \
	    "print document.querySelector('[data-task=\"CALC-9\"]').textContent" \
	    "eval (s => { s.value = 'in_progress'; s.dispatchEvent(new Event('change')); })(document.querySelector('[data-task=\"CALC-1\"] select'))" \
	    "wait !!($NOTICE.includes('is now in progress'))" \
	    "print $NOTICE" \
	    "eval setf('cred-name', 'db')" \
	    "eval setf('cred-type', 'database')" \
	    "eval setf('cred-user', 'calc')" \
	    "eval setf('cred-secret', '$NEW')" \
	    "eval document.querySelector('#cred-form button[type=submit]').click()" \
	    "wait !!(document.querySelector('[data-cred=\"db\"]'))" \
	    "print document.querySelector('[data-cred=\"db\"]').textContent" \
	    "print document.documentElement.outerHTML.includes('$NEW') || [...document.querySelectorAll('input')].some((i) => i.value.includes('$NEW'))" \
	    "eval setf('env-name', 'staging')" \
	    "eval setf('env-type', 'staging')" \
	    "eval setf('env-url', 'https://staging.calc.example')" \
	    "eval document.querySelector('#env-form button[type=submit]').click()" \
	    "wait !!(document.querySelector('[data-env=\"staging\"]'))" \
	    "print document.querySelector('[data-env=\"staging\"]').textContent" \
	    "eval window.confirm = () => true" \
	    "eval document.querySelector('[data-cred=\"deploy-key\"] button').click()" \
	    "wait !document.querySelector('[data-cred=\"deploy-key\"]')" \
	    "print $NOTICE" \
	    "eval document.getElementById('project-start').click()" \
	    "wait $NOTICE.includes('started')" \
	    "print $NOTICE" \
	    "wait document.querySelectorAll('#pruns-body [data-run]').length === 3" \
	    "eval document.getElementById('project-edit').click()" \
	    "print document.getElementById('ps-languages').value + '|' + document.getElementById('ps-test_command').value" \
	    "eval setf('ps-languages', 'c, awk')" \
	    "eval setf('ps-test_command', 'make test')" \
	    "eval setf('ps-deploy_command', '')" \
	    "eval document.querySelector('#project-settings button[type=submit]').click()" \
	    "wait !!document.querySelector('[data-field=test_command]') && document.querySelector('[data-field=test_command]').textContent === 'make test'" \
	    "print document.getElementById('project-settings').hidden + '|' + $NOTICE"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *CALC-9*'divide by zero politely'*'say so, do not crash'*high* ]]
	[ "${lines[1]}" = 'Task CALC-1 is now in progress.' ]
	[[ "${lines[2]}" == db*database*calc* ]]
	[ "${lines[3]}" = False ]
	[[ "${lines[4]}" == staging*staging*https://staging.calc.example* ]]
	[ "${lines[5]}" = 'Credential deploy-key deleted.' ]
	[[ "${lines[6]}" =~ ^Run\ #([0-9]+)\ started\ for\ calc\.$ ]]
	[ "$("$B/wf" run show "${BASH_REMATCH[1]}" --json | jq .project_id)" = "$P" ]
	[ "${lines[7]}" = 'c, sh|make check' ]
	[ "${lines[8]}" = 'true|Project calc saved.' ]
	[ "$("$B/wf" project show "$P" --json | jq -c '[.languages, .test_command, .deploy_command, .build_command]')" = '[["c","awk"],"make test","","make all"]' ]
	# the store has what the page did, by the token's owner
	tid=$("$B/wf" task list --project-id "$P" --json | jq '.[] | select(.task_id == "CALC-9") | .id')
	[ "$("$B/wf" task show "$tid" --json | jq -r '[.title, .priority, .description, .status] | join("|")')" = 'divide by zero politely|2|say so, do not crash|backlog' ]
	one=$("$B/wf" task list --project-id "$P" --json | jq '.[] | select(.task_id == "CALC-1") | .id')
	[ "$("$B/wf" task show "$one" --json | jq -r .status)" = in_progress ]
	[ "$("$B/wf" cred list --project "$P" --json | jq -r '[.[] | "\(.name):\(.credential_type):\(.username)"] | join(" ")')" = db:database:calc ]
	id=$("$B/wf" cred list --project "$P" --json | jq '.[0].id')
	[ "$("$B/wf" cred get "$id" --reveal)" = "$NEW" ]
	[ "$("$B/wf" env list --project-id "$P" --json | jq -r '.[] | select(.name == "staging") | .url')" = https://staging.calc.example ]
	grep '"action":"task.created"' "$WF_HOME/log/audit.jsonl" | tail -1 | grep -q '"actor":"http:dave"'
	! grep -q "$NEW" "$WF_HOME/log/audit.jsonl" "$BATS_TEST_TMPDIR/server.log"
}

@test "#/runs lists the runs; #/runs/R shows the history, the results, the allowed action; Retry moves a QA_FAILED run; an illegal action shows the pipeline's reason; a deploy approved to an environment" {
	seed
	TOKEN=$("$B/wf" token add erin)
	"$B/wf" run set-state "$R2" QA_FAILED --force --why 'qa broke it' >/dev/null
	f="$WF_HOME/state/runs/$R2.json"
	jq '.results = {"qa": {"role": "qa", "status": "fail", "summary": "2 of 9 tests fail"}}' "$f" >"$f.new"
	mv "$f.new" "$f"
	R3=$("$B/wf" run create --project-id "$P" --name fresh)
	"$B/wf" env create --project-id "$P" --name prod --env-type production \
	    --deploy-command true >/dev/null
	start_server
	dom=$(dump_dom "$URL#/runs")
	runs=$(between "$dom" 'id="runs-body"' '</tbody>')
	[[ "$runs" == *"data-run=\"$R3\""*"data-run=\"$R2\""*"data-run=\"$R1\""* ]]
	[[ "$runs" == *'>other-run<'*'>other<'* ]]
	[[ "$runs" == *'>needs a human<'* ]]
	run cdp "$URL#/runs/$R2" \
	    "wait !!(document.querySelector('#run-actions [data-action=retry]'))" \
	    "$SETF" \
	    "print document.getElementById('run-h').textContent" \
	    "print document.getElementById('run-state').textContent" \
	    "print document.getElementById('run-history').textContent" \
	    "print document.getElementById('run-results').textContent" \
	    "print [...document.querySelectorAll('#run-actions button')].map((b) => b.textContent).join(',')" \
	    "eval setf('token', '$TOKEN')" \
	    "eval document.querySelector('#run-actions [data-action=retry]').click()" \
	    "wait !!($NOTICE.includes('sent back'))" \
	    "print $NOTICE" \
	    "wait document.getElementById('run-state').textContent === 'DEV'" \
	    "eval location.hash = '#/runs/$R3'" \
	    "wait !!(document.getElementById('run-h').textContent.includes('fresh') && document.querySelector('#run-actions [data-action=advance]'))" \
	    "eval document.querySelector('#run-actions [data-action=advance]').click()" \
	    "wait !document.getElementById('run-action-msg').hidden" \
	    "print document.getElementById('run-action-msg').textContent" \
	    "eval location.hash = '#/runs/$R1'" \
	    "wait !!(document.querySelector('#run-actions [data-action=approve-deploy]'))" \
	    "wait !!document.querySelector('#deploy-env option[value=prod]')" \
	    "print document.getElementById('run-human').textContent" \
	    "print [...document.querySelectorAll('#run-actions button')].map((b) => b.textContent).join(',')" \
	    "eval setf('deploy-env', 'prod')" \
	    "eval window.confirm = (q) => { window.asked = q; return true; }" \
	    "eval document.querySelector('#run-actions [data-action=approve-deploy]').click()" \
	    "wait $NOTICE.includes('deploy approved')" \
	    "print window.asked" \
	    "print $NOTICE"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Run #$R2 · second" ]
	[ "${lines[1]}" = 'QA FAILED' ]
	[[ "${lines[2]}" == *'PM → QA FAILED'*'qa broke it'* ]]
	[[ "${lines[3]}" == *QA*fail*'2 of 9 tests fail'* ]]
	[ "${lines[4]}" = 'Retry,Reset to DEV,Abandon' ]
	[[ "${lines[5]}" == "Run #$R2 sent back to DEV"* ]]
	[ "${lines[6]}" = 'run is PM: it needs a passing pm report first' ]
	[ "${lines[7]}" = 'Waiting for a human: deploy needs a <b>human</b> approval' ]
	[ "${lines[8]}" = 'Approve deploy,Abandon' ]
	[ "${lines[9]}" = "Approve the deploy of run #$R1 (fix-add) to prod?" ]
	[ "${lines[10]}" = "Run #$R1 deploy approved: now TESTING." ]
	# the store moved the one run, by the token's owner, and not the other
	[ "$("$B/wf" run show "$R2" --json | jq -r .state)" = DEV ]
	[ "$("$B/wf" run show "$R2" --json | jq -r '.history[-1].actor')" = http:erin ]
	[ "$("$B/wf" run show "$R3" --json | jq -r .state)" = PM ]
	[ "$("$B/wf" run show "$R1" --json | jq -r '[.state, .approved_by] | join("|")')" = 'TESTING|http:erin' ]
}

@test "#/bugs lists the bugs, filters them by status, reports one, changes a status, and shows one reported elsewhere" {
	seed
	TOKEN=$("$B/wf" token add fay)
	start_server
	b1=$("$B/wf" bug list --json | jq '.[] | select(.title == "crash on 0") | .id')
	# a bug reported elsewhere while the page is open, when cdp says so
	(
		trap '"$B/wf" bug create --title "from the cli" --status resolved >/dev/null; exit 0' TERM
		while :; do sleep 0.05; done
	) 3>&- &
	cli=$!
	run cdp "$URL#/bugs" \
	    "wait !!(document.querySelectorAll('#bugs-body [data-bug]').length === 2 && document.querySelector('#bug-project option[value=\"$P\"]'))" \
	    "$SETF" \
	    "print document.getElementById('bugs-body').textContent" \
	    "eval setf('token', '$TOKEN')" \
	    "eval setf('bug-title', 'minus sign lost')" \
	    "eval setf('bug-desc', 'type -3, get 3')" \
	    "eval setf('bug-url', 'http://calc.local/ui')" \
	    "eval setf('bug-app', 'calc-web')" \
	    "eval setf('bug-project', '$P')" \
	    "eval document.querySelector('#bug-form button[type=submit]').click()" \
	    "wait document.querySelectorAll('#bugs-body [data-bug]').length === 3" \
	    "print document.querySelector('#bugs-body tr').textContent" \
	    "eval (s => { s.value = 'resolved'; s.dispatchEvent(new Event('change')); })(document.querySelector('[data-bug=\"$b1\"] select'))" \
	    "wait !!($NOTICE.includes('is now resolved'))" \
	    "print $NOTICE" \
	    "eval setf('bugs-status', 'resolved')" \
	    "wait document.querySelectorAll('#bugs-body [data-bug]').length === 1" \
	    "print document.getElementById('bugs-body').textContent" \
	    "kill $cli" \
	    "wait document.querySelectorAll('#bugs-body [data-bug]').length === 2" \
	    "print document.querySelector('#bugs-body tr').textContent"
	kill "$cli" 2>/dev/null || true  # when cdp stopped short of it
	wait "$cli" || true
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *typo*other*'crash on 0'*calc* ]]
	[[ "${lines[1]}" == *'minus sign lost'*'type -3, get 3'*calc*calc-web*http://calc.local/ui*open* ]]
	[ "${lines[2]}" = "Bug #$b1 is now resolved." ]
	[[ "${lines[3]}" == *'crash on 0'* && "${lines[3]}" != *typo* ]]
	# the poll brought it in, with no reload
	[[ "${lines[4]}" == *'from the cli'*resolved* ]]
	# the store has them
	[ "$("$B/wf" bug show "$b1" --json | jq -r .status)" = resolved ]
	[ "$("$B/wf" bug list --json | jq -r '.[] | select(.title == "minus sign lost") | [.description, .url, .app_name, .project_id, .status] | join("|")')" = "type -3, get 3|http://calc.local/ui|calc-web|$P|open" ]
}

@test "#/projects lists the projects with their counts, each a link to its page; with a token, it creates one and opens it" {
	seed
	TOKEN=$("$B/wf" token add gil)
	start_server
	repo="$BATS_TEST_TMPDIR/newrepo"
	mkdir "$repo"
	run cdp "$URL#/projects" \
	    "wait document.querySelectorAll('#plist-body [data-project]').length === 2" \
	    "$SETF" \
	    "print [...document.querySelectorAll('#plist-body tr')].map((r) => r.textContent).join('|')" \
	    "print document.querySelector('#plist-body [data-project=\"$P\"] a').getAttribute('href')" \
	    "eval setf('token', '$TOKEN')" \
	    "eval setf('proj-name', 'abacus')" \
	    "eval setf('proj-repo', '$repo')" \
	    "eval setf('proj-desc', 'beads on rods')" \
	    "eval document.querySelector('#project-form button[type=submit]').click()" \
	    "wait document.getElementById('project-h').textContent === 'abacus'" \
	    "print location.hash" \
	    "print document.getElementById('project-desc').textContent" \
	    "print $NOTICE"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == calc'a calculator'*'2'*'2|other'* ]]
	[ "${lines[1]}" = "#/projects/$P" ]
	id=$("$B/wf" project list --json | jq '.[] | select(.name == "abacus") | .id')
	[ "${lines[2]}" = "#/projects/$id" ]
	[ "${lines[3]}" = 'beads on rods' ]
	[ "${lines[4]}" = 'Project abacus created.' ]
	[ "$("$B/wf" project show "$id" --json | jq -r '[.repo_path, .description] | join("|")')" = "$repo|beads on rods" ]
}

# the page's fetch, watched: window.sent gets each write as "METHOD PATH
# BODY", window.answers the text of every answer
WATCH="eval (f => { window.sent = []; window.answers = []; window.fetch = async (u, o) => { if (o && o.method && o.method !== 'GET') window.sent.push(o.method + ' ' + u + ' ' + (o.body || '')); const r = await f(u, o); window.answers.push(await r.clone().text()); return r; }; })(window.fetch)"

@test "with a token, #/projects/N edits an environment (only the fields changed are sent), shows a refusal, clears a field and deletes one" {
	seed_project
	TOKEN=$("$B/wf" token add hal)
	E=$("$B/wf" env list --project-id "$P" --json | jq '.[] | select(.name == "prod") | .id')
	F=$("$B/wf" env create --project-id "$P" --name qa --env-type testing \
	    --deploy-command './to-qa.sh')
	start_server
	row='document.querySelector("[data-env=prod]")'
	run cdp "$URL#/projects/$P" \
	    "wait !!document.querySelector('[data-env=qa] [data-action=edit]')" \
	    "$SETF" \
	    "$WATCH" \
	    "eval setf('token', '$TOKEN')" \
	    "print document.getElementById('env-edit').hidden" \
	    "eval $row.querySelector('[data-action=edit]').click()" \
	    "print document.getElementById('env-edit').hidden + '|' + document.getElementById('env-edit-name').textContent + '|' + ['name', 'env_type', 'url', 'deploy_command', 'ssh_port'].map((k) => document.getElementById('ee-' + k).value).join('|')" \
	    "print document.activeElement.id" \
	    "eval setf('ee-url', 'https://calc.example/v2')" \
	    "eval setf('ee-deploy_command', './ship.sh')" \
	    "eval setf('ee-ssh_port', '2222')" \
	    "eval document.querySelector('#env-edit button[type=submit]').click()" \
	    "wait $NOTICE.includes('saved')" \
	    "print $NOTICE" \
	    "print window.sent.join(' ; ')" \
	    "wait $row.textContent.includes('calc.example/v2')" \
	    "print document.getElementById('env-edit').hidden + '|' + $row.textContent" \
	    "eval $row.querySelector('[data-action=edit]').click()" \
	    "print document.getElementById('ee-ssh_port').value" \
	    "eval setf('ee-ssh_port', 'twenty-two')" \
	    "eval document.querySelector('#env-edit button[type=submit]').click()" \
	    "print $NOTICE + '|' + window.sent.length" \
	    "eval setf('ee-ssh_port', '2222')" \
	    "eval setf('ee-name', 'qa')" \
	    "eval document.querySelector('#env-edit button[type=submit]').click()" \
	    "wait $NOTICE.includes('taken')" \
	    "print $NOTICE" \
	    "print document.getElementById('env-edit').hidden" \
	    "eval setf('ee-name', 'prod')" \
	    "eval setf('ee-ssh_port', '')" \
	    "eval document.querySelector('#env-edit button[type=submit]').click()" \
	    "wait $NOTICE === 'Environment prod saved.' && document.getElementById('env-edit').hidden" \
	    "print window.sent[window.sent.length - 1]" \
	    "eval window.confirm = (q) => { window.asked = q; return true; }" \
	    "eval document.querySelector('[data-env=qa] [data-action=delete]').click()" \
	    "wait !document.querySelector('[data-env=qa]')" \
	    "print window.asked" \
	    "print $NOTICE" \
	    "print window.sent[window.sent.length - 1].trim()" \
	    "print document.querySelectorAll('#penvs-body [data-env]').length"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = True ]
	# opened, filled from the record, the name focused
	[ "${lines[1]}" = 'false|prod|prod|production|https://calc.example||' ]
	[ "${lines[2]}" = ee-name ]
	[ "${lines[3]}" = 'Environment prod saved.' ]
	# only what changed went, the port as a number
	[ "${lines[4]}" = "PATCH /api/environments/$E/update {\"url\":\"https://calc.example/v2\",\"deploy_command\":\"./ship.sh\",\"ssh_port\":2222}" ]
	[[ "${lines[5]}" == 'true|prod'*'https://calc.example/v2'*'./ship.sh'*Edit*Delete ]]
	[ "${lines[6]}" = 2222 ]
	# a port that is no number is refused in the page: nothing sent
	[ "${lines[7]}" = 'SSH port: a whole number is needed.|1' ]
	# the store's reason, and the form stays open to fix it
	[ "${lines[8]}" = "environment: name 'qa' is taken by environment $F" ]
	[ "${lines[9]}" = False ]
	# an emptied number is cleared by null
	[ "${lines[10]}" = "PATCH /api/environments/$E/update {\"ssh_port\":null}" ]
	[ "${lines[11]}" = 'Delete the environment qa? No deploy can go to it any more.' ]
	[ "${lines[12]}" = 'Environment qa deleted.' ]
	[ "${lines[13]}" = "DELETE /api/environments/$F/delete" ]
	[ "${lines[14]}" = 1 ]
	# the store has what the page did, by the token's owner
	[ "$("$B/wf" env show "$E" --json | jq -c '[.name, .env_type, .url, .deploy_command, .ssh_port]')" = '["prod","production","https://calc.example/v2","./ship.sh",null]' ]
	[ "$("$B/wf" env list --project-id "$P" --json | jq -r '[.[].name] | join(",")')" = prod ]
	run "$B/wf" env show "$F"
	[ "$status" -ne 0 ]
	grep '"action":"environment.updated"' "$WF_HOME/log/audit.jsonl" | tail -1 | grep -q '"actor":"http:hal"'
	grep '"action":"environment.deleted"' "$WF_HOME/log/audit.jsonl" | tail -1 | grep -q "\"entity_id\":$F"
}

@test "#/webhooks lists the webhooks; with a token, it creates one with a typed secret and one with a secret wf makes, neither ever shown, shows the store's refusal and deletes one" {
	TOKEN=$("$B/wf" token add ivy)
	printf 'cli-made-%s\n' "$RANDOM" >"$BATS_TEST_TMPDIR/ops.secret"
	O=$("$B/wf" webhook create --name ops --url https://ops.example/hook \
	    --events 'run.*' --secret-file "$BATS_TEST_TMPDIR/ops.secret")
	# -v: the server logs each request, so that its log can be searched
	start_server -v
	HSEC=typed-$RANDOM-$RANDOM-hook-secret
	dom=$(dump_dom "$URL#/webhooks")
	[[ "$dom" == *'aria-current="page">Webhooks<'* ]]
	hooks=$(between "$dom" 'id="hooks-body"' '</tbody>')
	[[ "$hooks" == *'data-hook="ops"'*'>ops<'*'>https://ops.example/hook<'*'>run.*<'*'>active<'*'>none yet<'*'>Delete</button>'* ]]
	[[ "$dom" != *cli-made-* ]]
	hook='(n) => document.querySelector("[data-hook=\"" + n + "\"]")'
	leak="document.documentElement.outerHTML.includes('$HSEC') || [...document.querySelectorAll('input')].some((i) => i.value.includes('$HSEC'))"
	run cdp "$URL#/webhooks" \
	    "wait !!document.querySelector('[data-hook=ops]')" \
	    "$SETF" \
	    "$WATCH" \
	    "eval window.hook = $hook" \
	    "eval setf('token', '$TOKEN')" \
	    "eval setf('hook-name', 'chat')" \
	    "eval setf('hook-url', 'https://chat.example/in')" \
	    "eval setf('hook-events', 'run.*, bug.created')" \
	    "eval setf('hook-secret', '$HSEC')" \
	    "eval document.querySelector('#hook-form button[type=submit]').click()" \
	    "wait !!hook('chat')" \
	    "print hook('chat').textContent" \
	    "print $NOTICE" \
	    "print document.getElementById('hook-secret').value === '' && document.getElementById('hook-name').value === ''" \
	    "print $leak" \
	    "print window.answers.some((a) => a.includes('$HSEC'))" \
	    "print window.sent.filter((w) => w.startsWith('POST')).length" \
	    "eval setf('hook-name', 'bare')" \
	    "eval setf('hook-url', 'https://bare.example/')" \
	    "eval document.querySelector('#hook-form button[type=submit]').click()" \
	    "wait !!hook('bare')" \
	    "print $NOTICE" \
	    "print window.sent[window.sent.length - 1]" \
	    "print document.documentElement.outerHTML.includes('whsec_') || [...document.querySelectorAll('input')].some((i) => i.value.includes('whsec_'))" \
	    "eval setf('hook-name', 'chat')" \
	    "eval setf('hook-url', 'https://other.example/')" \
	    "eval setf('hook-secret', '$HSEC')" \
	    "eval document.querySelector('#hook-form button[type=submit]').click()" \
	    "wait $NOTICE.includes('taken')" \
	    "print $NOTICE" \
	    "print document.getElementById('hook-secret').value === '' && document.getElementById('hook-name').value === 'chat'" \
	    "eval setf('hook-name', 'ftp')" \
	    "eval setf('hook-url', 'ftp://files.example/')" \
	    "eval document.querySelector('#hook-form button[type=submit]').click()" \
	    "wait $NOTICE.includes('URL')" \
	    "print $NOTICE" \
	    "eval setf('hook-url', 'https://files.example/')" \
	    "eval setf('hook-events', 'run.* not/a/glob')" \
	    "eval document.querySelector('#hook-form button[type=submit]').click()" \
	    "print $NOTICE + '|' + window.sent.length" \
	    "eval window.confirm = (q) => { window.asked = q; return true; }" \
	    "eval hook('ops').querySelector('button').click()" \
	    "wait !hook('ops')" \
	    "print window.asked" \
	    "print $NOTICE" \
	    "print window.sent[window.sent.length - 1].trim()" \
	    "print [...document.querySelectorAll('#hooks-body [data-hook]')].map((r) => r.dataset.hook).join(',')" \
	    "print $leak"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == chat*https://chat.example/in*run.*bug.created*active*'none yet'*Delete ]]
	[ "${lines[1]}" = 'Webhook chat created, signed with the secret typed.' ]
	[ "${lines[2]}" = True ]
	# the typed secret: not in the DOM, nor a field, nor any answer
	[ "${lines[3]}" = False ]
	[ "${lines[4]}" = False ]
	[ "${lines[5]}" = 1 ]
	chat=$("$B/wf" webhook list --json | jq '.[] | select(.name == "chat") | .id')
	bare=$("$B/wf" webhook list --json | jq '.[] | select(.name == "bare") | .id')
	# the secret wf made is in the answer, once, and dropped unread
	[ "${lines[6]}" = "Webhook bare created. wf made its secret, which this page does not show: wf webhook show $bare --reveal-secret prints it." ]
	[ "${lines[7]}" = 'POST /api/webhooks/create {"name":"bare","url":"https://bare.example/"}' ]
	[ "${lines[8]}" = False ]
	# the store's refusals, as the API gave them; the secret field emptied
	[ "${lines[9]}" = "webhook: name 'chat' is taken by webhook $chat" ]
	[ "${lines[10]}" = True ]
	[ "${lines[11]}" = "url: 'ftp://files.example/' is not an http:// or https:// URL" ]
	# a glob wf webhook would refuse is refused in the page: nothing sent
	[[ "${lines[12]}" == "Events: 'not/a/glob' is not an event name or a glob"*'|4' ]]
	[ "${lines[13]}" = 'Delete the webhook ops? wf-notify stops sending it events.' ]
	[ "${lines[14]}" = 'Webhook ops deleted.' ]
	[ "${lines[15]}" = "DELETE /api/webhooks/$O/delete" ]
	[ "${lines[16]}" = chat,bare ]
	[ "${lines[17]}" = False ]
	# the store: the two, their fields, the typed secret sealed as typed
	[ "$("$B/wf" webhook list --json | jq -r '[.[] | "\(.name)|\(.url)|\(.events | join(","))|\(.active)|\(.has_secret)"] | join(" ")')" = 'chat|https://chat.example/in|run.*,bug.created|true|true bare|https://bare.example/|*|true|true' ]
	[ "$("$B/wf" webhook show "$chat" --reveal-secret --json | jq -r .secret)" = "$HSEC" ]
	made=$("$B/wf" webhook show "$bare" --reveal-secret --json | jq -r .secret)
	[[ "$made" == whsec_* ]]
	# neither secret in the API's list, the audit trail or the server's log
	api=$(curl -sf "http://127.0.0.1:$PORT/api/webhooks")
	[[ "$api" == *'"name":"chat"'* && "$api" != *"$HSEC"* && "$api" != *"$made"* ]]
	grep -q '"action":"webhook.created"' "$WF_HOME/log/audit.jsonl"
	grep '"action":"webhook.deleted"' "$WF_HOME/log/audit.jsonl" | tail -1 | grep -q '"actor":"http:ivy"'
	grep -q 'POST /api/webhooks/create 201' "$BATS_TEST_TMPDIR/server.log"
	! grep -qF -e "$HSEC" -e "$made" "$WF_HOME/log/audit.jsonl" "$BATS_TEST_TMPDIR/server.log"
}

# dead_letter NAME WEBHOOK_ID ERROR: a dead delivery as wf-notify leaves it
dead_letter() {
	jq -nc --arg id "$1" --argjson w "$2" --arg e "$3" \
	    '{id: $id, event_id: "e", event: "run.state_changed", webhook_id: $w,
	      attempt: 5, max_attempts: 5, next_at: 1, state: "dead",
	      body: "{\"payload-secret\":1}", last_status: 500, last_error: $e,
	      created_at: "2026-01-01T00:00:00.000Z", dead_at: 1767225600000}' \
	    >"$WF_HOME/events/dead/$1"
}

@test "#/webhooks shows the dead letters (event, webhook, last error, attempts, when); with a token, Redeliver puts one back and Redeliver all the rest" {
	TOKEN=$("$B/wf" token add una)
	"$B/wf" webhook create --name ops --url https://ops.example/hook >/dev/null
	W=$("$B/wf" webhook list --json | jq ".[0].id")
	dead_letter 1767225600.M1.x.w$W "$W" 'HTTP 500 <b>boom</b>'
	dead_letter 1767225601.M2.x.w$W "$W" 'connection refused'
	dead_letter 1767225602.M3.x.w9 9 'HTTP 502'
	start_server
	dom=$(dump_dom "$URL#/webhooks")
	dead=$(between "$dom" 'id="dead-body"' '</tbody>')
	[[ "$dead" == *"data-dead=\"1767225600.M1.x.w$W\""*'>run.state_changed<'*'>ops<'*'HTTP 500 &lt;b&gt;boom&lt;/b&gt;'*'>5 of 5<'*'<time'*'>Redeliver</button>'* ]]
	[[ "$dead" == *'#9 (deleted)'*'HTTP 502'* ]]
	[[ "$dead" != *payload-secret* ]]
	row='(n) => document.querySelector("[data-dead=\"" + n + "\"]")'
	run cdp "$URL#/webhooks" \
	    "wait document.querySelectorAll('[data-dead]').length === 3" \
	    "$SETF" \
	    "$WATCH" \
	    "eval window.row = $row" \
	    "eval setf('token', '$TOKEN')" \
	    "print document.getElementById('dead-all').disabled" \
	    "eval row('1767225601.M2.x.w$W').querySelector('button').click()" \
	    "wait !row('1767225601.M2.x.w$W')" \
	    "print $NOTICE" \
	    "print window.sent.join('|').trim()" \
	    "eval document.getElementById('dead-all').click()" \
	    "wait document.querySelectorAll('[data-dead]').length === 1" \
	    "print $NOTICE" \
	    "print window.sent[window.sent.length - 1].trim()" \
	    "print [...document.querySelectorAll('[data-dead]')].map((r) => r.dataset.dead).join(',')" \
	    "eval document.getElementById('notice').hidden = true" \
	    "eval $WATCH" \
	    "eval document.getElementById('dead-all').click()" \
	    "wait !document.getElementById('notice').hidden" \
	    "print $NOTICE"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = False ]
	[ "${lines[1]}" = 'Delivery of run.state_changed put back in the queue: wf-notify sends it again.' ]
	[ "${lines[2]}" = "POST /api/webhooks/deliveries/1767225601.M2.x.w$W/redeliver {}" ]
	# all: ours goes back; the deleted webhook's is refused, with why
	[[ "${lines[3]}" == "1 redelivered; 1 refused: 1767225602.M3.x.w9: "*webhook* ]]
	[ "${lines[4]}" = 'POST /api/webhooks/deliveries/redeliver-all {}' ]
	[ "${lines[5]}" = 1767225602.M3.x.w9 ]
	# again: nothing more to redeliver, said once more
	[[ "${lines[6]}" == "0 redelivered; 1 refused: "* ]]
	# the store: ours back in deferred with their attempts reset
	[ "$(ls "$WF_HOME/events/dead")" = 1767225602.M3.x.w9 ]
	[ "$(cat "$WF_HOME"/events/deferred/* | jq -s 'map(.attempt) | add')" -eq 0 ]
	[ "$(ls "$WF_HOME/events/deferred" | wc -l)" -eq 2 ]
	grep '"action":"webhook.redeliver"' "$WF_HOME/log/audit.jsonl" | tail -1 | grep -q '"actor":"http:una"'
}

# gitc ARG...: git with an author
gitc() { git -c user.name=u -c user.email=u@localhost "$@"; }

# git_project: the user's repository on main (calc.sh whose add
# subtracts, shared.txt) and its project; sets REPO and GP
git_project() {
	REPO="$BATS_TEST_TMPDIR/calc"
	mkdir -p "$REPO"
	git -C "$REPO" init -q -b main
	printf '%s\n' '#!/bin/sh' 'case $1 in add) echo $(($2 - $3)) ;; esac' \
	    >"$REPO/calc.sh"
	echo shared >"$REPO/shared.txt"
	git -C "$REPO" add -A
	gitc -C "$REPO" commit -qm 'calc with a bug'
	GP=$("$B/wf" project create --name gcalc --repo-path "$REPO")
}

# ready_run NAME: a run of the git project left as the pipeline would
# leave it in READY_FOR_COMMIT: wf run create made its worktree on
# wf/run-N; its DEV fixed calc.sh and wrote shared.txt there, committed;
# sets RR and WT
ready_run() {
	RR=$("$B/wf" run create --project-id "$GP" --name "$1")
	WT=$(jq -r .worktree "$WF_HOME/state/runs/$RR.json")
	[ -f "$WT/.git" ]
	sed -i 's/\$2 - \$3/$2 + $3/' "$WT/calc.sh"
	echo "run $RR" >"$WT/shared.txt"
	git -C "$WT" add -A
	gitc -C "$WT" commit -qm 'fix add'
	"$B/wf" run set-state "$RR" READY_FOR_COMMIT --force --why 'sec passed' \
	    >/dev/null
}

@test "#/runs/N of a READY_FOR_COMMIT run shows its branch, the stat and the patch before its actions; Merge, confirmed, merges it into main" {
	git_project
	ready_run fix-add
	TOKEN=$("$B/wf" token add kim)
	base=$(git -C "$REPO" rev-parse main)
	tip=$(git -C "$REPO" rev-parse "wf/run-$RR")
	[ "$base" != "$tip" ]
	start_server
	patch='#run-patch-text'
	run cdp "$URL#/runs/$RR" \
	    "wait !!document.querySelector('$patch .d-add') && !!document.querySelector('#run-actions [data-action=merge]')" \
	    "$SETF" \
	    "$WATCH" \
	    "print document.getElementById('run-branch').textContent" \
	    "print document.getElementById('run-stat').textContent.replace(/\s+/g, ' ').trim()" \
	    "print document.getElementById('run-patch').open + '|' + document.querySelector('#run-patch summary').textContent" \
	    "print [...document.querySelectorAll('$patch .d-add')].map((s) => s.textContent).join('|')" \
	    "print [...document.querySelectorAll('$patch .d-del')].map((s) => s.textContent).join('|')" \
	    "print ((c) => c('.d-add') !== c('.d-del') && c('.d-add') !== c('.d-ctx') && c('.d-del') !== c('.d-ctx'))((k) => getComputedStyle(document.querySelector('$patch ' + k)).color)" \
	    "print getComputedStyle(document.querySelector('$patch')).fontFamily + '|' + getComputedStyle(document.querySelector('$patch')).whiteSpace" \
	    "print !!(document.getElementById('run-changes').compareDocumentPosition(document.getElementById('run-actions')) & Node.DOCUMENT_POSITION_FOLLOWING) && document.getElementById('run-changes').getBoundingClientRect().bottom <= document.getElementById('run-actions').getBoundingClientRect().top" \
	    "print [...document.querySelectorAll('#run-actions button')].map((b) => b.textContent + (b.classList.contains('primary') ? '*' : '')).join(',')" \
	    "print [...document.querySelectorAll('#run-facts .fact')].map((f) => f.textContent).join('|')" \
	    "eval window.confirm = (q) => { window.asked = q; return false; }" \
	    "eval document.querySelector('#run-actions [data-action=merge]').click()" \
	    "print window.asked + '|' + window.sent.length" \
	    "eval setf('token', '$TOKEN')" \
	    "eval window.confirm = () => true" \
	    "eval document.querySelector('#run-actions [data-action=merge]').click()" \
	    "wait $NOTICE.includes('merged')" \
	    "print $NOTICE" \
	    "wait document.getElementById('run-state').textContent === 'MERGED' && !!document.getElementById('run-merged')" \
	    "print document.getElementById('run-merged').textContent" \
	    "print [...document.querySelectorAll('#run-actions button')].map((b) => b.textContent).join(',')" \
	    "print window.sent.join(' ; ')" \
	    "print document.querySelectorAll('$patch .d-add').length"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "wf/run-$RR from main at ${base:0:7}" ]
	[[ "${lines[1]}" == *'calc.sh | 2 +-'*'shared.txt | 2 +-'*'2 files changed, 2 insertions(+), 2 deletions(-)' ]]
	[ "${lines[2]}" = 'true|Patch · 2 files changed, 2 insertions(+), 2 deletions(-)' ]
	[ "${lines[3]}" = "+case \$1 in add) echo \$((\$2 + \$3)) ;; esac|+run $RR" ]
	[ "${lines[4]}" = "-case \$1 in add) echo \$((\$2 - \$3)) ;; esac|-shared" ]
	# + and - lines coloured apart from the context, in monospace
	[ "${lines[5]}" = True ]
	[[ "${lines[6]}" == *monospace*'|pre' ]]
	# the changes come before the actions, in the DOM and on the screen
	[ "${lines[7]}" = True ]
	[ "${lines[8]}" = 'Merge*,Advance,Abandon' ]
	[[ "${lines[9]}" == *"|Branchwf/run-$RR|Basemain at ${base:0:7}|Worktree$WT"* ]]
	# declined: nothing sent
	[ "${lines[10]}" = "Merge wf/run-$RR (run #$RR, fix-add) into main?|0" ]
	[ "${lines[11]}" = "Run #$RR merged: now MERGED." ]
	[[ "${lines[12]}" == "merged fast-forward into main as ${tip:0:7} by http:kim · "* ]]
	[ "${lines[13]}" = 'Advance,Abandon' ]
	[ "${lines[14]}" = "POST /api/runs/$RR/merge {}" ]
	# the diff is still there once merged: against where the run began
	[ "${lines[15]}" = 2 ]
	# main has the branch's commit, in the user's checkout too
	[ "$(git -C "$REPO" rev-parse main)" = "$tip" ]
	[ "$(cat "$REPO/shared.txt")" = "run $RR" ]
	[ -z "$(git -C "$REPO" status --porcelain)" ]
	[ "$("$B/wf" run show "$RR" --json | jq -r '[.state, .merge.how, .merge.by, .merge.commit] | join("|")')" = "MERGED|fast-forward|http:kim|$tip" ]
	grep '"action":"run.merged"' "$WF_HOME/log/audit.jsonl" | grep -q '"actor":"http:kim"'
}

@test "#/runs/N: a refused merge shows the reason beside the button, a conflict and then the user's uncommitted work, and nothing changes" {
	git_project
	ready_run clash
	TOKEN=$("$B/wf" token add lou)
	# the user changed the same line on main meanwhile
	echo 'the user' >"$REPO/shared.txt"
	gitc -C "$REPO" commit -qam mine
	mine=$(git -C "$REPO" rev-parse main)
	start_server
	merge=(
	    "wait !!document.querySelector('#run-actions [data-action=merge]') && !!document.getElementById('run-stat')"
	    "$SETF"
	    "eval setf('token', '$TOKEN')"
	    "eval window.confirm = () => true"
	    "eval document.querySelector('#run-actions [data-action=merge]').click()"
	    "wait !document.getElementById('run-action-msg').hidden"
	    "print document.getElementById('run-action-msg').textContent"
	    "print document.getElementById('run-action-msg').closest('.actions-body') === document.getElementById('run-actions').closest('.actions-body')"
	    "print document.getElementById('run-state').textContent + '|' + !!document.querySelector('#run-actions [data-action=merge]')"
	)
	run cdp "$URL#/runs/$RR" "${merge[@]}"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"does not merge into main cleanly"*"conflicts in: shared.txt" ]]
	[ "${lines[1]}" = True ]
	[ "${lines[2]}" = 'READY FOR COMMIT|true' ]
	[ "$(git -C "$REPO" rev-parse main)" = "$mine" ]
	[ "$(cat "$REPO/shared.txt")" = 'the user' ]
	[ -z "$(git -C "$REPO" status --porcelain)" ]
	state_is() { [ "$("$B/wf" run show "$RR" --json | jq -r .state)" = "$1" ]; }
	state_is READY_FOR_COMMIT

	# the user's work in progress, where the merge would write
	gitc -C "$REPO" reset -q --hard HEAD~1
	echo 'my edit in progress' >"$REPO/shared.txt"
	head=$(git -C "$REPO" rev-parse main)
	run cdp "$URL#/runs/$RR" "${merge[@]}"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"uncommitted changes where the merge writes"*"uncommitted in: shared.txt" ]]
	[ "${lines[2]}" = 'READY FOR COMMIT|true' ]
	[ "$(git -C "$REPO" rev-parse main)" = "$head" ]
	[ "$(cat "$REPO/shared.txt")" = 'my edit in progress' ]
	state_is READY_FOR_COMMIT
	! grep -q '"run.merged"' "$WF_HOME/log/audit.jsonl"
}

@test "#/runs/N: Abandon, confirmed, with a reason: ABANDONED, its worktree gone, its branch and its diff kept" {
	git_project
	ready_run dropme
	"$B/wf" run set-state "$RR" DEV --force --why 'back to dev' >/dev/null
	TOKEN=$("$B/wf" token add mia)
	start_server
	run cdp "$URL#/runs/$RR" \
	    "wait !!document.querySelector('#run-actions [data-action=abandon]') && !!document.getElementById('run-stat')" \
	    "$SETF" \
	    "$WATCH" \
	    "print [...document.querySelectorAll('#run-actions button')].map((b) => b.textContent).join(',')" \
	    "eval setf('token', '$TOKEN')" \
	    "eval setf('abandon-why', 'not needed after all')" \
	    "eval window.confirm = (q) => { window.asked = q; return false; }" \
	    "eval document.querySelector('#run-actions [data-action=abandon]').click()" \
	    "print window.asked + '|' + window.sent.length" \
	    "eval window.confirm = () => true" \
	    "eval document.querySelector('#run-actions [data-action=abandon]').click()" \
	    "wait $NOTICE.includes('abandoned')" \
	    "print $NOTICE" \
	    "wait document.getElementById('run-state').textContent === 'ABANDONED'" \
	    "print document.getElementById('run-actions-hint').textContent" \
	    "print document.querySelectorAll('#run-actions button').length" \
	    "print window.sent.join(' ; ')" \
	    "wait document.querySelector('#run-facts').textContent.includes('Branch') && !document.querySelector('#run-facts').textContent.includes('Worktree')" \
	    "print document.getElementById('run-stat').textContent.includes('shared.txt')"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 'Advance,Abandon' ]
	[ "${lines[1]}" = "Abandon run #$RR (dropme)? Its worktree is removed; its branch wf/run-$RR stays.|0" ]
	[ "${lines[2]}" = "Run #$RR abandoned: now ABANDONED." ]
	[ "${lines[3]}" = 'Abandoned: its worktree is gone, its branch stays.' ]
	[ "${lines[4]}" = 0 ]
	[ "${lines[5]}" = "POST /api/runs/$RR/abandon {\"why\":\"not needed after all\"}" ]
	[ "${lines[6]}" = True ]
	# the store: abandoned by the token's owner, with the reason; the
	# worktree gone, the branch kept
	[ "$("$B/wf" run show "$RR" --json | jq -r '[.state, .history[-1].why] | join("|")')" = 'ABANDONED|abandoned by http:mia: not needed after all' ]
	[ ! -e "$WT" ]
	git -C "$REPO" rev-parse -q --verify "refs/heads/wf/run-$RR" >/dev/null
}

@test "#/runs/N: a DEPLOY_FAILED run offers Approve deploy to an environment again, not 'Nothing to do'" {
	seed
	TOKEN=$("$B/wf" token add ned)
	"$B/wf" env create --project-id "$P" --name prod --env-type production \
	    --deploy-command true >/dev/null
	QA=$("$B/wf" env create --project-id "$P" --name qa --env-type testing \
	    --deploy-command true)
	"$B/wf" env create --project-id "$P" --name bare --env-type local >/dev/null
	"$B/wf" run set-state "$R1" DEPLOY_FAILED --force --why 'health check failed' >/dev/null
	f="$WF_HOME/state/runs/$R1.json"
	jq --argjson e "$QA" '.deploy_environment_id = $e | .waiting_for_human = true |
	    .waiting_reason = "the deploy failed: approve it again"' "$f" >"$f.new"
	mv "$f.new" "$f"
	start_server
	run cdp "$URL#/runs/$R1" \
	    "wait !!document.querySelector('#deploy-env option[value=qa]')" \
	    "$SETF" \
	    "print [...document.querySelectorAll('#run-actions button')].map((b) => b.textContent).join(',')" \
	    "print [...document.querySelectorAll('#deploy-env option')].map((o) => o.value).join(',') + '|' + document.getElementById('deploy-env').value" \
	    "print document.getElementById('run-actions-hint').textContent" \
	    "print document.getElementById('run-worktree-note').textContent" \
	    "eval setf('token', '$TOKEN')" \
	    "eval window.confirm = (q) => { window.asked = q; return true; }" \
	    "eval document.querySelector('#run-actions [data-action=approve-deploy]').click()" \
	    "wait $NOTICE.includes('deploy approved')" \
	    "print window.asked" \
	    "print $NOTICE"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = 'Approve deploy,Abandon' ]
	# only environments that deploy, no "approve only"; the one that failed chosen
	[ "${lines[1]}" = 'prod,qa|qa' ]
	[[ "${lines[2]}" == 'The deploy failed: approve it again to an environment'* ]]
	[[ "${lines[2]}" != *'Nothing to do'* ]]
	# a project that is no git repository: said plainly, no diff
	[[ "${lines[3]}" == *"is not a git repository: the run's agents work in it directly"* ]]
	[ "${lines[4]}" = "Approve the deploy of run #$R1 (fix-add) to qa?" ]
	[ "${lines[5]}" = "Run #$R1 deploy approved: now TESTING." ]
	[ "$("$B/wf" run show "$R1" --json | jq -r '[.state, .approved_by, .deploy_environment_id] | join("|")')" = "TESTING|http:ned|$QA" ]
}

@test "#/runs/N: a diff of megabytes is drawn a bounded piece at a time, with a note, and the page stays live" {
	git_project
	RR=$("$B/wf" run create --project-id "$GP" --name big)
	WT=$(jq -r .worktree "$WF_HOME/state/runs/$RR.json")
	# about 3.5 MB of patch: 70000 lines
	"$PY" -c 'import sys; sys.stdout.write("".join("line %d %s\n" % (i, "x" * 40) for i in range(70000)))' >"$WT/big.txt"
	git -C "$WT" add -A
	gitc -C "$WT" commit -qm big
	"$B/wf" run set-state "$RR" READY_FOR_COMMIT --force --why t >/dev/null
	start_server
	n="document.querySelectorAll('#run-patch-text span').length"
	run cdp "$URL#/runs/$RR" \
	    "wait !!document.getElementById('run-patch-more')" \
	    "print document.getElementById('run-patch-more').textContent" \
	    "print $n" \
	    "print document.getElementById('run-patch-text').textContent.length" \
	    "print [...document.querySelectorAll('#run-patch-text span')].pop().textContent" \
	    "eval window.t0 = performance.now()" \
	    "eval document.getElementById('run-patch-next').click()" \
	    "print $n" \
	    "eval window.tick = 0; setTimeout(() => { window.tick = 1; }, 0)" \
	    "wait window.tick === 1" \
	    "print document.getElementById('conn').className + '|' + (performance.now() - window.t0 < 5000)"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" =~ ^Showing\ the\ first\ 12[0-9]\ KB\ of\ 3\.[0-9]\ MB\ \(([0-9,]+)\ of\ 70,006\ lines\):\ the\ page\ draws\ no\ more\ at\ once\.\ wf\ run\ diff\ $RR\ prints\ it\ all\. ]]
	shown=${BASH_REMATCH[1]//,/}
	[ "$shown" -gt 2000 ] && [ "$shown" -lt 4000 ]
	[ "${lines[1]}" -eq "$shown" ]
	[ "${lines[2]}" -le $((128 * 1024)) ]
	# cut at a line's end: the last line drawn is whole
	[[ "${lines[3]}" =~ ^\+line\ [0-9]+\ x{40}$ ]]
	# one more piece on request
	[ "${lines[4]}" -gt $((shown * 3 / 2)) ] && [ "${lines[4]}" -lt $((shown * 3)) ]
	[ "${lines[5]}" = 'conn ok|true' ]
}

@test "the queue's card says when the sandbox is off or broken, with its reason; not when it is on" {
	wf_config '[sandbox]' 'sandbox = off'
	start_server
	dom=$(dump_dom "$URL")
	card=$(between "$dom" 'id="queue-h"' 'id="queue-body"')
	[[ "$card" == *'<span id="queue-sandbox" class="chip bad" title="OFF: agents and tests run with wf'"'"'s own rights ([sandbox] sandbox = off)">sandbox off</span>'* ]]
	[[ "$card" == *'<p id="sandbox-warn" class="sandbox-warn" role="status">Sandbox: OFF: agents and tests run with wf'"'"'s own rights ([sandbox] sandbox = off)</p>'* ]]
	stop_server

	wf_config '[sandbox]' 'bwrap = /nonexistent/bwrap'
	start_server
	dom=$(dump_dom "$URL")
	card=$(between "$dom" 'id="queue-h"' 'id="queue-body"')
	[[ "$card" == *'>sandbox broken</span>'* ]]
	[[ "$card" == *'role="status">Sandbox: on, but jobs that need it fail: sandbox: /nonexistent/bwrap not found: install bubblewrap'*'</p>'* ]]
	stop_server

	# on: bubblewrap is there (make deps installs it)
	bw=$(command -v bwrap)
	wf_config '[sandbox]' "bwrap = $bw"
	[ "$("$B/wf" queue status --json | jq -r .sandbox)" = on ]
	start_server
	dom=$(dump_dom "$URL")
	card=$(between "$dom" 'id="queue-h"' 'id="queue-body"')
	[[ "$card" == *'<span id="queue-sandbox" class="chip bad" hidden="">'* ]]
	[[ "$card" == *'<p id="sandbox-warn" class="sandbox-warn" role="status" hidden="">'* ]]
	[[ "$dom" == *'id="q-waiting">0<'* ]]
}

@test "the task board by stage: the seed's columns, each task where its run is, what a task waits on and why it is blocked" {
	seed
	# CALC-3 waits on CALC-1 and CALC-2; CALC-4 on CALC-3; CALC-5 is done
	"$B/wf" task create --project-id "$P" --task-id CALC-3 --title 'divide' \
	    --blocked-by CALC-1,CALC-2 >/dev/null
	"$B/wf" task create --project-id "$P" --task-id CALC-4 --title 'modulo' \
	    --blocked-by CALC-3 >/dev/null
	"$B/wf" task create --project-id "$P" --task-id CALC-5 --title 'parse' \
	    --status done >/dev/null
	# a run on CALC-1 in DEV, one on CALC-2 in SEC
	r=$("$B/wf" run create --project-id "$P" --task-id 1 2>/dev/null)
	"$B/wf" run set-state "$r" DEV --force --why test >/dev/null
	r=$("$B/wf" run create --project-id "$P" --task-id 2 2>/dev/null)
	"$B/wf" run set-state "$r" SEC --force --why test >/dev/null
	"$B/wf" task status 4 failed >/dev/null  # CALC-3 failed: CALC-4 blocked
	start_server
	dom=$(dump_dom "$URL")
	[ -n "$dom" ]
	# the seven columns, in the seed's order, with their titles
	heads=$(grep -o 'data-col="stage-[A-Z]*"' <<<"$dom" | tr '\n' ' ')
	[ "$heads" = 'data-col="stage-NONE" data-col="stage-PM" data-col="stage-DEV" data-col="stage-QA" data-col="stage-SEC" data-col="stage-DOCS" data-col="stage-COMPLETE" ' ]
	[[ "$dom" =~ aria-label=\"Backlog,\ 3\" ]]
	[[ "$dom" =~ aria-label=\"Complete,\ 1\" ]]
	dev=$(between "$dom" 'data-col="stage-DEV"' 'data-col=')
	[[ "$dev" == *'>CALC-1<'* && "$dev" != *'>CALC-2<'* ]]
	sec=$(between "$dom" 'data-col="stage-SEC"' 'data-col=')
	[[ "$sec" == *'>CALC-2<'* ]]
	[[ "$(between "$dom" 'data-col="stage-COMPLETE"' 'data-col=')" == *'>parse<'* ]]
	backlog=$(between "$dom" 'data-col="stage-NONE"' 'data-col=')
	# CALC-3 failed, with its status; CALC-4 blocked by it, said plainly
	c3=$(between "$backlog" 'data-task="CALC-3"' '</li>')
	[[ "$c3" == *'>failed<'* ]]
	c4=$(between "$backlog" 'data-task="CALC-4"' '</li>')
	[[ "$c4" == *'data-ready="blocked"'*'>blocked: CALC-3 failed; a human decides: retry it, drop the edge, or cancel this task<'* ]]
	[[ "$backlog" =~ class=\"card\ blocked\"\ data-task=\"CALC-4\" ]]
	# a human retries CALC-3: CALC-4 waits, and says on what
	"$B/wf" task status 4 backlog >/dev/null
	dom=$(dump_dom "$URL")
	c4=$(between "$dom" 'data-task="CALC-4"' '</li>')
	[[ "$c4" == *'data-ready="waiting"'*'>waits on CALC-3 (backlog)<'* ]]
	c3=$(between "$dom" 'data-task="CALC-3"' '</li>')
	[[ "$c3" == *'>waits on CALC-1 (in_progress, at DEV); CALC-2 (in_progress, at SEC)<'* ]]
	# the priority filter keeps to the stages
	run cdp "$URL" \
	    "wait !!document.querySelector('[data-col=\"stage-DEV\"] [data-task=\"CALC-1\"]')" \
	    "eval (s => { s.value = '1'; s.dispatchEvent(new Event('change')); })(document.getElementById('filter-priority'))" \
	    "wait !document.querySelector('[data-task=\"CALC-4\"]')" \
	    "print [...document.querySelectorAll('#task-board [data-task]')].map((c) => c.dataset.task).join(',')"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = CALC-1 ]
}

@test "Add task on the board: title, description, acceptance criteria, priority and what it waits on; the store's refusal shown; and on a project's page" {
	seed
	"$B/wf" task create --project-id "$P" --task-id T-7 --title 'numbered' >/dev/null
	TOKEN=$("$B/wf" token add erin)
	start_server
	run cdp "$URL" \
	    "wait document.querySelectorAll('#bt-project option').length === 3" \
	    "$SETF" \
	    "eval setf('token', '$TOKEN')" \
	    "print document.getElementById('board-task-form').hidden" \
	    "eval document.getElementById('board-add-task').click()" \
	    "print document.getElementById('board-task-form').hidden + '|' + document.getElementById('board-add-task').getAttribute('aria-expanded')" \
	    "eval setf('bt-project', '$P')" \
	    "wait document.querySelectorAll('#bt-deps option').length === 3" \
	    "print [...document.querySelectorAll('#bt-deps option')].map((o) => o.value).join(',')" \
	    "eval setf('bt-title', 'square roots')" \
	    "eval setf('bt-desc', 'sqrt of a non-negative number')" \
	    "eval setf('bt-ac', 'sqrt 9 is 3\n\n  sqrt -1 is an error  ')" \
	    "eval setf('bt-priority', '2')" \
	    "eval [...document.getElementById('bt-deps').options].forEach((o) => { o.selected = o.value !== 'CALC-2'; })" \
	    "eval document.querySelector('#board-task-form button[type=submit]').click()" \
	    "wait $NOTICE.includes('added')" \
	    "print $NOTICE" \
	    "wait !!document.querySelector('[data-col=\"stage-NONE\"] [data-task=\"T-8\"]')" \
	    "print document.querySelector('[data-task=\"T-8\"]').textContent" \
	    "print document.getElementById('board-task-form').hidden" \
	    "eval document.getElementById('board-add-task').click()" \
	    "eval setf('bt-project', '$P')" \
	    "wait document.querySelectorAll('#bt-deps option').length === 4" \
	    "eval setf('bt-id', 'CALC-1')" \
	    "eval setf('bt-title', 'taken')" \
	    "eval document.querySelector('#board-task-form button[type=submit]').click()" \
	    "wait $NOTICE.includes('taken')" \
	    "print $NOTICE" \
	    "print document.getElementById('board-task-form').hidden"
	echo "$output"
	[ "$status" -eq 0 ]
	# (a boolean prints as Python's)
	[ "${lines[0]}" = True ]
	[ "${lines[1]}" = 'false|true' ]
	[ "${lines[2]}" = CALC-1,CALC-2,T-7 ]
	[ "${lines[3]}" = 'Task T-8 added to calc.' ]
	[[ "${lines[4]}" == *T-8*high*'square roots'*'waits on CALC-1 (backlog); T-7 (backlog)'* ]]
	[ "${lines[5]}" = True ]
	[ "${lines[6]}" = "task: task_id 'CALC-1' is taken by task 1" ]
	[ "${lines[7]}" = False ]
	# the store has it, all of it, by the token's owner
	t=$("$B/wf" task list --project-id "$P" --json | jq -c '.[] | select(.task_id == "T-8") |
	    [.title, .description, .acceptance_criteria, .priority, .blocked_by, .status]')
	[ "$t" = '["square roots","sqrt of a non-negative number",["sqrt 9 is 3","sqrt -1 is an error"],2,["CALC-1","T-7"],"backlog"]' ]
	grep '"action":"task.created"' "$WF_HOME/log/audit.jsonl" | tail -1 | grep -q '"actor":"http:erin"'

	# a project's page: its form takes the criteria and the dependencies
	# too, and shows the store's refusal of a cycle
	t8=$("$B/wf" task list --project-id "$P" --json | jq '.[] | select(.task_id == "T-8") | .id')
	run cdp "$URL#/projects/$P" \
	    "wait document.querySelectorAll('#task-deps option').length === 4" \
	    "$SETF" \
	    "eval setf('token', '$TOKEN')" \
	    "print document.querySelector('[data-task=\"T-8\"]').textContent" \
	    "eval setf('task-id', 'T-9')" \
	    "eval setf('task-title', 'cube roots')" \
	    "eval setf('task-ac', 'cbrt 27 is 3')" \
	    "eval [...document.getElementById('task-deps').options].forEach((o) => { o.selected = o.value === 'T-8'; })" \
	    "eval document.querySelector('#task-form button[type=submit]').click()" \
	    "wait !!document.querySelector('[data-task=\"T-9\"]')" \
	    "print document.querySelector('[data-task=\"T-9\"]').textContent"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *T-8*'square roots'*high*Backlog*'CALC-1, T-7'*'waits on CALC-1 (backlog); T-7 (backlog)'* ]]
	[[ "${lines[1]}" == *T-9*'cube roots'*'T-8'*'waits on T-8 (backlog)'* ]]
	[ "$("$B/wf" task list --project-id "$P" --json | jq -c '.[] | select(.task_id == "T-9") | [.acceptance_criteria, .blocked_by]')" = '[["cbrt 27 is 3"],["T-8"]]' ]
	# a list a moment old may name a task gone since: the store refuses
	# it, the page says so, and nothing is written
	run cdp "$URL#/projects/$P" \
	    "wait document.querySelectorAll('#task-deps option').length === 5" \
	    "$SETF" \
	    "eval setf('token', '$TOKEN')" \
	    "eval setf('task-id', 'T-11')" \
	    "eval setf('task-title', 'stale')" \
	    "eval document.getElementById('task-deps').append(new Option('T-99', 'T-99', true, true))" \
	    "eval document.querySelector('#task-form button[type=submit]').click()" \
	    "wait $NOTICE.includes('blocked_by')" \
	    "print $NOTICE"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "blocked_by: no task T-99 in project $P" ]
	[ "$("$B/wf" task list --project-id "$P" --json | jq '[.[] | select(.task_id == "T-11")] | length')" = 0 ]
}

@test "#/runs/N shows the handoffs, oldest first, as text: what each stage was asked, its summary, tasks, commits, diff stat, tests, the output the gate judged, its log; after the worktree is gone" {
	git_project
	ready_run handed
	"$B/wf" run abandon "$RR" --why 'seen enough' >/dev/null
	[ ! -e "$WT" ]
	R0=$("$B/wf" run create --project-id "$GP" --name none-yet)
	# what lib/pipeline would have kept (the agents test makes them for
	# real): PM's tasks, QA's failing tests first with the gate's output,
	# DEV again with QA's findings and a request that holds markup
	f="$WF_HOME/state/runs/$RR.json"
	jq '.handoffs = [
	    {n: 1, at: "2026-12-08T02:00:00.000Z", role: "pm", iteration: 1,
	     status: "pass", summary: "two tasks", asked: {request: "add <b>mul</b>"},
	     commits: [], tasks: [{task_id: "F-1", title: "mul"},
		{task_id: "F-2", title: "div", blocked_by: ["F-1"]}],
	     next: "PM", outcome: "pm passed; QA writes the failing tests first (tdd)",
	     log: "output/J1.log"},
	    {n: 2, at: "2026-12-08T02:01:00.000Z", role: "qa", phase: "tdd",
	     iteration: 1, status: "pass", summary: "tdd: 4 run, 2 failed",
	     asked: {}, commits: [{sha: "fd76f33", subject: "wf run 1: qa"}],
	     diff_stat: " test_calc.sh | 3 ++-\n 1 file changed",
	     tests: {tests_run: 4, tests_passed: 2, tests_failed: 2, verified_by: "wf-gate"},
	     gate: {job_id: "G2", log: "output/G2.log", exit_code: 1, tests_run: 4,
		tests_failed: 2, agrees: true, output: "1..4\nnot ok 1 - add <i>2 3</i>\nok 2"},
	     next: "DEV", outcome: "QA wrote 1 test file", log: "output/J2.log"},
	    {n: 3, at: "2026-12-08T02:02:00.000Z", role: "dev", iteration: 2,
	     status: "fail", summary: "could not", refused: "ownership gate: dev touched test_calc.sh",
	     asked: {request: "add <b>mul</b>", tdd_tests: ["test_calc.sh"],
		findings: [{from: "qa", summary: "1 failed", failures: ["add 2 3"]}]},
	     commits: [{sha: "98d2b37", subject: "wf run 1: dev"}],
	     gate: {offending_paths: [{path: "test_calc.sh", owner: "qa"}]},
	     log: "output/J3.log"}]' "$f" >"$f.new"
	mv "$f.new" "$f"
	start_server
	H='#run-handoffs'
	run cdp "$URL#/runs/$RR" \
	    "wait document.querySelectorAll('$H .handoff').length === 3" \
	    "print [...document.querySelectorAll('$H .handoff h3')].map((h) => h.textContent).join('|')" \
	    "print [...document.querySelectorAll('$H .handoff')].map((h) => h.className).join('|')" \
	    "print [...document.querySelectorAll('$H [data-n=\"1\"] dt')].map((d) => d.textContent).join(',')" \
	    "print document.querySelector('$H [data-n=\"1\"]').textContent.includes('F-2: div (after F-1)')" \
	    "print JSON.stringify(document.querySelector('$H [data-n=\"2\"] .stat').textContent)" \
	    "print document.querySelector('$H [data-n=\"2\"] details summary').textContent" \
	    "print JSON.stringify(document.querySelector('$H [data-n=\"2\"] details pre').textContent)" \
	    "print [...document.querySelectorAll('$H [data-n=\"2\"] dd')].map((d) => d.textContent).filter((t) => t.startsWith('4 run')).join()" \
	    "print [...document.querySelectorAll('$H [data-n=\"3\"] dd')].slice(0, 1).map((d) => d.textContent).join()" \
	    "print [...document.querySelectorAll('$H [data-n=\"3\"] dd')].map((d) => d.textContent).filter((t) => t.startsWith('ownership') || t.startsWith('test_calc') || t.startsWith('output/') || t.startsWith('98d')).join('|')" \
	    "print document.querySelectorAll('$H b, $H i').length" \
	    "eval location.hash = '#/runs/$R0'" \
	    "wait document.getElementById('run-h').textContent.includes('none-yet') && document.querySelectorAll('$H .handoff').length === 0" \
	    "print document.getElementById('run-handoffs').textContent"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = '1 · PM · iteration 1|2 · QA · failing tests first · iteration 1|3 · DEV · iteration 2' ]
	[ "${lines[1]}" = 'handoff panel r-good|handoff panel r-good|handoff panel r-bad' ]
	[ "${lines[2]}" = 'Asked,Summary,Tasks made,Outcome,Commits,Log' ]
	[ "${lines[3]}" = True ]
	[ "${lines[4]}" = '" test_calc.sh | 3 ++-\n 1 file changed"' ]
	[ "${lines[5]}" = 'The output the gate judged (output/G2.log)' ]
	[ "${lines[6]}" = '"1..4\nnot ok 1 - add <i>2 3</i>\nok 2"' ]
	[ "${lines[7]}" = '4 run, 2 passed, 2 failed (counted by wf-gate)' ]
	[ "${lines[8]}" = "Request: add <b>mul</b>Make pass: test_calc.shGiven qa's findings: 1 failedadd 2 3" ]
	[ "${lines[9]}" = 'ownership gate: dev touched test_calc.sh|98d2b37 wf run 1: dev|test_calc.sh (qa'"'"'s)|output/J3.log' ]
	# the agents' words are text, never markup
	[ "${lines[10]}" = 0 ]
	[ "${lines[11]}" = 'No stage has handed over yet.' ]
}

@test "the Director panel: off, then turned on with a token and its limits saved, as wf director status says, and without a token told how to get one" {
	seed
	start_server
	live='document.querySelector("#conn.ok") && document.getElementById("director-state").textContent !== "–"'
	notice='document.getElementById("notice-text").textContent'
	# without a token: the page says how to make one, and nothing changes
	run cdp "$URL" \
	    "wait $live" \
	    "print document.getElementById('director-state').textContent" \
	    "print document.getElementById('director-max').value" \
	    "eval document.getElementById('director-toggle').click()" \
	    "wait $notice.includes('token')" \
	    "print $notice"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = off ]
	[ "${lines[1]}" = 1 ]
	[[ "${lines[2]}" == *"wf token add"* ]]
	[ "$("$B/wf" director status --json | jq .enabled)" = false ]
	TOKEN=$("$B/wf" token add dora)
	run cdp "$URL" \
	    "wait $live" \
	    "eval (t => { t.value = '$TOKEN'; t.dispatchEvent(new Event('change')); })(document.getElementById('token'))" \
	    "eval document.getElementById('director-toggle').click()" \
	    "wait $notice.includes('turned on')" \
	    "print $notice" \
	    "print document.getElementById('director-state').textContent" \
	    "print document.getElementById('director-toggle').textContent" \
	    "eval document.getElementById('director-max').value = '3'" \
	    "eval document.getElementById('director-retries').value = '0'" \
	    "eval document.getElementById('director-save').click()" \
	    "wait $notice.includes('limits saved')" \
	    "print $notice" \
	    "eval document.getElementById('director-max').value = '99'" \
	    "eval document.getElementById('director-save').click()" \
	    "wait $notice.includes('max_active')" \
	    "print $notice"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "Director turned on." ]
	# no wf-director runs here: the panel says so
	[ "${lines[1]}" = "on, not running" ]
	[ "${lines[2]}" = "Turn off" ]
	[[ "${lines[3]}" == "Director limits saved: 3 active runs a project"*"0 retries." ]]
	[[ "${lines[4]}" == *"max_active"* ]]
	run "$B/wf" director status --json
	[ "$(jq .enabled <<<"$output")" = true ]
	[ "$(jq .max_active <<<"$output")" = 3 ]
	[ "$(jq .retries <<<"$output")" = 0 ]
	grep '"action":"director.settings"' "$WF_HOME/log/audit.jsonl" | tail -1 |
	    grep -q '"actor":"http:dora"'
}

@test "a feature request typed on the page reaches PM's prompt (the fake model's log), and PM's tasks appear on the task board, waiting on each other as PM said" {
	no_model_env
	local roles="$BATS_TEST_TMPDIR/roles" shop="$BATS_TEST_TMPDIR/shop"
	local script="$BATS_TEST_TMPDIR/script.json" fakelog="$BATS_TEST_TMPDIR/fake.jsonl"
	mkdir -p "$roles" "$shop"
	cp "$BATS_TEST_DIRNAME"/../../etc/roles/*.ini \
	    "$BATS_TEST_DIRNAME"/../../etc/roles/*.prompt "$roles/"
	pm='Two tasks.

{"status":"pass","summary":"CSV export planned","details":{"tasks":[{"task_id":"F-1","title":"cart to CSV rows","acceptance_criteria":["one row an item"]},{"task_id":"F-2","title":"an Export button","blocked_by":["F-1"]}]}}'
	jq -n --arg pm "$pm" '{"You are the PM": {content: $pm}}' >"$script"
	"$PY" "$BATS_TEST_DIRNAME/../helpers/fake_llm.py" --port 0 \
	    --portfile "$BATS_TEST_TMPDIR/fake.port" --script "$script" \
	    --log "$fakelog" 2>>"$BATS_TEST_TMPDIR/fake.err" 3>&- &
	wait_until 10 test -s "$BATS_TEST_TMPDIR/fake.port"
	wf_config '[llm]' 'provider = openai' \
	    "base_url = http://127.0.0.1:$(<"$BATS_TEST_TMPDIR/fake.port")" \
	    'model = fake' 'timeout = 20' \
	    '[pipeline]' "roles_dir = $roles" 'auto_retry = false' 'tdd = false'
	P=$("$B/wf" project create --name shop --repo-path "$shop")
	TOKEN=$("$B/wf" token add rita)
	start_dispatch
	start_gate
	start_server
	req='Let users export their cart as CSV.'
	run cdp "$URL" \
	    "wait document.querySelector('#conn.ok') && [...document.querySelectorAll('#start-project option')].some((o) => o.value === '$P')" \
	    "$SETF" \
	    "eval setf('token', '$TOKEN')" \
	    "eval setf('start-project', '$P')" \
	    "eval setf('start-request', '$req')" \
	    "eval document.getElementById('start-btn').click()" \
	    "wait $NOTICE.includes('started')" \
	    "print $NOTICE"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == *"with your request for PM."* ]]
	# PM was asked, with the request in its prompt
	wait_until "$(slow 30)" grep -q 'export their cart as CSV' "$fakelog"
	jq -se --arg r "$req" '.[0].body.messages[-1].content | contains("You are the PM") and contains($r)' "$fakelog"
	# PM's tasks: on the board, F-2 waiting on F-1
	wait_until "$(slow 30)" test -e "$WF_HOME/state/tasks/2.json"
	dom=$(dump_dom "$URL")
	f1=$(between "$dom" 'data-task="F-1"' '</li>')
	f2=$(between "$dom" 'data-task="F-2"' '</li>')
	[[ "$f1" == *'<p class="card-title">cart to CSV rows</p>'* ]]
	[[ "$f2" == *'<p class="card-title">an Export button</p>'* ]]
	[[ "$f2" == *'data-ready="waiting">waits on F-1'* ]]
	stop_gate
}
