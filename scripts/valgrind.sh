#!/bin/sh
# valgrind.sh: the daemons' end-to-end tests with wf-dispatch, wf-gate,
# wf-notify, wf-httpd and wf-director under valgrind's memcheck.  bin-vg/
# holds a wrapper for each daemon (and links to the other programs); every
# daemon a test starts writes its report to $WF_VG_LOGS, and the run fails
# when one holds an error or a definite leak.  The jobs' wf-agent runs
# unwrapped: it is not a daemon.
#   scripts/valgrind.sh [BATS...]   (default: the daemons' tests)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B="$top/bin"
V="$top/bin-vg"
command -v valgrind >/dev/null || { echo "valgrind.sh: no valgrind" >&2; exit 69; }
rm -rf "$V"
mkdir -p "$V"
for p in "$B"/wf "$B"/wf-*; do
	ln -s "$p" "$V/${p##*/}"
done
WF_VG_LOGS=$(mktemp -d "${TMPDIR:-/tmp}/wf-vg.XXXXXX")
export WF_VG_LOGS
for d in wf-dispatch wf-gate wf-notify wf-httpd wf-director; do
	rm -f "$V/$d"
	cat >"$V/$d" <<EOF2
#!/bin/sh
exec valgrind --quiet --error-exitcode=99 --leak-check=full \\
    --show-leak-kinds=definite --errors-for-leak-kinds=definite \\
    --log-file="\$WF_VG_LOGS/$d.%p.log" "$B/$d" "\$@"
EOF2
	chmod +x "$V/$d"
done
[ $# -gt 0 ] || set -- tests/e2e/dispatch.bats tests/e2e/chain.bats \
    tests/e2e/daemon.bats tests/e2e/pipeline.bats tests/e2e/notify.bats \
    tests/e2e/httpd.bats tests/e2e/isolation.bats tests/e2e/room.bats \
    tests/e2e/diskfull.bats tests/e2e/readers.bats tests/e2e/httpd_hostile.bats \
    tests/e2e/director.bats
cd "$top"
rc=0
WF_BIN="$V" WF_BINDIR="$B" prove -e '' "$@" || rc=$?
bad=0
for f in "$WF_VG_LOGS"/*.log; do
	[ -s "$f" ] || continue
	echo "valgrind: $f:" >&2
	cat "$f" >&2
	bad=1
done
n=$(ls "$WF_VG_LOGS" | wc -l)
echo "valgrind: $n daemon runs checked, $( [ $bad = 0 ] && echo clean || echo NOT clean)"
rm -rf "$WF_VG_LOGS"
[ $bad = 0 ] || exit 1
exit $rc
