#!/usr/bin/env bats
# discover: wf discover on the fixture repositories of tests/fixtures/repos,
# one a detector (Python's requirements.txt and pyproject.toml, package.json,
# go.mod, Cargo.toml, a Makefile, vendored and build directories), each
# copied under the test's temporary directory; git's branch and origin from
# a .git made there at run time (no network: the origin is example.invalid);
# links out of the tree; --create, --update and --name through the store,
# with the audit trail; the errors, their exit codes, and --help.

bats_require_minimum_version 1.5.0

load helpers

FIX=$BATS_TEST_DIRNAME/../fixtures/repos

setup() {
	wf_setup
	# git for the set-up only, with no config but the test's own
	export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
}

teardown() { wf_teardown; }

# fixture NAME: a copy of the fixture NAME; its real path in $R
fixture() {
	cp -R "$FIX/$1" "$BATS_TEST_TMPDIR/$1"
	R=$(cd "$BATS_TEST_TMPDIR/$1" && pwd -P)
}

# discover ARG...: wf discover --json, which must succeed, print JSON and
# nothing on stderr; the JSON in $output
discover() {
	run -0 --separate-stderr "$B/wf" discover --json "$@"
	json_ok <<<"$output"
	[ -z "$stderr" ] || { echo "stderr: $stderr" >&2; return 1; }
}

# field NAME: a field of the project found, compact JSON
field() {
	jq -c ".project.$1" <<<"$output"
}

audit_count() {
	grep -c "\"action\":\"$1\"" "$WF_HOME/log/audit.jsonl" || true
}

@test "python: requirements*.txt, pyproject.toml, pytest, ruff, manage.py" {
	fixture python
	discover "$R"
	[ "$(field name)" = '"python"' ]
	[ "$(field repo_path)" = "\"$R\"" ]
	[ "$(field languages)" = '["python"]' ]
	[ "$(jq -c .file_counts <<<"$output")" = '{"python":6}' ]
	# django and pytest from both; celery from requirements.txt only;
	# djangorestframework from pyproject.toml only
	[ "$(field frameworks)" = \
	    '["django","django-rest-framework","pytest","celery"]' ]
	[ "$(field description)" = '"A small Django shop"' ]
	[ "$(field test_command)" = '"pytest"' ]
	[ "$(field run_command)" = '"python manage.py runserver"' ]
	# ruff from requirements-dev.txt
	[ "$(field lint_command)" = '"ruff check ."' ]
	[ "$(field build_command)" = null ]
	[ "$(field key_files)" = '["README.md","pyproject.toml","requirements.txt","requirements-dev.txt","manage.py"]' ]
	# no .git: nothing said of git
	[ "$(field repository_url)" = null ]
	[ "$(field primary_branch)" = null ]
}

@test "python: each manifest alone proves its detector" {
	fixture python
	rm "$R/pyproject.toml" "$R/requirements-dev.txt"
	discover "$R"
	[ "$(field frameworks)" = '["django","pytest","celery"]' ]
	[ "$(field lint_command)" = null ]
	rm "$R/requirements.txt"
	discover "$R"
	[ "$(field frameworks)" = null ]
	[ "$(field test_command)" = null ]
	[ "$(field run_command)" = null ]
	cp "$FIX/python/pyproject.toml" "$R/"
	discover "$R"
	[ "$(field frameworks)" = '["django","django-rest-framework","pytest"]' ]
	[ "$(field test_command)" = '"pytest"' ]
}

@test "node: package.json dependencies and scripts" {
	fixture node
	discover "$R"
	[ "$(field languages)" = '["javascript"]' ]
	[ "$(jq .file_counts.javascript <<<"$output")" = 4 ]
	[ "$(field frameworks)" = '["express","react","jest"]' ]
	[ "$(field build_command)" = '"npm run build"' ]
	[ "$(field test_command)" = '"npm test"' ]
	[ "$(field run_command)" = '"npm start"' ]
	[ "$(field description)" = '"A React storefront with an Express API"' ]
	[ "$(field key_files)" = '["README.md","package.json","server.js","src/index.js"]' ]
	# a yarn.lock makes them yarn's
	: >"$R/yarn.lock"
	discover "$R"
	[ "$(field test_command)" = '"yarn test"' ]
	[ "$(field build_command)" = '"yarn run build"' ]
}

@test "go: go.mod's direct requirements; go build, go test, go vet" {
	fixture go
	discover "$R"
	[ "$(field languages)" = '["go"]' ]
	[ "$(jq .file_counts.go <<<"$output")" = 3 ]
	# echo is required, but indirectly: not a framework of this one
	[ "$(field frameworks)" = '["gin"]' ]
	[ "$(field build_command)" = '"go build ./..."' ]
	[ "$(field test_command)" = '"go test ./..."' ]
	[ "$(field lint_command)" = '"go vet ./..."' ]
	[ "$(field run_command)" = '"go run ."' ]
	[ "$(field key_files)" = '["go.mod","main.go"]' ]
}

@test "rust: Cargo.toml dependencies; cargo build, test, run, clippy" {
	fixture rust
	discover "$R"
	[ "$(field languages)" = '["rust"]' ]
	[ "$(field frameworks)" = '["tokio","serde"]' ]
	[ "$(field description)" = '"Prints the time, asynchronously"' ]
	[ "$(field build_command)" = '"cargo build"' ]
	[ "$(field test_command)" = '"cargo test"' ]
	[ "$(field run_command)" = '"cargo run"' ]
	[ "$(field lint_command)" = '"cargo clippy"' ]
	[ "$(field key_files)" = '["Cargo.toml","src/main.rs","src/lib.rs"]' ]
}

@test "c: Makefile targets all, check and test" {
	fixture c
	discover "$R"
	[ "$(field languages)" = '["c"]' ]
	[ "$(jq .file_counts.c <<<"$output")" = 4 ]
	[ "$(field frameworks)" = null ]
	[ "$(field build_command)" = '"make"' ]
	# check before test
	[ "$(field test_command)" = '"make check"' ]
	[ "$(field key_files)" = '["README.md","Makefile"]' ]
	# the commands are the project's own: they work
	run -0 make -s -C "$R" check
	[[ "$output" == *"ok 1 - add"* ]]
	# without check, test; with a lint target, make lint
	sed -i 's/^check:/verify:/; s/^test: check/test: verify/' "$R/Makefile"
	printf 'lint:\n\ttrue\n' >>"$R/Makefile"
	discover "$R"
	[ "$(field test_command)" = '"make test"' ]
	[ "$(field lint_command)" = '"make lint"' ]
}

@test "mixed: vendored and build directories are not counted" {
	fixture mixed
	[ "$(find "$R/node_modules" -name '*.js' | wc -l)" -ge 40 ]
	discover "$R"
	[ "$(jq -c .file_counts <<<"$output")" = \
	    '{"python":3,"typescript":2,"javascript":1}' ]
	[ "$(field languages)" = '["python","typescript","javascript"]' ]
	[ "$(jq .truncated <<<"$output")" = false ]
	# more vendored code changes nothing
	for i in $(seq 1 50); do : >"$R/node_modules/left-pad/x$i.js"; done
	mkdir -p "$R/web/node_modules/y" "$R/.tox/z" "$R/app/venv/lib"
	: >"$R/web/node_modules/y/a.js"
	: >"$R/.tox/z/a.py"
	: >"$R/app/venv/lib/a.py"
	discover "$R"
	[ "$(jq -c .file_counts <<<"$output")" = \
	    '{"python":3,"typescript":2,"javascript":1}' ]
	# but the project's own does count
	: >"$R/web/more.js"
	discover "$R"
	[ "$(jq .file_counts.javascript <<<"$output")" = 2 ]
}

@test "links: never followed out of the tree" {
	fixture mixed
	mkdir -p "$BATS_TEST_TMPDIR/outside"
	for i in 1 2 3 4 5 6 7 8; do : >"$BATS_TEST_TMPDIR/outside/f$i.rb"; done
	printf '{"dependencies":{"react":"18"},"scripts":{"test":"x"}}\n' \
	    >"$BATS_TEST_TMPDIR/outside/package.json"
	ln -s "$BATS_TEST_TMPDIR/outside" "$R/ext"
	ln -s ../outside "$R/rel"
	ln -s "$BATS_TEST_TMPDIR/outside/package.json" "$R/package.json"
	ln -s .. "$R/app/up"
	discover "$R"
	[ "$(jq .file_counts.ruby <<<"$output")" = null ]
	[ "$(jq .symlinks_skipped <<<"$output")" = 4 ]
	[ "$(field frameworks)" = null ]
	[ "$(field test_command)" = null ]
	[ "$(jq -c .file_counts <<<"$output")" = \
	    '{"python":3,"typescript":2,"javascript":1}' ]
	# PATH itself may be a link: it is resolved
	ln -s "$R" "$BATS_TEST_TMPDIR/alias"
	discover "$BATS_TEST_TMPDIR/alias"
	[ "$(field repo_path)" = "\"$R\"" ]
}

@test "git: branch and origin read from .git, git not run" {
	fixture c
	git -C "$R" init -q -b main
	git -C "$R" remote add origin https://example.invalid/x.git
	# no git on PATH for wf: it reads the files
	run -0 --separate-stderr env PATH=/nonexistent "$B/wf" discover --json "$R"
	[ "$(field repository_url)" = '"https://example.invalid/x.git"' ]
	[ "$(field primary_branch)" = '"main"' ]
	# .git's own files are not counted
	[ "$(jq -c .file_counts <<<"$output")" = '{"c":4}' ]
	git -C "$R" symbolic-ref HEAD refs/heads/develop
	discover "$R"
	[ "$(field primary_branch)" = '"develop"' ]
	# origin's HEAD, when known, names the primary branch
	mkdir -p "$R/.git/refs/remotes/origin"
	echo 'ref: refs/remotes/origin/trunk' >"$R/.git/refs/remotes/origin/HEAD"
	discover "$R"
	[ "$(field primary_branch)" = '"trunk"' ]
	# a password or token in the url is not kept
	git -C "$R" remote set-url origin \
	    https://bob:s3cr3t-token@example.invalid/x.git
	discover "$R"
	[ "$(field repository_url)" = '"https://example.invalid/x.git"' ]
	[[ "$output" != *s3cr3t* ]]
	# other remotes are not origin
	git -C "$R" remote remove origin
	git -C "$R" remote add upstream https://example.invalid/up.git
	discover "$R"
	[ "$(field repository_url)" = null ]
}

@test "text: one line a field, languages with their counts" {
	fixture mixed
	run -0 --separate-stderr "$B/wf" discover "$R"
	[ "${lines[0]}" = "name                 mixed" ]
	[ "${lines[1]}" = "repo_path            $R" ]
	[[ "$output" == *"languages            python (3), typescript (2), javascript (1)"* ]]
	[[ "$output" == *"frameworks           -"* ]]
	[[ "$output" == *"build_command        -"* ]]
	[ -z "$stderr" ]
	fixture node
	run -0 "$B/wf" discover "$R"
	[[ "$output" == *"frameworks           express, react, jest"* ]]
	[[ "$output" == *"test_command         npm test"* ]]
}

@test "--create: a project through the store, audited, never twice" {
	fixture python
	run -0 --separate-stderr "$B/wf" discover --create "$R"
	[ "${lines[-1]}" = "created project 1" ]
	run -0 --separate-stderr "$B/wf" project show 1 --json
	[ "$(jq -r .name <<<"$output")" = python ]
	[ "$(jq -r .repo_path <<<"$output")" = "$R" ]
	[ "$(jq -c .languages <<<"$output")" = '["python"]' ]
	[ "$(jq -r .test_command <<<"$output")" = pytest ]
	[ "$(jq -c .frameworks <<<"$output")" = \
	    '["django","django-rest-framework","pytest","celery"]' ]
	# no branch was found: the store's default
	[ "$(jq -r .primary_branch <<<"$output")" = main ]
	[ "$(audit_count project.created)" -eq 1 ]
	grep -q '"action":"project.created","entity_type":"project","entity_id":1' \
	    "$WF_HOME/log/audit.jsonl"
	# again, by another path to the same directory: reported, not made
	ln -s "$R" "$BATS_TEST_TMPDIR/same"
	run -0 --separate-stderr "$B/wf" discover --create "$BATS_TEST_TMPDIR/same"
	[[ "${lines[-1]}" == "project 1 has this repo_path already: nothing created"* ]]
	discover --create "$R" --name other
	[ "$(jq .id <<<"$output")" = 1 ]
	[ "$(jq -r .action <<<"$output")" = exists ]
	run -0 --separate-stderr "$B/wf" project list --json
	[ "$(jq length <<<"$output")" -eq 1 ]
	[ "$(jq -r '.[0].name' <<<"$output")" = python ]
	[ "$(audit_count project.created)" -eq 1 ]
	# another repository is another project
	fixture go
	discover --create "$R"
	[ "$(jq .id <<<"$output")" = 2 ]
	[ "$(jq -r .action <<<"$output")" = created ]
	[ "$(jq -r '.project.name' <<<"$output")" = go ]
	[ "$(audit_count project.created)" -eq 2 ]
}

@test "--update: the fields found, on the project that has the repo_path" {
	fixture c
	discover --create "$R"
	[ "$(jq -r .action <<<"$output")" = created ]
	"$B/wf" project update 1 --description 'kept: not found again' \
	    --deploy-command 'make ship' >/dev/null
	printf 'lint:\n\ttrue\n' >>"$R/Makefile"
	git -C "$R" init -q -b main
	git -C "$R" remote add origin https://example.invalid/c.git
	discover --update "$R"
	[ "$(jq -r .action <<<"$output")" = updated ]
	run -0 --separate-stderr "$B/wf" project show 1 --json
	[ "$(jq -r .lint_command <<<"$output")" = 'make lint' ]
	[ "$(jq -r .repository_url <<<"$output")" = https://example.invalid/c.git ]
	[ "$(jq -r .description <<<"$output")" = 'kept: not found again' ]
	[ "$(jq -r .deploy_command <<<"$output")" = 'make ship' ]
	[ "$(jq -r .name <<<"$output")" = c ]
	[ "$(audit_count project.updated)" -eq 2 ]
	tail -n 1 "$WF_HOME/log/audit.jsonl" | jq -e \
	    '.details.lint_command.to == "make lint" and
	     .details.lint_command.from == null' >/dev/null
	# nothing new: nothing written
	cp "$WF_HOME/state/projects/1.json" "$BATS_TEST_TMPDIR/before.json"
	discover --update "$R"
	[ "$(jq -r .action <<<"$output")" = unchanged ]
	[ "$(audit_count project.updated)" -eq 2 ]
	cmp "$WF_HOME/state/projects/1.json" "$BATS_TEST_TMPDIR/before.json"
	# its name changes with --name only
	run -0 "$B/wf" discover --update --name renamed "$R"
	[ "${lines[-1]}" = "updated project 1" ]
	[ "$(jq -r .name "$WF_HOME/state/projects/1.json")" = renamed ]
	# --update makes one when there is none
	fixture go
	discover --update "$R"
	[ "$(jq -r .action <<<"$output")" = created ]
}

@test "--name; a name taken by another project is refused" {
	fixture go
	discover --create --name shop-api "$R"
	[ "$(jq -r .project.name <<<"$output")" = shop-api ]
	run -0 --separate-stderr "$B/wf" project show 1 --json
	[ "$(jq -r .name <<<"$output")" = shop-api ]
	# the default name: the directory's
	mkdir -p "$BATS_TEST_TMPDIR/b" "$BATS_TEST_TMPDIR/c"
	cp -R "$FIX/go" "$BATS_TEST_TMPDIR/b/go"
	cp -R "$FIX/go" "$BATS_TEST_TMPDIR/c/go"
	run -0 "$B/wf" discover --create "$BATS_TEST_TMPDIR/b/go"
	[ "${lines[-1]}" = "created project 2" ]
	run -65 --separate-stderr "$B/wf" discover --create "$BATS_TEST_TMPDIR/c/go"
	[ -z "$output" ]
	[[ "$stderr" == *"name 'go' is taken by project 2 (give this one a name with --name)"* ]]
	run -0 "$B/wf" discover --create --name go3 "$BATS_TEST_TMPDIR/c/go"
	[ "${lines[-1]}" = "created project 3" ]
	mkdir "$BATS_TEST_TMPDIR/d"
	run -65 --separate-stderr "$B/wf" discover --create --name shop-api \
	    "$BATS_TEST_TMPDIR/d"
	[[ "$stderr" == *"name 'shop-api' is taken by project 1"* ]]
	[[ "$stderr" != *"give this one"* ]]
	[ "$(find "$WF_HOME/state/projects" -name '*.json' | wc -l)" -eq 3 ]
	[ "$(audit_count project.created)" -eq 3 ]
}

@test "errors: usage, no such directory, no runtime tree; --help" {
	run -64 --separate-stderr "$B/wf" discover
	[[ "$stderr" == *"discover: needs a PATH"* ]]
	[[ "$stderr" == *"usage: wf discover"* ]]
	run -64 --separate-stderr "$B/wf" discover a b
	[[ "$stderr" == *"'b': one argument too many"* ]]
	run -64 --separate-stderr "$B/wf" discover --colour .
	[[ "$stderr" == *"--colour: unknown flag"* ]]
	run -64 --separate-stderr "$B/wf" discover -x .
	[[ "$stderr" == *"-x: unknown flag"* ]]
	run -64 --separate-stderr "$B/wf" discover . --name
	[[ "$stderr" == *"--name needs a value"* ]]
	run -66 --separate-stderr "$B/wf" discover "$BATS_TEST_TMPDIR/none"
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/none: No such file or directory"* ]]
	[ -z "$output" ]
	run -66 --separate-stderr "$B/wf" discover "$FIX/c/Makefile"
	[[ "$stderr" == *"c/Makefile: not a directory"* ]]
	# reading needs no runtime tree; --create does
	fixture c
	WF_HOME="$BATS_TEST_TMPDIR/nowhere" run -0 "$B/wf" discover "$R"
	WF_HOME="$BATS_TEST_TMPDIR/nowhere" run -78 --separate-stderr \
	    "$B/wf" discover --create "$R"
	[[ "$stderr" == *"wf init"* ]]
	[ -z "$output" ]
	run -0 --separate-stderr "$B/wf" discover --help
	[[ "${lines[0]}" == "usage: wf discover"* ]]
	[[ "$output" == *"--create"*"--update"*"--name NAME"*"--json"* ]]
	[[ "$output" == *"Exit status:"* ]]
	[ -z "$stderr" ]
	# help changes nothing
	run -0 "$B/wf" discover --create --help "$R"
	[ ! -e "$WF_HOME/state/projects/1.json" ]
	run -0 "$B/wf" --help
	[[ "$output" == *"wf discover PATH"* ]]
}
