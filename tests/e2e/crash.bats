#!/usr/bin/env bats
# crash: a short kill campaign (bench/crash.sh): a mixed load while
# wf-dispatch, wf-gate, wf-notify, agents and jobs are SIGKILLed at random,
# then a kill at each chosen point (WF_FAULT); nothing lost, nothing run
# beyond its attempts, no run stuck, every event delivered.

load helpers

setup() {
	no_model_env
	unset WF_HOME WF_CONFIG
}

@test "the kill campaign: 25 random kills and every chosen point, then all figures zero" {
	# The seed is printed; a failure names it, so it can be run again
	# (CRASH_SEED=N CRASH_KILLS=25 bench/crash.sh).
	seed=${CRASH_SEED:-$((RANDOM % 10000))}
	run env TMPDIR="$BATS_TEST_TMPDIR" CRASH_KILLS=25 CRASH_SEED="$seed" \
	    CRASH_SETTLE="$(slow 240)" WF_BIN="$B" \
	    timeout -s KILL "$(slow 600)" "$BATS_TEST_DIRNAME/../../bench/crash.sh"
	echo "seed $seed, exit $status"
	echo "$output"
	[ "$status" -eq 0 ]
	# the campaign did what it says: 25 kills, the chosen points reached,
	# and work went through
	[[ "$output" == *"seed $seed, 25 random kills"* ]]
	[[ "$output" =~ fault\ points\ reached\ ([0-9]+) ]]
	[ "${BASH_REMATCH[1]}" -ge 10 ]
	[[ "$output" =~ load:\ ([0-9]+)\ jobs ]]
	[ "${BASH_REMATCH[1]}" -ge 10 ]
	[[ "$output" =~ ,\ ([0-9]+)\ deliveries ]]
	[ "${BASH_REMATCH[1]}" -ge 1 ]
	# every figure printed, and zero
	for f in "jobs lost" "jobs in two terminal directories" \
	    "jobs run beyond their attempts" "jobs left in active/ or tmp/" \
	    "runs stuck" "events not delivered" "files wrongly in corrupt/" \
	    "fault points missed"; do
		grep -qx "$f: 0" <<<"$output" || {
			echo "not zero or missing: $f"
			return 1
		}
	done
	# and nothing of it is left running
	[ -z "$(env -u WF_HOME grep -lzsaF "WF_HOME=$BATS_TEST_TMPDIR/" \
	    /proc/[0-9]*/environ)" ]
}
