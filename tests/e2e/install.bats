#!/usr/bin/env bats
# install: make install into a scratch DESTDIR puts every file where it
# belongs, with the installed paths baked into the programs; the
# installed programs run a job on a scratch $WF_HOME; a second install
# keeps an edited wf.ini (the new default goes beside it as wf.ini.new);
# make uninstall removes what install put, but the edited wf.ini.

load helpers

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

# mk TARGET: make TARGET into the scratch root.  The build for install is
# shared (build/inst) and serialised with a lock: another test or a
# person may be installing at the same time.
mk() {
	mkdir -p "$REPO/build"
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS flock "$REPO/build/.install.lock" \
	    make -s -j2 -C "$REPO" "$1" DESTDIR="$ROOT" PREFIX=/usr/local \
	    UNITB="$BATS_FILE_TMPDIR/units"
}

setup_file() {
	export ROOT=$BATS_FILE_TMPDIR/root
	mk install >"$BATS_FILE_TMPDIR/install.log" 2>&1 || {
		cat "$BATS_FILE_TMPDIR/install.log" >&2
		return 1
	}
}

setup() {
	wf_setup
	# The installed programs, told where they are (DESTDIR is not PREFIX)
	I=$ROOT/usr/local/bin
	B=$I
	export WF_BINDIR=$I
}

teardown() {
	wf_teardown
}

@test "install puts programs, man pages, units, sysusers, tmpfiles, completion and config in place" {
	for p in wf wf-enqueue wf-dispatch wf-agent wf-gate wf-httpd wf-director; do
		[ "$(stat -c %a "$I/$p")" = 755 ]
	done
	for m in man1/wf.1 man1/wf-enqueue.1 man5/wf.ini.5 man7/wf-spool.7 \
	    man8/wf-dispatch.8 man8/wf-agent.8 man8/wf-gate.8 man8/wf-notify.8 \
	    man8/wf-httpd.8 man8/wf-director.8; do
		[ -f "$ROOT/usr/local/share/man/$m" ] || { echo "no $m"; false; }
	done
	for u in wf-dispatch.service wf-gate.service wf-notify.service \
	    wf-httpd.service wf-director.service wf.target; do
		[ -f "$ROOT/usr/local/lib/systemd/system/$u" ]
	done
	grep -qx "ExecStart=/usr/local/bin/wf-dispatch" \
	    "$ROOT/usr/local/lib/systemd/system/wf-dispatch.service"
	grep -q '^u wf ' "$ROOT/usr/local/lib/sysusers.d/wf.conf"
	grep -q '^d /var/spool/wf ' "$ROOT/usr/local/lib/tmpfiles.d/wf.conf"
	[ -f "$ROOT/usr/local/share/bash-completion/completions/wf" ]
	cmp "$REPO/etc/wf.ini" "$ROOT/etc/wf/wf.ini"
	cmp "$REPO/etc/director/criteria.txt" "$ROOT/etc/wf/director/criteria.txt"
	for r in "$REPO"/etc/roles/*; do
		cmp "$r" "$ROOT/etc/wf/roles/${r##*/}"
	done
	[ -d "$ROOT/etc/wf/hooks.d" ]
	# the page's files, where the installed wf-httpd looks for them
	for f in "$REPO"/web/*; do
		[ -f "$f" ] || continue
		cmp "$f" "$ROOT/usr/local/share/wf/web/${f##*/}"
	done
	run "$I/wf-httpd" --help
	[[ "$output" == *"/usr/local/share/wf/web"* ]]
	# Nothing but these: no stray files.
	[ -z "$(find "$ROOT" -type f ! -path '*/bin/*' ! -path '*/man/*' \
	    ! -path '*/systemd/system/*' ! -path '*/etc/wf/*' \
	    ! -path '*/share/wf/web/*' \
	    ! -name wf.conf ! -path '*/completions/wf')" ]
}

@test "the installed programs have the installed paths built in" {
	export WF_CONFIG=$ROOT/etc/wf/wf.ini
	run env -u WF_HOME "$I/wf" init --help
	[[ "$output" == *"(default: /var/spool/wf)"* ]]
	run env -u WF_CONFIG "$I/wf-dispatch" --help
	[[ "$output" == *"or /etc/wf/wf.ini)"* ]]
	# wf X runs wf-X from the installed BINDIR
	run -64 env -u WF_BINDIR "$I/wf" nosuchcommand
	[[ "$output" == *"/usr/local/bin/wf-nosuchcommand"* ]]
	[[ "$output" != *"$REPO"* ]]
}

@test "the installed programs run a job on a scratch WF_HOME, with the installed wf.ini" {
	run "$I/wf" init
	[ "$status" -eq 0 ]
	# The installed wf.ini, its command lane through wf-agent (which
	# wf-dispatch finds in WF_BINDIR: without it the job would fail with
	# "cannot execute").
	sed 's/^runner = direct$/runner = agent/' "$ROOT/etc/wf/wf.ini" >"$WF_CONFIG"
	grep -qx 'runner = agent' "$WF_CONFIG"
	start_dispatch
	run enqueue_wait -- echo hello from the installed wf
	[ "$status" -eq 0 ]
	id=$output
	ended "$id" done
	[ "$(jget "$WF_HOME/done/$id" status)" = completed ]
	grep -qx 'hello from the installed wf' "$WF_HOME/output/$id.log"
}

# complete_wf WORD...: what the installed bash completion offers for the last
# WORD, one line
complete_wf() {
	bash -c '
		. "$1/usr/local/share/bash-completion/completions/wf"
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		_wf
		echo "${COMPREPLY[*]}"' complete_wf "$ROOT" "$@"
}

@test "the installed bash completion completes commands, verbs, flags and values" {
	export PATH=$I:$PATH
	[ "$(complete_wf wf qu)" = queue ]
	[ "$(complete_wf wf p)" = "project pipeline" ]
	[ "$(complete_wf wf queue '')" = \
	    "status list show cancel retry wait purge --help" ]
	[ "$(complete_wf wf run re)" = "report retry reset-to-dev" ]
	# Flags come from the installed wf's own --help.
	[ "$(complete_wf wf project create --test)" = --test-command ]
	[ "$(complete_wf wf enqueue --pri)" = --priority ]
	[ "$(complete_wf wf queue list --status f)" = failed ]
	[ "$(complete_wf wf-enqueue -p c)" = critical ]
}

@test "a second install keeps an edited wf.ini and puts the new default beside it" {
	echo '; edited by hand' >>"$ROOT/etc/wf/wf.ini"
	run mk install
	[ "$status" -eq 0 ]
	[[ "$output" == *"wf.ini is edited; the new default is"*"wf.ini.new"* ]]
	tail -1 "$ROOT/etc/wf/wf.ini" | grep -qx '; edited by hand'
	cmp "$REPO/etc/wf.ini" "$ROOT/etc/wf/wf.ini.new"
	# An unedited file is left as it is, with nothing beside it.
	[ ! -e "$ROOT/etc/wf/roles/qa.ini.new" ]
}

@test "uninstall removes what install put, but the edited wf.ini" {
	run mk uninstall
	[ "$status" -eq 0 ]
	[[ "$output" == *"wf.ini is edited: kept"* ]]
	run find "$ROOT" -type f
	[ "$output" = "$ROOT/etc/wf/wf.ini" ]
	grep -qx '; edited by hand' "$ROOT/etc/wf/wf.ini"
	[ ! -e "$ROOT/etc/wf/roles" ]
}

