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
	[ "$n" -eq 10 ]
}

@test "the pages the issue asks for are there, each in its section" {
	for p in wf.1 wf-enqueue.1 wf.ini.5 wf-spool.7 wf-dispatch.8 \
	    wf-agent.8 wf-gate.8 wf-notify.8 wf-httpd.8 wf-director.8; do
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

# keys_of_man: "SECTION KEY" for every key wf.ini(5) documents ("lane"
# for [lane.NAME]).
keys_of_man() {
	awk '/^\.Ss \[/ { s = $2; sub(/^\[/, "", s); sub(/\]$/, "", s);
		sub(/\..*/, "", s) }
	/^\.It Cm [a-z_]+ No =/ {
		for (i = 1; i < NF; i++)
			if ($i == "Cm" && $(i + 2) == "No" && $(i + 3) == "=")
				print s, $(i + 1)
	}' "$BATS_TEST_DIRNAME/../../man/wf.ini.5"
}

# keys_of_ini FILE: "SECTION KEY" for every key FILE sets or shows in a
# comment ("; key = value", a value of one word).
keys_of_ini() {
	awk '/^\[/ { s = $0; gsub(/[][]/, "", s); sub(/\..*/, "", s) }
	/^;? ?[a-z_]+ = [^ ]+$/ { k = $0; sub(/^; ?/, "", k); sub(/ = .*/, "", k);
		print s, k }' "$1"
}

@test "etc/wf.ini shows every key wf.ini(5) documents, in its section, and all of it is read as it is" {
	local ini="$BATS_TEST_DIRNAME/../../etc/wf.ini"
	keys_of_man | sort -u >"$BATS_TEST_TMPDIR/man"
	keys_of_ini "$ini" | sort -u >"$BATS_TEST_TMPDIR/ini"
	# a documented [llm] key at least, so that the extraction works
	grep -qx 'llm base_url' "$BATS_TEST_TMPDIR/man"
	[ "$(wc -l <"$BATS_TEST_TMPDIR/man")" -ge 30 ]
	if ! diff "$BATS_TEST_TMPDIR/man" "$BATS_TEST_TMPDIR/ini"; then
		echo "< only in wf.ini(5), > only in etc/wf.ini" >&2
		return 1
	fi
	# the file, and the file with every shown key set, are valid configs
	wf_setup
	sed -E 's/^; ?([a-z_]+ = [^ ]+)$/\1/' "$ini" >"$WF_CONFIG"
	run -0 --separate-stderr "$B/wf" run list
	[ -z "$stderr" ]
	cp "$ini" "$WF_CONFIG"
	run -0 --separate-stderr "$B/wf" run list
	# and a key the config does not read is refused, so the check bites
	printf '[llm]\nmodle = x\n' >"$WF_CONFIG"
	run -78 "$B/wf" run list
	[[ $output == *"[llm] has no key 'modle'"* ]]
}
