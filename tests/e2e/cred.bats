#!/usr/bin/env bats
# cred: the vault from the command line and in the agents' environment.
#  - add (stdin, --secret-file, a JSON object of fields), list, show, get
#    --reveal (audited, under the user's name), rm; the secret is never in
#    list, show or --json output, and never taken from argv;
#  - a tampered ciphertext and a wrong key are refused with a reason, and
#    nothing is overwritten;
#  - rotate-key re-seals every sealed value of state/ (a webhook's too) and
#    leaves one key; a value it cannot open keeps its key;
#  - a whole pipeline whose roles use credentials: afterwards no secret is
#    anywhere in the runtime tree, the daemons' logs or the outputs;
#  - rotations while agent jobs that read a credential run: every job saw
#    the right secret.

load helpers

setup() {
	wf_setup
	GATE_PID=
	REPO="$BATS_TEST_TMPDIR/repo"
	ROLES="$BATS_TEST_TMPDIR/roles"
	# The roles' programs run in the sandbox, where the project's
	# directory (git-less here) is the one place they see and write: their
	# scripts and what they note go there.
	SCRIPTS="$REPO/scripts"
	OUT="$REPO/out"
	mkdir -p "$REPO" "$ROLES" "$OUT" "$SCRIPTS"
	cp "$BATS_TEST_DIRNAME/fixtures/run_tests.sh" "$REPO/run_tests.sh"
	PROJ=$("$B/wf" project create --name demo --repo-path "$REPO" \
	    --test-command 'sh run_tests.sh')
	[ -n "$PROJ" ]
	# secrets no test could find by chance
	TOKEN="ghp_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	DBPASS="pw-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
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

# add_token: credential "github" of the project, the token on stdin
add_token() {
	printf '%s\n' "$TOKEN" | "$B/wf" cred add --project "$PROJ" \
	    --name github --type token --service github.com
}

add_db() {
	printf '{"username":"app","password":"%s"}' "$DBPASS" |
	    "$B/wf" cred add --project "$PROJ" --name db --type database
}

# nowhere SECRET PLACE...: SECRET is in no file under the PLACEs
nowhere() {
	local s=$1
	shift
	if grep -rlF -- "$s" "$@" 2>/dev/null; then
		echo "the secret was found in the files above" >&2
		return 1
	fi
}

# keys: the key files of the vault (not current, not .lock)
keys() {
	find "$WF_HOME/keys" -regextype posix-extended \
	    -regex '.*/[0-9a-f]{16}' | wc -l
}

@test "add, list, show, get --reveal: the secret only with --reveal, audited under the user's name" {
	run -0 add_token
	id=$output
	[ "$id" = 1 ]
	run -0 add_db
	[ "$output" = 2 ]
	# the state file holds a sealed value, not the secret
	nowhere "$TOKEN" "$WF_HOME"
	grep -q '"secret":{"kid":"[0-9a-f]*","nonce":"[^"]*","box":"[^"]*"}' \
	    "$WF_HOME/state/credentials/1.json"

	run -0 "$B/wf" cred list
	[[ $output == *github*token*github.com* ]]
	[[ $output == *db*database* ]]
	[[ $output != *"$TOKEN"* && $output != *"$DBPASS"* ]]
	[[ $output != *box* ]]
	run -0 "$B/wf" cred list --json
	json_ok <<<"$output"
	[ "$(jq length <<<"$output")" -eq 2 ]
	[ "$(jq '[.[] | has("secret")] | any' <<<"$output")" = false ]
	run -0 "$B/wf" cred show 2 --json
	[ "$(jq -r '.secret_fields | join(",")' <<<"$output")" = username,password ]
	[ "$(jq 'has("secret")' <<<"$output")" = false ]
	run -0 "$B/wf" cred show 1
	[[ $output == *"credential_type  token"* ]]
	[[ $output != *"$TOKEN"* && $output != *kid* ]]

	# get without --reveal prints nothing of the secret
	run -64 --separate-stderr "$B/wf" cred get 1
	[ -z "$output" ]
	[[ $stderr == *--reveal* ]]
	run -0 "$B/wf" cred get 1 --reveal
	[ "$output" = "$TOKEN" ]
	run -0 "$B/wf" cred get 2 --reveal --field password
	[ "$output" = "$DBPASS" ]
	run -0 "$B/wf" cred get 2 --reveal
	[ "$(jq -r .username <<<"$output")" = app ]
	run -65 "$B/wf" cred get 1 --reveal --field password
	[[ $output == *"not a JSON object"* ]]

	# each reveal is audited, under the login name, without the secret
	run -0 "$B/wf" log --entity credential:2 --json
	[ "$(jq '[.[] | select(.action == "credential.read")] | length' <<<"$output")" -eq 2 ]
	[ "$(jq -r '[.[] | select(.action == "credential.read")][0].actor' <<<"$output")" = "$(id -un)" ]
	[ "$(jq -r '[.[] | select(.action == "credential.read")][0].details.field' <<<"$output")" = password ]
	run -0 "$B/wf" log --entity credential:1 --json
	[ "$(jq '[.[] | select(.action == "credential.read")] | length' <<<"$output")" -eq 1 ]
	[ "$(jq '[.[] | select(.action == "credential.created")] | length' <<<"$output")" -eq 1 ]
	nowhere "$TOKEN" "$WF_HOME"
	nowhere "$DBPASS" "$WF_HOME"
}

@test "a secret is never taken from argv; bad fields are refused before it is read" {
	for flag in --secret --password --value; do
		run -64 "$B/wf" cred add --project "$PROJ" --name x --type token \
		    "$flag" "$TOKEN" </dev/null
		[[ $output == *"never taken from the command line"* ]]
		run -64 "$B/wf" cred add --project "$PROJ" --name x --type token \
		    "$flag=$TOKEN" </dev/null
	done
	run -64 "$B/wf" cred add --project "$PROJ" --name x --type token \
	    "$TOKEN" </dev/null
	[[ $output == *"never taken from the command line"* ]]
	run -0 "$B/wf" cred --help
	[[ $output == *"never from the command line"* ]]
	[ -z "$(ls "$WF_HOME/state/credentials")" ]
	# a bad type, an unknown project, an empty secret, a taken name
	run -65 "$B/wf" cred add --project "$PROJ" --name x --type magic <<<"$TOKEN"
	[[ $output == *credential_type* ]]
	run -65 "$B/wf" cred add --project 99 --name x --type token <<<"$TOKEN"
	run -65 "$B/wf" cred add --project "$PROJ" --name x --type token </dev/null
	[[ $output == *empty* ]]
	run -64 "$B/wf" cred add --name x --type token <<<"$TOKEN"
	run -0 add_token
	run -65 add_token
	[[ $output == *taken* ]]
	[ "$(ls "$WF_HOME/state/credentials" | grep -c json)" -eq 1 ]
}

@test "--secret-file; an ssh key keeps its bytes; a file over 64 KiB is refused" {
	printf -- '-----BEGIN KEY-----\n%s\n-----END KEY-----\n' "$TOKEN" \
	    >"$BATS_TEST_TMPDIR/key"
	run -0 "$B/wf" cred add --project "$PROJ" --name deploy --type ssh_key \
	    --secret-file "$BATS_TEST_TMPDIR/key" </dev/null
	"$B/wf" cred get "$output" --reveal >"$BATS_TEST_TMPDIR/key.out"
	cmp "$BATS_TEST_TMPDIR/key" "$BATS_TEST_TMPDIR/key.out"
	head -c 70000 /dev/zero | tr '\0' a >"$BATS_TEST_TMPDIR/big"
	run -65 "$B/wf" cred add --project "$PROJ" --name big --type other \
	    --secret-file "$BATS_TEST_TMPDIR/big"
	[[ $output == *"over 65536 bytes"* ]]
	run -66 "$B/wf" cred add --project "$PROJ" --name none --type other \
	    --secret-file "$BATS_TEST_TMPDIR/nothing-here"
}

@test "a tampered ciphertext is refused with a reason, and nothing is overwritten" {
	run -0 add_token
	f=$WF_HOME/state/credentials/1.json
	# flip one character of the box
	box=$(jq -r .secret.box "$f")
	c=${box:5:1}
	[ "$c" = A ] && n=B || n=A
	jq -c --arg b "${box:0:5}$n${box:6}" '.secret.box = $b' "$f" >"$f.new"
	mv "$f.new" "$f"
	cp "$f" "$BATS_TEST_TMPDIR/before"
	run -65 --separate-stderr "$B/wf" cred get 1 --reveal
	[ -z "$output" ]
	[[ $stderr == *"does not open"*tampered* ]]
	[ "$(wc -l <<<"$stderr")" -eq 1 ]
	cmp "$f" "$BATS_TEST_TMPDIR/before"
	# no read was recorded: nothing was read
	run -0 "$B/wf" log --entity credential:1 --json
	[ "$(jq '[.[] | select(.action == "credential.read")] | length' <<<"$output")" -eq 0 ]
	# a rotation cannot re-seal it: it says so and keeps its key
	run -65 "$B/wf" cred rotate-key
	[[ $output == *"did not open"* ]]
	cmp "$f" "$BATS_TEST_TMPDIR/before"
	[ "$(keys)" -eq 2 ]
	# a malformed one
	jq -c '.secret.nonce = "!!"' "$BATS_TEST_TMPDIR/before" >"$f"
	run -65 "$B/wf" cred get 1 --reveal
	[[ $output == *malformed* ]]
}

@test "a wrong key is refused with a reason; the credential is left as it was" {
	run -0 add_token
	kid=$(tr -d '\n' <"$WF_HOME/keys/current")
	f=$WF_HOME/state/credentials/1.json
	cp "$f" "$BATS_TEST_TMPDIR/before"
	cp "$WF_HOME/keys/$kid" "$BATS_TEST_TMPDIR/key"
	head -c 32 /dev/urandom >"$WF_HOME/keys/$kid"
	run -65 --separate-stderr "$B/wf" cred get 1 --reveal
	[ -z "$output" ]
	[[ $stderr == *"does not open under key $kid"* ]]
	cmp "$f" "$BATS_TEST_TMPDIR/before"
	# a key others may read is refused too
	cp "$BATS_TEST_TMPDIR/key" "$WF_HOME/keys/$kid"
	chmod 0644 "$WF_HOME/keys/$kid"
	run -65 "$B/wf" cred get 1 --reveal
	[[ $output == *"must be 0600"* ]]
	chmod 0600 "$WF_HOME/keys/$kid"
	# no key at all
	mv "$WF_HOME/keys/$kid" "$BATS_TEST_TMPDIR/key"
	run -65 "$B/wf" cred get 1 --reveal
	[[ $output == *"key $kid"* ]]
	mv "$BATS_TEST_TMPDIR/key" "$WF_HOME/keys/$kid"
	run -0 "$B/wf" cred get 1 --reveal
	[ "$output" = "$TOKEN" ]
}

@test "rotate-key re-seals every sealed value of state/, a webhook's too, and leaves one key" {
	run -0 add_token
	run -0 add_db
	old=$(tr -d '\n' <"$WF_HOME/keys/current")
	# a webhook with a sealed secret (the kind of another module): the
	# db's sealed value, copied, so that it can be read back below
	mkdir -p "$WF_HOME/state/webhooks"
	jq -c '{id: 1, url: "http://127.0.0.1:9/", secret: .secret, events: ["*"]}' \
	    "$WF_HOME/state/credentials/2.json" >"$WF_HOME/state/webhooks/1.json"
	run -0 "$B/wf" cred rotate-key
	[[ $output == *"3 values re-sealed; 1 old key removed"* ]]
	new=$(tr -d '\n' <"$WF_HOME/keys/current")
	[ "$new" != "$old" ]
	[ "$(keys)" -eq 1 ]
	[ -e "$WF_HOME/keys/$new" ] && [ ! -e "$WF_HOME/keys/$old" ]
	[ "$(jq -r .secret.kid "$WF_HOME/state/credentials/1.json")" = "$new" ]
	[ "$(jq -r .secret.kid "$WF_HOME/state/webhooks/1.json")" = "$new" ]
	[ "$(jq -r .url "$WF_HOME/state/webhooks/1.json")" = http://127.0.0.1:9/ ]
	run -0 "$B/wf" cred get 1 --reveal
	[ "$output" = "$TOKEN" ]
	run -0 "$B/wf" cred get 2 --reveal --field password
	[ "$output" = "$DBPASS" ]
	# the webhook's value opens to what it held
	jq -c --slurpfile w "$WF_HOME/state/webhooks/1.json" '.secret = $w[0].secret' \
	    "$WF_HOME/state/credentials/2.json" >"$BATS_TEST_TMPDIR/c"
	cp "$BATS_TEST_TMPDIR/c" "$WF_HOME/state/credentials/2.json"
	run -0 "$B/wf" cred get 2 --reveal --field password
	[ "$output" = "$DBPASS" ]
	# audited, key ids only
	run -0 "$B/wf" log --json
	line=$(jq -c '.[] | select(.action == "vault.rotated")' <<<"$output")
	[ "$(jq -r .details.new_key <<<"$line")" = "$new" ]
	[ "$(jq -r .details.resealed <<<"$line")" -eq 3 ]
	# twice more: still one key, still the same secrets
	run -0 "$B/wf" cred rotate-key
	run -0 "$B/wf" cred rotate-key --json
	[ "$(jq -r .resealed <<<"$output")" -eq 3 ]
	[ "$(keys)" -eq 1 ]
	run -0 "$B/wf" cred get 1 --reveal
	[ "$output" = "$TOKEN" ]
	nowhere "$TOKEN" "$WF_HOME"
	nowhere "$DBPASS" "$WF_HOME"
}

@test "rm deletes a credential; a project with credentials is not deleted" {
	run -0 add_token
	run -65 "$B/wf" project delete "$PROJ"
	[[ $output == *"1 credential"* ]]
	run -0 "$B/wf" cred rm 1
	[ ! -e "$WF_HOME/state/credentials/1.json" ]
	run -66 "$B/wf" cred rm 1
	run -66 "$B/wf" cred get 1 --reveal
	run -0 "$B/wf" log --entity credential:1 --json
	[ "$(jq -r '.[-1].action' <<<"$output")" = credential.deleted ]
	nowhere "$TOKEN" "$WF_HOME"
}

@test "a role's env mapping: a bad one is refused with its line" {
	wf_config '[pipeline]' "roles_dir = $ROLES"
	printf '[role]\nbackend = command\ncommand = true\nenv = WF_X:cred:1\n' >"$ROLES/dev.ini"
	printf '[role]\nbackend = command\ncommand = true\nenv = 1X:cred:1\n' >"$ROLES/a.ini"
	printf '[role]\nbackend = command\ncommand = true\nenv = X:file:1\n' >"$ROLES/b.ini"
	printf '[role]\nbackend = command\ncommand = true\nenv = X:cred:1\nenv = X:cred:2\n' >"$ROLES/c.ini"
	# the agent refuses the role: its job fails with the reason
	rid=$("$B/wf" run create --project-id "$PROJ" | grep -o '[0-9]*' | head -1)
	for r in dev a b c; do
		id=$(enqueue -t agent_run -d "{\"run_id\":$rid,\"role\":\"$r\"}" -m 1)
		echo "$id" >>"$BATS_TEST_TMPDIR/ids"
	done
	start_dispatch
	for id in $(cat "$BATS_TEST_TMPDIR/ids"); do
		# (a job still waiting is "settled" too: wait for its end)
		wait_until "$(slow 20)" test -e "$WF_HOME/failed/$id"
		ended "$id" failed
	done
	set -- $(cat "$BATS_TEST_TMPDIR/ids")
	[[ $(jget "$WF_HOME/failed/$1" error_message) == *"WF_X is wf's"* ]]
	[[ $(jget "$WF_HOME/failed/$2" error_message) == *"not a variable name"* ]]
	[[ $(jget "$WF_HOME/failed/$3" error_message) == *"NAME:cred:REF"* ]]
	[[ $(jget "$WF_HOME/failed/$4" error_message) == *"mapped twice"* ]]
}

# role NAME COMMAND [ENV...]: a command-backed role with env mappings
role() {
	local name=$1 cmd=$2 e
	shift 2
	{
		printf '[role]\nbackend = command\ncommand = %s\ntimeout = 60\n' "$cmd"
		for e in "$@"; do
			printf 'env = %s\n' "$e"
		done
	} >"$ROLES/$name.ini"
}

sha() { printf '%s' "$1" | sha256sum | cut -c1-64; }

# check_cmd VAR VALUE TAG: a role command that passes when $VAR holds
# VALUE (compared by hash: the role holds no secret) and notes it in
# $OUT/TAG.  The script is a file of its own: inih reads at most 200 bytes
# of a line.
check_cmd() {
	cat >"$SCRIPTS/$3.sh" <<-EOF
	if [ "\$(printf %s "\$$1" | sha256sum | cut -c1-64)" = $(sha "$2") ]; then
		echo ok >>"$OUT/$3"
		printf '{"status":"pass","summary":"$1 ok"}\n'
	else
		echo bad >>"$OUT/$3"
		printf '{"status":"fail","summary":"$1 wrong"}\n'
	fi
	EOF
	echo "sh $SCRIPTS/$3.sh"
}

@test "a whole pipeline with credentials: each role gets its own, and no secret is anywhere after it" {
	run -0 add_token
	run -0 add_db
	wf_config '[queue]' 'backoff_base = 1' '[pipeline]' "roles_dir = $ROLES" \
	    'auto_retry = false' 'max_iter = 1'
	# pm has no mapping and must see none; dev gets the token by name,
	# sec the db password by id and field; qa runs the tests
	cat >"$SCRIPTS/pm.sh" <<-EOF
	if [ -z "\$GITHUB_TOKEN\$DB_PASSWORD\$DB_USER" ]; then
		echo ok >>"$OUT/pm"
		printf '{"status":"pass","summary":"no secrets"}\n'
	else
		printf '{"status":"fail","summary":"leak"}\n'
	fi
	EOF
	role pm "sh $SCRIPTS/pm.sh"
	role dev "$(check_cmd GITHUB_TOKEN "$TOKEN" dev)" 'GITHUB_TOKEN:cred:github'
	role qa 'sh -c "$WF_TEST_COMMAND"'
	role security "$(check_cmd DB_PASSWORD "$DBPASS" sec)" 'DB_PASSWORD:cred:2.password' \
	    'DB_USER:cred:db.username'
	start_dispatch
	start_gate
	run "$B/wf" pipeline --project-id "$PROJ" --timeout "$(slow 60)"
	echo "$output"
	echo "$output" >"$OUT/pipeline.out"
	[ "$status" -eq 0 ]
	[[ $output == *READY_FOR_COMMIT* ]]
	[ "$(cat "$OUT/pm")" = ok ]
	[ "$(cat "$OUT/dev")" = ok ]
	[ "$(cat "$OUT/sec")" = ok ]
	rid=$(sed -n 's/^run \([0-9][0-9]*\) created.*/\1/p' <<<"$output" | head -1)
	run -0 "$B/wf" run advance "$rid"
	run -0 "$B/wf" run advance "$rid"
	run -0 "$B/wf" run approve-deploy "$rid"
	run -0 "$B/wf" run show "$rid" --json
	echo "$output" >"$OUT/run.json"

	# every read by a role is audited under the role's name, with no secret
	"$B/wf" log --json >"$OUT/audit.json"
	"$B/wf" log >"$OUT/audit.txt"
	run -0 jq -r '[.[] | select(.action == "credential.read") | "\(.actor) \(.entity_id) \(.details.env)"] | sort | join(",")' "$OUT/audit.json"
	[ "$output" = "dev 1 GITHUB_TOKEN,security 2 DB_PASSWORD,security 2 DB_USER" ]
	# the approval, under the user's name
	run -0 "$B/wf" log --run "$rid" --json
	[ "$(jq -r '[.[] | select(.action == "run.deploy_approved")][0].actor' <<<"$output")" = "$(id -un)" ]
	# every job's end is audited by the dispatcher
	[ "$(jq '[.[] | select(.action == "job.completed" and .actor == "wf-dispatch" and .details.run_id == '"$rid"')] | length' "$OUT/audit.json")" -ge 4 ]
	"$B/wf" queue list --json >"$OUT/queue.json"
	for id in $(ls "$WF_HOME/done"); do
		"$B/wf" queue show "$id" --json >>"$OUT/jobs.json"
	done

	# the secrets: in the runtime tree (state, queues, done/, output/,
	# log/, events/, reports/), the daemons' logs, and every output here
	stop_dispatch
	for s in "$TOKEN" "$DBPASS"; do
		nowhere "$s" "$WF_HOME" "$OUT" "$BATS_TEST_TMPDIR"/*.log
	done
	# (the search finds a secret where there is one)
	printf 'x%sx\n' "$TOKEN" >"$OUT/probe"
	! nowhere "$TOKEN" "$WF_HOME" "$OUT" 2>/dev/null
}

@test "key rotations while agent jobs read a credential: every job sees the right secret" {
	run -0 add_token
	cat >"$WF_CONFIG" <<-EOF
	[lane.agent]
	concurrency = 3
	[pipeline]
	roles_dir = $ROLES
	EOF
	role pm 'printf '"'"'{"status":"pass","summary":"pm"}\n'"'"''
	role reader "$(check_cmd TOKEN "$TOKEN" reads)" 'TOKEN:cred:github'
	rid=$("$B/wf" run create --project-id "$PROJ" | grep -o '[0-9]*' | head -1)
	[ -n "$rid" ]
	n=24
	for _ in $(seq 1 $n); do
		printf '{"job_type":"agent_run","request_data":{"run_id":%d,"role":"reader"},"max_attempts":1}\n' "$rid"
	done | "$B/wf-enqueue" --batch >"$BATS_TEST_TMPDIR/ids"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/ids")" -eq "$n" ]
	start_dispatch
	rotations=0
	until [ "$(count done)" -ge $((n + 1)) ] || [ "$(count failed)" -gt 0 ]; do
		run -0 "$B/wf" cred rotate-key
		rotations=$((rotations + 1))
		[ "$rotations" -lt 200 ]
	done
	run -0 "$B/wf" cred rotate-key
	wait_until "$(slow 20)" active_empty
	echo "rotations: $rotations" >&3
	[ "$rotations" -ge 2 ]
	[ "$(count failed)" -eq 0 ]
	[ "$(count done)" -eq $((n + 1)) ]
	[ "$(grep -c ok "$OUT/reads")" -eq "$n" ]
	! grep -q bad "$OUT/reads"
	[ "$(keys)" -eq 1 ]
	run -0 "$B/wf" cred get 1 --reveal
	[ "$output" = "$TOKEN" ]
	stop_dispatch
	nowhere "$TOKEN" "$WF_HOME" "$BATS_TEST_TMPDIR"/*.log
}
