#!/usr/bin/env bats
# man: the manual pages in man/ are clean under mandoc -Tlint, every
# program built has its page, a page names every long option its program's
# --help prints, and every page the units and the pages refer to exists.

load helpers

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
M=$REPO/man

@test "every page is clean under mandoc -Tlint (warnings and worse)" {
	n=0
	for m in "$M"/*.[1-8]; do
		run mandoc -Tlint -W warning "$m"
		[ "$status" -eq 0 ] || { echo "$output"; false; }
		n=$((n + 1))
	done
	[ "$n" -eq 9 ]
}

@test "the pages the issue asks for are there, each in its section" {
	for p in wf.1 wf-enqueue.1 wf.ini.5 wf-spool.7 wf-dispatch.8 \
	    wf-agent.8 wf-gate.8 wf-notify.8 wf-httpd.8; do
		[ -f "$M/$p" ] || { echo "no man/$p"; false; }
		sec=${p##*.}
		name=${p%.*}
		grep -qix "\.Dt ${name^^} $sec" "$M/$p"
	done
}

@test "every program built has a page, and its page names every long option of its --help" {
	for p in "$B"/wf "$B"/wf-*; do
		prog=${p##*/}
		page=$(ls "$M/$prog".[18] 2>/dev/null) ||
			{ echo "$prog: no page"; false; }
		for o in $("$p" --help 2>&1 | grep -o -- '--[a-z][a-z-]*' | sort -u); do
			grep -Eq "Fl -${o#--}( |$)" "$page" ||
			    { echo "$prog: $o is not in ${page##*/}"; false; }
		done
	done
}

@test "every wf page a page or a unit refers to exists" {
	refs=$( { grep -ho '^\.Xr wf[a-z.-]* [1-8]' "$M"/*.[1-8] |
	    sed 's/^\.Xr //; s/ /./'
	    grep -ho 'man:wf[a-z.-]*([1-8])' "$REPO"/systemd/* |
	    sed 's/^man://; s/(\(.\))/.\1/'; } | sort -u)
	[ -n "$refs" ]
	for r in $refs; do
		[ -f "$M/$r" ] || { echo "no page $r"; false; }
	done
}

@test "the programs' pages render to text without a hole" {
	for m in "$M"/*.[1-8]; do
		run mandoc -Tutf8 "$m"
		[ "$status" -eq 0 ]
		[ "${#lines[@]}" -gt 20 ]
		[[ "$output" != *"??"* ]]
	done
}
