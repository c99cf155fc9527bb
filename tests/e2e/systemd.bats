#!/usr/bin/env bats
# systemd: the units in systemd/ as `make install` writes them pass
# systemd-analyze verify (ExecStart= resolved against the programs under
# test), hang together as wf.target, carry the sandbox, score as safe in
# systemd-analyze security, and the daemons keep the units' side of the
# contract: READY=1 for Type=notify, SIGHUP for ExecReload=, exit 0 on
# SIGTERM and 78 on a bad config (RestartPreventExitStatus=78).  The
# sysusers.d and tmpfiles.d entries are applied to a scratch root.  No
# systemd need run (CI is a container without it as PID 1).

load helpers

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

# units DIR BINDIR: make the units for BINDIR into DIR
units() {
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$REPO" \
	    systemd-units UNITB="$1" BINDIR="$2" >/dev/null
}

setup_file() {
	U=$BATS_FILE_TMPDIR/units
	units "$U" "$B"
	export U
}

setup() {
	wf_setup
}

teardown() {
	wf_teardown
}

# verify UNIT: systemd-analyze verify, man pages not looked up (man.bats
# checks them), errors printed
verify() {
	run systemd-analyze verify --man=no "$U/$1"
	echo "$output"
	[ "$status" -eq 0 ]
	[ -z "$output" ]
}

# prop UNIT KEY: the values KEY= has in UNIT, one a line
prop() {
	sed -n "s/^$2=//p" "$U/$1"
}

@test "wf-dispatch.service passes systemd-analyze verify" {
	verify wf-dispatch.service
}

@test "wf-gate.service passes systemd-analyze verify" {
	verify wf-gate.service
}

@test "wf-notify.service passes systemd-analyze verify (needs wf-notify built)" {
	[ -x "$B/wf-notify" ] || {
		echo "no $B/wf-notify: the unit cannot be verified until it is built"
		false
	}
	verify wf-notify.service
}

@test "wf-httpd.service passes systemd-analyze verify" {
	verify wf-httpd.service
}

@test "wf-director.service passes systemd-analyze verify" {
	verify wf-director.service
}

@test "wf.target passes verify and starts and stops the five daemons together" {
	verify wf.target
	[ "$(prop wf.target Wants)" = \
	    "wf-dispatch.service wf-gate.service wf-notify.service wf-httpd.service wf-director.service" ]
	[ "$(prop wf.target WantedBy)" = multi-user.target ]
	for s in wf-dispatch wf-gate wf-notify wf-httpd wf-director; do
		[ "$(prop $s.service PartOf)" = wf.target ]
		[ "$(prop $s.service WantedBy)" = wf.target ]
	done
}

@test "verify is not a formality: a unit whose program is missing fails" {
	units "$BATS_TEST_TMPDIR/bad" /nonexistent/bin
	run systemd-analyze verify --man=no "$BATS_TEST_TMPDIR/bad/wf-gate.service"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/nonexistent/bin/wf-gate"*"not executable"* ]]
}

@test "the services: notify, restart but on EX_CONFIG, the wf user, the spool, the sandbox" {
	for s in wf-dispatch wf-gate wf-notify wf-httpd wf-director; do
		u=$s.service
		[ "$(prop $u Type)" = notify ]
		[ "$(prop $u ExecStart)" = "$B/$s" ]
		[ "$(prop $u ExecStartPre)" = "$B/wf init" ]
		[ "$(prop $u ExecReload)" = '/bin/kill -HUP $MAINPID' ]
		[ "$(prop $u Restart)" = on-failure ]
		[ "$(prop $u RestartPreventExitStatus)" = 78 ]
		[ "$(prop $u User)" = wf ]
		[ "$(prop $u UMask)" = 0027 ]
		[ "$(prop $u Environment)" = \
		    "WF_HOME=/var/spool/wf WF_CONFIG=/etc/wf/wf.ini" ]
		[ "$(prop $u ReadWritePaths)" = /var/spool/wf ]
		[ "$(prop $u CapabilityBoundingSet)" = "" ]
		for kv in ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
		    PrivateDevices=yes NoNewPrivileges=yes \
		    MemoryDenyWriteExecute=yes SystemCallFilter=@system-service; do
			grep -qx "$kv" "$U/$u" || { echo "$u: no $kv"; false; }
		done
	done
	# Only the daemons that talk HTTP may open internet sockets.
	[ "$(prop wf-dispatch.service RestrictAddressFamilies)" = \
	    "AF_UNIX AF_INET AF_INET6" ]
	[ "$(prop wf-notify.service RestrictAddressFamilies)" = \
	    "AF_UNIX AF_INET AF_INET6" ]
	[ "$(prop wf-httpd.service RestrictAddressFamilies)" = \
	    "AF_UNIX AF_INET AF_INET6" ]
	# wf-httpd serves loopback only, as it insists itself
	[ "$(prop wf-httpd.service IPAddressDeny)" = any ]
	[ "$(prop wf-httpd.service IPAddressAllow)" = localhost ]
	[ "$(prop wf-gate.service RestrictAddressFamilies)" = AF_UNIX ]
	[ "$(prop wf-gate.service PrivateNetwork)" = yes ]
	[ "$(prop wf-director.service RestrictAddressFamilies)" = AF_UNIX ]
	[ "$(prop wf-director.service PrivateNetwork)" = yes ]
	# Only wf-dispatch makes namespaces: its jobs' sandbox (bubblewrap)
	for s in wf-gate wf-notify wf-httpd wf-director; do
		grep -qx RestrictNamespaces=yes "$U/$s.service"
		grep -qx ProtectKernelTunables=yes "$U/$s.service"
		grep -qx ProtectKernelLogs=yes "$U/$s.service"
		! grep -q '^SystemCallFilter=@mount' "$U/$s.service"
	done
	[ "$(grep -c '^RestrictNamespaces=' "$U/wf-dispatch.service")" -eq 1 ]
	grep -qx 'RestrictNamespaces=user mnt pid net ipc' \
	    "$U/wf-dispatch.service"
	grep -qx 'SystemCallFilter=@mount' "$U/wf-dispatch.service"
	grep -qx 'ProtectKernelTunables=no' "$U/wf-dispatch.service"
}

@test "systemd-analyze security rates every daemon's unit OK or better (exposure < 2; wf-dispatch, which makes the agents' sandbox, < 3)" {
	for s in wf-dispatch wf-gate wf-notify wf-httpd wf-director; do
		run systemd-analyze security --offline=true --no-pager \
		    "$U/$s.service"
		score=$(printf '%s\n' "$output" |
		    sed -n 's/.*exposure level for .*: \([0-9.]*\) .*/\1/p')
		echo "$s: $score"
		[ -n "$score" ]
		max=2.0
		[ "$s" != wf-dispatch ] || max=3.0
		awk -v s="$score" -v m="$max" 'BEGIN { exit !(s < m) }'
		[[ "$output" == *" OK "* || "$output" == *" SAFE "* ]]
	done
}

@test "sysusers.d makes the wf user; tmpfiles.d makes its spool; wf init fills it, twice" {
	root=$BATS_TEST_TMPDIR/root
	mkdir -p "$root/etc"
	for f in passwd group shadow gshadow; do : >"$root/etc/$f"; done
	run systemd-sysusers --root="$root" "$U/wf.sysusers"
	[ "$status" -eq 0 ]
	grep -q '^wf:x:[0-9]*:[0-9]*:.*:/var/spool/wf:/usr/sbin/nologin$' \
	    "$root/etc/passwd"
	grep -q '^wf:x:' "$root/etc/group"
	run systemd-tmpfiles --root="$root" --create "$U/wf.tmpfiles"
	[ "$status" -eq 0 ]
	uid=$(awk -F: '$1 == "wf" { print $3 }' "$root/etc/passwd")
	[ "$(stat -c '%u %a' "$root/var/spool/wf")" = "$uid 750" ]
	# ExecStartPre=wf init runs before every start: on the tree tmpfiles
	# made, and again on the tree it made itself.
	for _ in 1 2; do
		WF_HOME=$root/var/spool/wf run "$B/wf" init
		[ "$status" -eq 0 ]
	done
	[ -d "$root/var/spool/wf/queue/3-normal/new" ]
	[ -d "$root/var/spool/wf/reports/new" ]
	[ -d "$root/var/spool/wf/events/new" ]
	[ "$(stat -c %a "$root/var/spool/wf")" = 750 ]
}

# daemon_contract PROG: what the unit relies on of PROG
daemon_contract() {
	local p=$1 sock=$BATS_TEST_TMPDIR/notify.sock out=$BATS_TEST_TMPDIR/notify.out
	local log=$BATS_TEST_TMPDIR/$p.log pid rc

	[ -x "$B/$p" ] || { echo "no $B/$p"; return 1; }
	# A bad config: 78, so that Restart= does not loop on it.
	printf '[nosuchsection]\nx = 1\n' >"$BATS_TEST_TMPDIR/bad.ini"
	run -78 "$B/$p" -c "$BATS_TEST_TMPDIR/bad.ini"

	"$PY" "$BATS_TEST_DIRNAME/../helpers/notify_recv.py" "$sock" "$out" \
	    >/dev/null 2>&1 3>&- &
	wait_until 10 test -S "$sock"
	NOTIFY_SOCKET=$sock "$B/$p" >"$log" 2>&1 3>&- &
	pid=$!
	wait_until "$(slow 10)" grep -qx 'READY=1' "$out" || { cat "$log"; return 1; }
	# ExecReload=: SIGHUP reloads and the daemon carries on.
	kill -HUP "$pid"
	sleep 0.2
	alive "$pid"
	# systemctl stop: SIGTERM, exit 0 (Restart=on-failure leaves it).
	kill -TERM "$pid"
	wait_until "$(slow 15)" gone "$pid"
	rc=0
	wait "$pid" || rc=$?
	cat "$log"
	[ "$rc" -eq 0 ]
}

@test "wf-dispatch keeps the unit's contract: 78, READY=1, SIGHUP, SIGTERM" {
	daemon_contract wf-dispatch
}

@test "wf-gate keeps the unit's contract: 78, READY=1, SIGHUP, SIGTERM" {
	daemon_contract wf-gate
}

@test "wf-director keeps the unit's contract: 78, READY=1, SIGHUP, SIGTERM" {
	daemon_contract wf-director
}

@test "wf-notify keeps the unit's contract: 78, READY=1, SIGHUP, SIGTERM (needs wf-notify built)" {
	daemon_contract wf-notify
}

@test "wf-httpd keeps the unit's contract: 78, READY=1, SIGHUP, SIGTERM" {
	# any free port: never the default 8000 of a neighbour
	wf_config '[httpd]' 'listen = 127.0.0.1:0'
	daemon_contract wf-httpd
}
