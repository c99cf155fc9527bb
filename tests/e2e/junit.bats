#!/usr/bin/env bats
# junit: QA's evidence.  Its counts from a JUnit XML report (junit = in
# the QA role) and from python -m unittest's output, through the real
# wf-dispatch, wf-gate and wf-agent with command-backed roles; and wf
# pipeline refusing a project whose QA could give none.  The project's test script writes report.xml (3 tests; the flag
# file tests_fail makes one fail) and always exits 0, and prints nothing
# a runner's output parser would count: the report is all the evidence.

load helpers

setup() {
	wf_setup
	GATE_PID=
	REPO="$BATS_TEST_TMPDIR/repo"
	ROLES="$BATS_TEST_TMPDIR/roles"
	mkdir -p "$REPO" "$ROLES"
	cat >"$REPO/run_tests.sh" <<'EOF'
#!/bin/sh
# 3 tests in report.xml; tests_fail fails the third; no_report writes no
# report, but prints a TAP line (which must not count when junit is set).
echo "running the suite"
if [ -e no_report ]; then
	echo "ok 1 - printed, not reported"
	exit 0
fi
f=0 fx=
if [ -e tests_fail ]; then
	f=1 fx='<failure message="c broke" type="AssertionError">c.py:3</failure>'
fi
cat >report.xml.tmp <<XML
<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="demo" tests="3" failures="$f" errors="0" skipped="0">
    <testcase classname="demo" name="a" time="0.001"/>
    <testcase classname="demo" name="b" time="0.001"/>
    <testcase classname="demo" name="c" time="0.001">$fx</testcase>
  </testsuite>
</testsuites>
XML
mv report.xml.tmp report.xml
exit 0
EOF
	role pm "printf '{\"status\":\"pass\",\"summary\":\"spec written\"}\\n'"
	role dev "printf '{\"status\":\"pass\",\"summary\":\"code written\"}\\n'"
	role qa 'sh -c "$WF_TEST_COMMAND"' 'junit = report.xml'
	role security "printf '{\"status\":\"pass\",\"summary\":\"clean\",\"details\":{\"findings\":[]}}\\n'"
	wf_config '[queue]' 'backoff_base = 1' \
	    '[pipeline]' "roles_dir = $ROLES" 'auto_retry = false' \
	    'max_iter = 3' 'sec_block = high'
	PROJ=$("$B/wf" project create --name demo --repo-path "$REPO" \
	    --test-command 'sh run_tests.sh')
	[ -n "$PROJ" ]
}

teardown() {
	local rc=0
	if [ -n "$GATE_PID" ] && ! alive "$GATE_PID"; then
		echo "wf-gate died" >&2
		rc=1
	fi
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

# role NAME COMMAND [LINE...]: a command-backed role in the test's roles dir
role() {
	local name=$1 cmd=$2
	shift 2
	{
		printf '[role]\nbackend = command\ncommand = %s\ntimeout = 60\n' "$cmd"
		printf '%s\n' "$@"
	} >"$ROLES/$name.ini"
}



# go: start the daemons, run the pipeline to its first stop; $rid, $status
go() {
	start_dispatch
	start_gate
	run "$B/wf" pipeline --project-id "$PROJ" --timeout "$(slow 30)"
	echo "$output"
	rid=$(sed -n 's/^run \([0-9][0-9]*\) created for project.*/\1/p' \
	    <<<"$output" | head -n 1)
	[ -n "$rid" ]
	RUN=$("$B/wf" run show "$rid" --json)
	echo "$RUN" | jq -c '{state, results: .results.qa, gate}'
	echo "--- gate.log" && cat "$BATS_TEST_TMPDIR/gate.log"
}

# q JQPATH: of the run
q() {
	jq -r "$1" <<<"$RUN"
}

@test "QA passes on a JUnit report of 3 tests, none failed: counted by the agent and by the gate" {
	go
	[ "$status" -eq 0 ]
	[ "$(q .state)" = READY_FOR_COMMIT ]
	# the report the run decided on: the gate's own run of the tests,
	# read from the report it wrote
	[ "$(q .results.qa.status)" = pass ]
	[ "$(q .results.qa.details.format)" = junit ]
	[ "$(q .results.qa.details.tests_run)" -eq 3 ]
	[ "$(q .results.qa.details.tests_passed)" -eq 3 ]
	[ "$(q .results.qa.details.tests_failed)" -eq 0 ]
	[ "$(q .results.qa.details.verified_by)" = wf-gate ]
	[ "$(q .gate.format)" = junit ]
	[ "$(q .gate.agrees)" = true ]
	# and the agent's report, counted from the same file
	[ "$(q .gate.agent_report.details.format)" = junit ]
	[ "$(q .gate.agent_report.details.tests_run)" -eq 3 ]
	[ "$(q .gate.agent_report.details.tests_failed)" -eq 0 ]
}

@test "a failure in the JUnit report sends the run to QA_FAILED, though the tests exit 0" {
	touch "$REPO/tests_fail"
	go
	[ "$status" -eq 1 ]
	[ "$(q .state)" = QA_FAILED ]
	[ "$(q .results.qa.status)" = fail ]
	[ "$(q .results.qa.details.format)" = junit ]
	[ "$(q .results.qa.details.tests_run)" -eq 3 ]
	[ "$(q .results.qa.details.tests_failed)" -eq 1 ]
	[ "$(q .gate.agrees)" = false ]
	[ "$(q .gate.job_status)" = completed ]
	# the agent said pass (exit 0), but counted the failure itself
	[ "$(q .gate.agent_report.status)" = pass ]
	[ "$(q .gate.agent_report.details.tests_failed)" -eq 1 ]
}

@test "with junit set, a report the tests did not write counts nothing: a stale one, or TAP on stdout" {
	# a passing report from long ago, and tests that write none now
	cat >"$REPO/report.xml" <<'EOF'
<testsuite tests="3" failures="0"/>
EOF
	touch -d '2001-01-01' "$REPO/report.xml"
	touch "$REPO/no_report"
	go
	[ "$status" -eq 1 ]
	[ "$(q .state)" = QA_FAILED ]
	# neither the agent nor the gate counted anything: the TAP line on
	# stdout is not the report, the old report not this run's
	[ "$(q .gate.agent_report.details.tests_run)" = null ]
	[[ "$(q .gate.agent_report.details.junit_error)" == *"none written by this test run"* ]]
	[[ "$(q .gate.junit_error)" == *"none written by this test run"* ]]
	[ "$(q .gate.format)" = none ]
	[ "$(q .results.qa.status)" = fail ]
	[ "$(q .results.qa.details.tests_run)" -eq 0 ]
}

@test "a report that is a symlink is refused, not followed" {
	printf '<testsuite tests="7" failures="0"/>\n' >"$BATS_TEST_TMPDIR/elsewhere.xml"
	ln -s "$BATS_TEST_TMPDIR/elsewhere.xml" "$REPO/report.xml"
	touch "$REPO/no_report"
	go
	[ "$status" -eq 1 ]
	[ "$(q .state)" = QA_FAILED ]
	[ "$(q .gate.agent_report.details.tests_run)" = null ]
	[[ "$(q .gate.agent_report.details.junit_error)" == *"a symlink, not a report"* ]]
	[[ "$(q .gate.junit_error)" == *"a symlink, not a report"* ]]
	[ "$(q .results.qa.details.tests_run)" -eq 0 ]
}

@test "a JUnit report that declares an entity counts nothing (expat reads it; no expansion)" {
	cat >"$REPO/run_tests.sh" <<'EOF'
#!/bin/sh
cat >report.xml <<XML
<?xml version="1.0"?>
<!DOCTYPE testsuite [ <!ENTITY n "3"> ]>
<testsuite tests="&n;" failures="0"/>
XML
EOF
	go
	[ "$status" -eq 1 ]
	[ "$(q .state)" = QA_FAILED ]
	[[ "$(q .gate.junit_error)" == *"not a whole JUnit XML report"* ]]
	[ "$(q .results.qa.details.tests_run)" -eq 0 ]
}

# unittest_project FAIL: a project whose tests are python -m unittest's,
# two tests (the second fails when FAIL is 1) and a skipped one, and a
# QA role with no junit.
unittest_project() {
	mkdir -p "$REPO/tests"
	cat >"$REPO/tests/test_calc.py" <<EOF
import unittest

class Calc(unittest.TestCase):
    def test_add(self):
        self.assertEqual(1 + 1, 2)

    def test_sub(self):
        self.assertEqual(2 - 1, $((1 - $1)))

    @unittest.skip("not yet")
    def test_mul(self):
        pass
EOF
	role qa 'sh -c "$WF_TEST_COMMAND"'
	PROJ=$("$B/wf" project create --name calc --repo-path "$REPO" \
	    --test-command "$PY -m unittest discover -s tests")
}

@test "python -m unittest's output is counted by the agent and by the gate: a pass" {
	unittest_project 0
	go
	[ "$status" -eq 0 ]
	[ "$(q .state)" = READY_FOR_COMMIT ]
	[ "$(q .results.qa.details.format)" = unittest ]
	[ "$(q .results.qa.details.tests_run)" -eq 2 ]
	[ "$(q .results.qa.details.tests_passed)" -eq 2 ]
	[ "$(q .results.qa.details.tests_failed)" -eq 0 ]
	[ "$(q .results.qa.details.verified_by)" = wf-gate ]
	[ "$(q .gate.agent_report.details.format)" = unittest ]
	[ "$(q .gate.agent_report.details.tests_skipped)" -eq 1 ]
}

@test "python -m unittest's failure is counted: QA_FAILED with 1 of 2 failed" {
	unittest_project 1
	go
	[ "$status" -eq 1 ]
	[ "$(q .state)" = QA_FAILED ]
	[ "$(q .results.qa.details.format)" = unittest ]
	[ "$(q .results.qa.details.tests_run)" -eq 2 ]
	[ "$(q .results.qa.details.tests_failed)" -eq 1 ]
}

@test "wf pipeline refuses a project with no test command when QA runs the test command: the reason and the fix" {
	role qa 'sh -c "$WF_TEST_COMMAND"'
	P2=$("$B/wf" project create --name bare --repo-path "$REPO")
	run --separate-stderr "$B/wf" pipeline --project-id "$P2" --timeout 5
	echo "$output"
	echo "$stderr"
	[ "$status" -eq 78 ]
	[[ "$stderr" == *"project $P2: QA cannot give evidence: the project has no test command"* ]]
	[[ "$stderr" == *'$WF_TEST_COMMAND'* ]]
	[[ "$stderr" == *"fix: give the project its test command (wf project update ID --test-command"* ]]
	[ -z "$output" ]
	# no run was made
	! ls "$WF_HOME/state/runs" | grep -q 'json$'
	# with a test command, the same project starts
	"$B/wf" project update "$P2" --test-command 'sh run_tests.sh'
	run "$B/wf" pipeline --project-id "$P2" --detach
	[ "$status" -eq 0 ]
	[[ "$output" == "run "*" created for project $P2" ]]
}

@test "wf pipeline starts a project with no test command whose QA has a command of its own (tdd or not); refuses a scan QA" {
	P2=$("$B/wf" project create --name bare --repo-path "$REPO")
	role qa 'sh run_tests.sh' 'junit = report.xml'
	for tdd in true false; do
		wf_config '[pipeline]' "roles_dir = $ROLES" "tdd = $tdd"
		run "$B/wf" pipeline --project-id "$P2" --detach
		[ "$status" -eq 0 ]
		[[ "$output" == "run "*" created for project $P2" ]]
	done
	printf '[role]\nbackend = scan\nscanners = semgrep\n' >"$ROLES/qa.ini"
	run --separate-stderr "$B/wf" pipeline --project-id "$P2" --detach
	[ "$status" -eq 78 ]
	[[ "$stderr" == *"QA cannot give evidence: the project has no test command, and the QA role is a scan role"* ]]
	[[ "$stderr" == *"fix: "* ]]
}
