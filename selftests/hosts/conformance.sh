#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# conformance.sh [svm] [vmx]: what `make conformance` runs.
#
# Runs Linux 6.1's own KVM selftests (built from Debian's linux-source-6.1
# by build-upstream.sh) in both emulated test hosts, first under in-tree
# KVM and then under kvisor in the same boot (guest/conformance.sh), and
# prints one table: per test, KVM's and kvisor's result on each host.  The
# table also goes to Documentation/conformance.rst (CONF_RST= to write it
# elsewhere, or nowhere with CONF_RST=none).
#
# A program may run more than once, with other arguments: each variant
# (VARIANTS below) is a row of its own after the program's, named by the
# program and the arguments it adds ("kvm_page_table_test -s anonymous_thp";
# in file names and CONF_TESTS the words are joined by commas:
# "kvm_page_table_test,-s,anonymous_thp").  CONF_TESTS="PATTERN..." runs
# only the rows that match one of the (shell) patterns, and then leaves
# the rst alone unless CONF_RST names one: a partial table is not the
# conformance table.
#
# A host that dies or hangs in a test (the watchdog notices) is booted
# again from the next test, up to CONF_MAX_BOOTS (8) boots per host; the test
# it died in is a "fail" (or "timeout" for a hang).  Each test's output,
# with the first failure line, is in build/conformance/<host>/<hv>/<test>.log
# and one line per test in build/conformance/<host>/summary.txt.
#
# Exit status 0 when the harness ran, whatever the results: kvisor's
# failures are the table's content.  Non-zero when something it needs
# did not build or a host never reported anything.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
OUT=$TOP/build/conformance
UP=$TOP/build/upstream
HOSTS=${*:-svm vmx}
SUBSET=${CONF_TESTS:-}
RST=${CONF_RST:-$TOP/Documentation/conformance.rst}
[ -n "$SUBSET" ] && RST=${CONF_RST:-none}
# Per-test limits, seconds of the host's clock.  QEMU's clock is real
# time; Bochs' counts instructions and runs 2-4 times slower than real
# time here.  The watchdog outside (real time) must outlast one test and
# a boot; a host it kills counts as a timeout of the test it was in, so a
# short watchdog costs only a reboot (tests that wait for time to pass
# on the 1-CPU Bochs host can stop its clock).
TMO_svm=${CONF_TMO_SVM:-40}
TMO_vmx=${CONF_TMO_VMX:-30}
# shellcheck disable=SC2034	# used as ${!stall}
STALL_svm=${CONF_STALL_SVM:-$((TMO_svm + 60))}
# shellcheck disable=SC2034
STALL_vmx=${CONF_STALL_VMX:-$((TMO_vmx * 2 + 30))}
MAX_BOOTS=${CONF_MAX_BOOTS:-8}
# MiB of each test host: dirty_log_test dirties up to 1 GiB, no option
MEM=${CONF_MEM:-2048}
t0=$SECONDS

# The variants: a program's name, then the arguments added to those
# guest/conformance.sh gives it (args() there), which prepares the host
# for them (huge pages reserved for anonymous_hugetlb; THP not "never"
# for anonymous_thp).  Issue 11: guest memory backed by THP and hugetlbfs,
# and faults resolved by userfaultfd.
VARIANTS=(
	"kvm_page_table_test -s anonymous_thp"
	"kvm_page_table_test -s anonymous_hugetlb"
	"dirty_log_perf_test -s anonymous_thp"
	"dirty_log_perf_test -s anonymous_hugetlb"
	"demand_paging_test -u MISSING"
	# 1 s, one run and at most 512 slots per test: its defaults (every
	# slot KVM offers, 3 runs of 5 s) outlast the per-test limit under
	# both hypervisors.  Tests 0 (map), 2 (unmap chunked), 3 and 4 (move
	# active and inactive area); 1 (unmap) and 5 (RW) are killed by their
	# own alarms in the SVM host under both.
	"memslot_perf_test -l 1 -r 1 -s 512 -f 0 -e 0"
	"memslot_perf_test -l 1 -r 1 -s 512 -f 2 -e 4"
)

# shellcheck disable=SC2086	# a list of words
known_hosts $HOSTS
mkdir -p "$OUT"
# CONF_REPORT=1: only rebuild the table and the logs from the last run
REPORT=${CONF_REPORT:-0}
if [ "$REPORT" != 1 ]; then
	deps || die "install-deps.sh failed"
	echo "conformance: building kvisor (kernel $KVER) and the upstream selftests" >&2
	make -C "$TOP" -s module KVER="$KVER" > "$OUT/build.log" 2>&1 || {
		tail -30 "$OUT/build.log" >&2
		die "kvisor did not build, see $OUT/build.log"
	}
	"$HERE/build-upstream.sh" "$UP" || die "the upstream selftests did not build"
	echo $((SECONDS - t0)) > "$OUT/took-build"
	git -C "$TOP" describe --always --dirty > "$OUT/version" 2>/dev/null
	date -u '+%Y-%m-%d %H:%M UTC' > "$OUT/date"
fi
tb=$(cat "$OUT/took-build" 2>/dev/null || echo "?")
# rows PROGRAM...: each program's row, then its variants' (words joined
# by commas), those CONF_TESTS selects
rows() {
	local p v pat ok
	for p; do
		for v in "$p" "${VARIANTS[@]}"; do
			[ "${v%% *}" = "$p" ] || continue
			v=${v// /,}
			ok=1
			if [ -n "$SUBSET" ]; then
				ok=0
				for pat in $SUBSET; do
					# shellcheck disable=SC2053	# a pattern
					if [[ $v == $pat ]]; then ok=1; break; fi
				done
			fi
			[ $ok = 0 ] || echo "$v"
		done
	done
}
# one row each, space-separated here: "${TESTS%% *}" and " $NOTBUILT "
# take them so
# shellcheck disable=SC2046	# one name a line
TESTS=$(set -f; rows $(cat "$UP/tests/list") | paste -sd' ')
# shellcheck disable=SC2046
NOTBUILT=$(set -f; rows $(cat "$UP/tests/notbuilt") | paste -sd' ')
[ -n "$TESTS$NOTBUILT" ] || die "CONF_TESTS=\"$SUBSET\" names no test"

# stage: what the hosts' initramfs gets, in $OUT/tests: the programs the
# rows run (links into $UP/tests), their "list", and "runs": the rows in
# order, for guest/conformance.sh
stage() {
	local s=$OUT/tests t
	rm -rf "$s"
	mkdir -p "$s"
	for t in $TESTS; do echo "$t"; done > "$s/runs"
	cut -d, -f1 "$s/runs" | awk '!seen[$0]++' > "$s/list"
	while read -r t; do ln -s "$UP/tests/$t" "$s/$t"; done < "$s/list"
}

# boot HOST until every test ran under both hypervisors, resuming after
# the test a boot died in
run_host() { # host
	local h=$1 d=$OUT/$1 boots=0 from='' last tmo stall rc hv t oops
	tmo=TMO_$h
	tmo=${!tmo}
	stall=STALL_$h
	stall=${!stall}
	rm -rf "$d"
	mkdir -p "$d"
	"$HERE/build-initramfs.sh" "$h" "$d/initramfs.cpio" "$OUT/tests" \
		"$TOP/module/kvisor.ko" "$KVER" > "$d/host.log" 2>&1 || return 1
	echo "initramfs $(du -m "$d/initramfs.cpio" | cut -f1) MiB" >> "$d/host.log"
	: > "$d/results.all"
	while [ $boots -lt "$MAX_BOOTS" ]; do
		boots=$((boots + 1))
		echo "conformance: $h host, boot $boots${from:+, from $from}" >&2
		KVHOST_STALL=$stall KVHOST_TIMEOUT=3600 KVHOST_MEM=$MEM \
		KVHOST_APPEND="KVHOST_CONF_TMO=$tmo ${from:+KVHOST_CONF_FROM=$from}" \
			"$HERE/boot-host.sh" "$h" "$d/boot$boots" \
			"$d/initramfs.cpio" conformance >> "$d/host.log" 2>&1
		rc=$?
		echo "boot $boots rc $rc" >> "$d/host.log"
		kv_lines "$d/boot$boots/results.txt" > "$d/boot$boots/results.clean"
		cat "$d/boot$boots/results.clean" >> "$d/results.all"
		grep -q '^end$' "$d/boot$boots/results.clean" && return 0
		# where did it stop?  A test started but not reported killed it.
		last=$(awk '$1 == "start" { s = $2 " " $3 } $1 == "res" { s = "" }
			END { print s }' "$d/boot$boots/results.clean")
		[ -n "$last" ] || return 1	# died outside any test
		read -r hv t <<< "$last"
		why="the host died in this test"
		[ $rc = 124 ] && why="the host hung in this test"	# the watchdog
		oops=$(console_oops "$d/boot$boots/console.log")
		[ -n "$oops" ] && why="$why: $oops"
		echo "out $hv $t $why" >> "$d/results.all"
		tail -30 "$d/boot$boots/console.log" | tr -d '\r' |
			sed "s/^/out $hv $t console: /" >> "$d/results.all"
		r=fail
		[ $rc = 124 ] && r=timeout
		echo "res $hv $t $r -" >> "$d/results.all"
		from=$(next_test "$hv" "$t") || return 0
	done
	return 1
}

# next_test HV TEST: "hv:test" of the test after TEST, if any
next_test() {
	local hv=$1 t=$2 found=0 x
	for x in $TESTS; do
		if [ $found = 1 ]; then echo "$hv:$x"; return 0; fi
		[ "$x" = "$t" ] && found=1
	done
	[ "$hv" = kvm ] && { echo "kvisor:${TESTS%% *}"; return 0; }
	return 1
}

# first_failure LOG: the assertion that failed, or why the test ended
first_failure() {
	awk '
	/==== Test Assertion Failure ====/ { a = 1; next }
	a == 1 { where = $0; sub(/^ +/, "", where); a = 2; next }
	a == 2 && /^  pid=/ { a = 3; next }
	a == 3 && /^  [^ ]/ { msg = $0; sub(/^ +/, "", msg); a = 4; next }
	# a message may go on over indented lines ("failed,\n  rc: -1 ...")
	a == 4 && /^  [^ ]/ && ++more <= 2 { l = $0; sub(/^ +/, "", l); msg = msg " " l; next }
	a == 4 { a = 5 }
	/^# SKIP|^1\.\.0 # SKIP/ && !skip { skip = $0 }
	/^kernel complained|^the host (died|hung)/ && !k { k = $0 }
	{ lastl = $0 }
	END {
		if (k) print k
		else if (where) print where (msg ? " -- " msg : "")
		else if (skip) print skip
		else print lastl
	}' "$1"
}

# split results.all of HOST into per-test logs and summary.txt
collect() { # host
	local h=$1 d=$OUT/$1 hv t r s
	for hv in kvm kvisor; do
		mkdir -p "$d/$hv"
		rm -f "$d/$hv"/*.log
	done
	awk -v d="$d" '
	$1 == "out" { f = d "/" $2 "/" $3 ".log"
		line = $0; sub(/^out [^ ]+ [^ ]+ ?/, "", line); print line >> f; close(f) }
	$1 == "load-failed" { print "load-failed " $0 > (d "/load-failed") }
	' "$d/results.all"
	: > "$d/summary.txt"
	while read -r _ hv t r s; do
		[ -f "$d/$hv/$t.log" ] || : > "$d/$hv/$t.log"
		echo "$hv $t $r $s $(first_failure "$d/$hv/$t.log")" >> "$d/summary.txt"
	done < <(grep '^res ' "$d/results.all")
}

# result HOST HV TEST
result() {
	local r
	r=$(awk -v hv="$2" -v t="$3" '$1 == hv && $2 == t { r = $3 } END { print r }' \
		"$OUT/$1/summary.txt" 2>/dev/null)
	echo "${r:-none}"
}

[ "$REPORT" = 1 ] || stage
declare -A took=()
for h in $HOSTS; do
	if [ "$REPORT" != 1 ]; then
		ht=$SECONDS
		run_host "$h" || echo "conformance: the $h host did not run to its end" >&2
		echo $((SECONDS - ht)) > "$OUT/took-$h"
	fi
	took[$h]=$(cat "$OUT/took-$h" 2>/dev/null || echo "?")
	collect "$h"
	echo "conformance: $h host took ${took[$h]} s" >&2
done
total=$(( ${tb/\?/0} + 0 ))
for h in $HOSTS; do total=$((total + ${took[$h]/\?/0})); done

# the table, as text for the terminal and as RST
ALL="$TESTS $NOTBUILT"
w=4
for t in $ALL; do [ ${#t} -gt "$w" ] && w=${#t}; done
cell() { # host hv test
	case " $NOTBUILT " in *" $3 "*) echo "n/b"; return ;; esac
	case " $HOSTS " in *" $1 "*) result "$1" "$2" "$3" ;; *) echo "n/r" ;; esac
}
# tline GAP NAME CELL...: a line of the table, its four result columns
# GAP apart (one space on the terminal, two in the RST)
tline() {
	local gap=$1
	shift
	# shellcheck disable=SC2059	# the format is ours
	printf "%-${w}s  %-10s$gap%-10s$gap%-10s$gap%-10s\n" "$@"
}
THEAD=(test "KVM svm" "kvisor svm" "KVM vmx" "kvisor vmx")
# trows GAP: the table's lines, one a test
trows() {
	local t
	for t in $ALL; do
		tline "$1" "${t//,/ }" "$(cell svm kvm "$t")" "$(cell svm kvisor "$t")" \
			"$(cell vmx kvm "$t")" "$(cell vmx kvisor "$t")"
	done
}
{
	tline " " "${THEAD[@]}"
	trows " "
} | tee "$OUT/table.txt"

# counts: "N of M": kvisor passes N of the M tests KVM passes
counts() { # host
	local n=0 m=0 t
	for t in $TESTS; do
		[ "$(result "$1" kvm "$t")" = pass ] || continue
		m=$((m + 1))
		[ "$(result "$1" kvisor "$t")" = pass ] && n=$((n + 1))
	done
	echo "$n $m"
}
tally() { # host hv: "P pass, F fail, S skip, T timeout"
	awk -v hv="$2" '$1 == hv { c[$3]++ }
	END { printf "%d pass, %d fail, %d skip, %d timeout", c["pass"], c["fail"], c["skip"], c["timeout"] }' \
		"$OUT/$1/summary.txt" 2>/dev/null
}

if [ "$RST" != none ]; then
	tmp=$(mktemp)
	{
		echo ".. SPDX-License-Identifier: GPL-2.0"
		echo
		echo "Conformance: Linux 6.1's KVM selftests on kvisor"
		echo "================================================"
		echo
		echo "Generated by \`\`make conformance\`\` (\`\`selftests/hosts/conformance.sh\`\`);"
		echo "do not edit.  Generated on $(cat "$OUT/date" 2>/dev/null) from kvisor"
		echo "$(cat "$OUT/version" 2>/dev/null || echo unknown), test host kernel $KVER."
		echo
		echo "Every x86_64 program of the upstream selftests (\`\`TEST_GEN_PROGS_x86_64\`\`"
		echo "in \`\`tools/testing/selftests/kvm/Makefile\`\` of Debian's \`\`linux-source-6.1\`\`),"
		echo "built statically, runs in both emulated test hosts (see testing.rst):"
		echo "first under in-tree KVM (\`\`kvm_amd\`\`; \`\`kvm_intel\`\` with"
		echo "\`\`flexpriority=0 enable_apicv=0\`\`), then under kvisor, in the same boot."
		echo "Per-test limit: ${TMO_svm} s on the SVM host (QEMU TCG, real time), ${TMO_vmx} s"
		echo "of Bochs' instruction-counting clock on the VMX host.  Whole run: $total s (build $tb s$(for h in $HOSTS; do printf ', %s host %s s' "$h" "${took[$h]}"; done))."
		echo
		echo "Legend: **pass** exit status 0; **fail** any other status, or the kernel"
		echo "logged an oops, BUG or WARNING while the test ran, or the host died in"
		echo "it; **skip** the test's own \`\`TEST_REQUIRE\`\` said the feature is missing"
		echo "(status 4), or the host could not give a variant what it needs (huge"
		echo "pages, THP); **timeout** killed at the limit (or the host hung); **n/b**"
		echo "did not build; **n/r** not run; **none** no result (the host died before it)."
		echo
		echo "Run with smaller arguments than upstream's defaults, which are long"
		echo "benchmarks or want more memory than the hosts have (options the tests"
		echo "offer): \`\`memslot_perf_test -l 1\`\`, \`\`dirty_log_test -i 4\`\`,"
		echo "\`\`dirty_log_perf_test -i 2 -b 256M\`\`, \`\`max_guest_memory_test -s 1 -m 2\`\`"
		echo "(2 GiB of guest memory in two slots aliasing one 1 GiB memfd, each 4 KiB"
		echo "page faulted in by the guest; it gets three times the per-test limit),"
		echo "\`\`-b 256M\`\` for \`\`demand_paging_test\`\`, \`\`kvm_page_table_test\`\` and"
		echo "\`\`memslot_modification_stress_test\`\`, \`\`-b 64M\`\` for"
		echo "\`\`demand_paging_test -u MISSING\`\`.  Both hosts have ${MEM} MiB and allow"
		echo "memory overcommit (\`\`vm.overcommit_memory=1\`\`): several tests map more"
		echo "guest memory than they touch."
		echo
		echo "A row with more words than the program's name is a variant: the"
		echo "program again with those arguments added (issue 11's guest memory):"
		echo "guest memory backed by transparent huge pages (\`\`-s anonymous_thp\`\`:"
		echo "the tests \`\`madvise(MADV_HUGEPAGE)\`\`; the hosts' THP setting is"
		echo "Debian's \`\`always\`\`) and by hugetlbfs (\`\`-s anonymous_hugetlb\`\`: 128"
		echo "huge pages of 2 MiB reserved for the row and freed after it), and faults resolved"
		echo "by a userfaultfd handler (\`\`-u MISSING\`\`; the tests run as root).  The"
		echo "huge rows' logs also say how many 2 MiB nested mappings the hypervisor"
		echo "had at most (KVM's \`\`pages_2m\`\`, kvisor's \`\`vm-*/memory\`\` in debugfs)."
		echo
		for h in $HOSTS; do
			echo "- $h host: KVM $(tally "$h" kvm); kvisor $(tally "$h" kvisor)."
		done
		echo
		bar="$(printf '%*s' "$w" '' | tr ' ' =)  ==========  ==========  ==========  =========="
		echo "$bar"
		tline "  " "${THEAD[@]}"
		echo "$bar"
		trows "  "
		echo "$bar"
		# why kvisor falls short where it does: kept by hand beside
		# this script, since a reason is not something a run can tell
		if [ -f "$HERE/conformance-notes.rst" ]; then
			echo
			cat "$HERE/conformance-notes.rst"
		fi
	} | sed 's/ *$//' > "$tmp"
	mv "$tmp" "$RST"
	chmod 644 "$RST"
	echo "conformance: table written to $RST" >&2
fi

line="conformance: kvisor passes"
sep=
for h in $HOSTS; do
	# shellcheck disable=SC2046
	set -- $(counts "$h")
	line="$line$sep $1 of $2 tests KVM passes ($h)"
	sep=","
done
echo "make conformance took $total s (build $tb s$(for h in $HOSTS; do printf ', %s host %s s' "$h" "${took[$h]}"; done))"
echo "$line"
# what to fix next: KVM passes, kvisor does not (also in regressions.txt)
for h in $HOSTS; do
	# failures first, then what kvisor skips for want of a feature
	awk -v h="$h" '$1 == "kvm" && $3 == "pass" { ok[$2] = 1 }
	$1 == "kvisor" && ok[$2] && $3 != "pass" {
		line = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ [^ ]+ ?/, "", line)
		t = $2; gsub(/,/, " ", t)
		l = sprintf("conformance: %s: %s: kvisor %s: %s", h, t, $3, line)
		if ($3 == "skip") skips[++ns] = l; else fails[++nf] = l
	}
	END { for (i = 1; i <= nf; i++) print fails[i]; for (i = 1; i <= ns; i++) print skips[i] }
	' "$OUT/$h/summary.txt" 2>/dev/null
done | tee "$OUT/regressions.txt"
for h in $HOSTS; do
	[ -s "$OUT/$h/summary.txt" ] || die "the $h host reported nothing, see $OUT/$h/"
done
exit 0
