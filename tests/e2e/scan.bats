#!/usr/bin/env bats
# scan: the SEC role with backend = scan, through the real wf-dispatch,
# wf-gate and wf-agent.  Stand-in scanners (scripts named semgrep and
# gitleaks, first on the daemons' PATH) print recorded outputs of the real
# ones (tests/fixtures/scan/); the findings' severities decide the SEC
# gate; a scanner that is not there is noted; a secret that gitleaks
# matched is nowhere in $WF_HOME, not even in the job's log.
#
# The daemons get PATH=stand-ins:/usr/bin:/bin, so that a scanner installed
# elsewhere (~/.local/bin, /usr/local/bin) does not take part.  The
# scanners run in the sandbox: the stand-ins sit in the project's own
# directory, the one place the sandbox shows them.

load helpers

FIX="$BATS_TEST_DIRNAME/../fixtures/scan"
SECRET=AKIAWFFAKESECRET7Q3Z

setup() {
	wf_setup
	GATE_PID=
	REPO="$BATS_TEST_TMPDIR/repo"
	ROLES="$BATS_TEST_TMPDIR/roles"
	# The scanners run in the sandbox, where the project's directory
	# (git-less here) is the one place they see and write: the stand-ins
	# and what they note live there.
	SBIN="$REPO/.sbin"
	mkdir -p "$REPO" "$ROLES" "$SBIN"
	cp "$BATS_TEST_DIRNAME/fixtures/run_tests.sh" "$REPO/run_tests.sh"
	role pm "printf '{\"status\":\"pass\",\"summary\":\"spec\"}\\n'"
	role dev "printf '{\"status\":\"pass\",\"summary\":\"code\"}\\n'"
	role qa 'sh -c "$WF_TEST_COMMAND"'
	wf_config '[queue]' 'backoff_base = 1' \
	    '[pipeline]' "roles_dir = $ROLES" 'auto_retry = false' \
	    'max_iter = 3' 'sec_block = high'
	PROJ=$("$B/wf" project create --name demo --repo-path "$REPO" \
	    --test-command 'sh run_tests.sh')
	[ -n "$PROJ" ]
	export PATH="$SBIN:/usr/bin:/bin"
}

teardown() {
	local rc=0
	stop_gate
	stop_dispatch
	kill_strays
	sanitizer_check || rc=1
	if grep -rEl 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' \
	    "$WF_HOME/output" >&2 2>/dev/null; then
		rc=1
	fi
	return $rc
}

# role NAME COMMAND: a command-backed role
role() {
	printf '[role]\nbackend = command\ncommand = %s\ntimeout = 60\n' "$2" \
	    >"$ROLES/$1.ini"
}

# scan_role LINE...: the security role, backend = scan, with LINEs
scan_role() {
	{
		printf '[role]\nbackend = scan\ntimeout = 60\n'
		printf '%s\n' "$@"
	} >"$ROLES/security.ini"
}

# standin NAME FIXTURE [EXIT]: a scanner NAME that notes where and how it
# ran, says so on stderr, prints FIXTURE and exits EXIT
standin() {
	cat >"$SBIN/$1" <<EOF
#!/bin/sh
printf '%s\n' "\$PWD" "\$*" >"$SBIN/$1.args"
echo "$1 stand-in ran" >&2
cat "$2"
exit ${3:-0}
EOF
	chmod +x "$SBIN/$1"
}

# real_scanner: is a real semgrep, bandit or gitleaks on /usr/bin:/bin?
real_scanner() {
	PATH=/usr/bin:/bin command -v semgrep bandit gitleaks >/dev/null
}



# sec_run: start the daemons, run the pipeline to its stop; the run's id
# in $RID and its record in $RUNJ
sec_run() {
	start_dispatch
	start_gate
	run "$B/wf" pipeline --project-id "$PROJ" --timeout "$(slow 30)"
	echo "$output"
	RID=$(sed -n 's/^run \([0-9][0-9]*\) created for project.*/\1/p' \
	    <<<"$output" | head -n 1)
	[ -n "$RID" ]
	RUNJ=$("$B/wf" run show "$RID" --json)
}

# r JQ: the run's record through jq
r() {
	jq -r "$1" <<<"$RUNJ"
}

@test "a high semgrep finding fails SEC: SEC_FAILED, the finding in the run's results" {
	scan_role 'scanners = semgrep, gitleaks'
	standin semgrep "$FIX/semgrep.json"
	printf '[]\n' >"$SBIN/none.json"
	standin gitleaks "$SBIN/none.json"
	sec_run
	[ "$(r .state)" = SEC_FAILED ]
	[ "$(r '.history[-1].why')" != null ]
	[[ "$(r '.history[-1].why')" == *"SEC gate: 1 finding"* ]]
	# the report passes: the gate decides on the severities
	[ "$(r .results.security.status)" = pass ]
	[ "$(r .results.security.summary)" = \
	    "3 findings (1 high, 1 medium, 1 low) from semgrep, gitleaks" ]
	[ "$(r '.results.security.details.findings | length')" -eq 3 ]
	[ "$(r '.results.security.details.findings[0] | [.scanner, .severity, .path, .line, .rule] | join(" ")')" = \
	    "semgrep high app.py 12 python.lang.security.audit.subprocess-shell-true.subprocess-shell-true" ]
	[ "$(r '.results.security.details.scanned')" = true ]
	[ "$(r '[.results.security.details.scanners[] | "\(.name):\(.exit_code):\(.findings):\(.error)"] | join(" ")')" = \
	    "semgrep:0:3:null gitleaks:0:0:null" ]
	# each ran with its default command line, in the project's repository
	[ "$(sed -n 1p "$SBIN/semgrep.args")" = "$REPO" ]
	[ "$(sed -n 2p "$SBIN/semgrep.args")" = "--json --quiet --config auto ." ]
	[[ "$(sed -n 2p "$SBIN/gitleaks.args")" == "detect "*"--report-format json"* ]]
}

@test "only low findings: SEC passes to READY_FOR_COMMIT; a scanner not installed is noted" {
	scan_role 'scanners = semgrep, gitleaks'
	standin semgrep "$FIX/semgrep-low.json"
	sec_run
	[ "$status" -eq 0 ]
	[ "$(r .state)" = READY_FOR_COMMIT ]
	[ "$(r .results.security.status)" = pass ]
	[ "$(r '.results.security.details.findings[0].severity')" = low ]
	[ "$(r '.results.security.details.scanned')" = true ]
	[ "$(r .results.security.summary)" = \
	    "1 finding (1 low) from semgrep; not installed: gitleaks" ]
	[ "$(r '.results.security.details.scanners[1] | "\(.name) \(.exit_code) \(.error)"')" = \
	    "gitleaks 127 not installed" ]
}

@test "gitleaks' secret: SEC_FAILED, and the secret is nowhere in WF_HOME, not even in the job's log" {
	# scanner.NAME overrides the default command line
	scan_role 'scanners = gitleaks' \
	    'scanner.gitleaks = gitleaks dir --report-format json .'
	# real gitleaks exits 1 when it found a leak
	standin gitleaks "$FIX/gitleaks.json" 1
	grep -q "$SECRET" "$FIX/gitleaks.json"
	sec_run
	[ "$(r .state)" = SEC_FAILED ]
	[ "$(sed -n 2p "$SBIN/gitleaks.args")" = "dir --report-format json ." ]
	[ "$(r '.results.security.details.findings[0] | [.severity, .path, .line, .rule] | join(" ")')" = \
	    "high config/settings.py 3 aws-access-token" ]
	[ "$(r '.results.security.details.scanners[0].exit_code')" -eq 1 ]
	# the job's log is there and searched: the stand-in's stderr is in it
	grep -rqF "gitleaks stand-in ran" "$WF_HOME"
	# the secret is not, anywhere
	run grep -rlaF "$SECRET" "$WF_HOME"
	echo "$output"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
}

@test "output that is not the scanner's JSON fails SEC with that scanner's error" {
	scan_role 'scanners = semgrep'
	printf 'Traceback (most recent call last):\n' >"$SBIN/tb"
	standin semgrep "$SBIN/tb" 2
	sec_run
	[ "$(r .state)" = SEC_FAILED ]
	[ "$(r .results.security.status)" = fail ]
	[[ "$(r '.results.security.details.scanners[0].error')" == "output is not JSON"*"(exit 2)" ]]
	[[ "$(r .results.security.summary)" == "SEC cannot pass: no scanner ran; failed: semgrep: output is not JSON"* ]]
	[ "$(r .results.security.details.scanned)" = false ]
}

@test "no scanner installed: the shipped role passes, visibly unscanned; unscanned = fail fails SEC" {
	real_scanner && skip "a real scanner is installed in /usr/bin or /bin"
	cp "$BATS_TEST_DIRNAME/../../etc/roles/security.ini" "$ROLES/"
	grep -q '^backend = scan' "$ROLES/security.ini"
	sec_run
	[ "$status" -eq 0 ]
	[ "$(r .state)" = READY_FOR_COMMIT ]
	[ "$(r .results.security.details.scanned)" = false ]
	[[ "$(r .results.security.summary)" == "nothing scanned: no scanner ran"* ]]
	[ "$(r '[.results.security.details.scanners[].error] | unique | join(",")')" = "not installed" ]
	[ "$(r '.results.security.details.scanners | length')" -ge 2 ]

	# the strict setting: a SEC pass never rests on nothing scanned
	sed -i 's/^unscanned = pass$/unscanned = fail/' "$ROLES/security.ini"
	grep -q '^unscanned = fail' "$ROLES/security.ini"
	run "$B/wf" pipeline --project-id "$PROJ" --timeout "$(slow 30)"
	echo "$output"
	RID=$(sed -n 's/^run \([0-9][0-9]*\) created for project.*/\1/p' \
	    <<<"$output" | head -n 1)
	RUNJ=$("$B/wf" run show "$RID" --json)
	[ "$(r .state)" = SEC_FAILED ]
	[ "$(r .results.security.status)" = fail ]
	[[ "$(r .results.security.summary)" == "SEC cannot pass: no scanner ran (not installed: "* ]]
}
