#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-qemu.sh [svm] [vmx]: what `make check-qemu` runs (both hosts by
# default, one after the other).  Not part of make check: a stress run.
#
# QEMU, unmodified, boots qemu_boot's Linux guest (build-qemu-guest.sh)
# on /dev/kvm in a test host, in each configuration below, CHECK_QEMU_REPEAT
# times in a row, under kvisor and then under in-tree KVM, all in one boot
# of the test host (guest/check-qemu.sh does the boots there).  A
# configuration differs from "base" in one thing only (q35-ovmf in two:
# OVMF needs q35's flash).  Per boot: passed or why not (a stall, with
# kvisor's debugfs dump of each vCPU's interrupts and exits or in-tree
# KVM's counters; the guest's panic; QEMU's error; a kernel complaint in
# the test host), and the guest-visible boot time: the test host's clock
# from QEMU's start to the guest's "L2-HELLO" line.
#
# A test host that dies (panic, hang: boot-host.sh's watchdog, the
# emulator's own abort) fails the boot it was in, and the boots left go
# to another boot of the host.
#
# Output, in build/check-qemu/: boots.csv (every boot), summary.csv (per
# host, QEMU, configuration and hypervisor: boots, passes, median boot
# time), results.txt (the table printed at the end, and the failures);
# each host boot's console, results and logs in <host>/bootN/.  Exit
# status 0 only when every boot under kvisor passed; in-tree KVM's
# failures are reported, not failed on.  check-qemu.sh --report prints
# the table again from what build/check-qemu holds.
#
# Knobs (environment):
#   CHECK_QEMU_REPEAT	boots per configuration and hypervisor: 20 in the SVM
#			host, 2 in the VMX host (Bochs is about 10 times slower:
#			a boot takes 2 minutes of wall time there)
#   CHECK_QEMU_CONFIGS	the configurations, comma-separated (all but
#			irqchip-off, which no hypervisor boots: below)
#   CHECK_QEMU_HYPERVISORS	kvisor, kvm (in-tree) or both (default)
#   CHECK_QEMU_VMMS	the QEMUs: 7.2 (Debian 12's, default); 10 needs
#			build-qemu-guest.sh's payload to hold QEMU 10 in qemu10/
#   CHECK_QEMU_TIMEOUT	a boot under kvisor is a stall after this many seconds
#			of the test host's clock (90 svm, 30 vmx; three times
#			that for q35-ovmf, whose firmware alone takes 30-70 s)
#   CHECK_QEMU_KVM_TIMEOUT	the same for in-tree KVM (40 svm, 30 vmx): short,
#			since in-tree kvm_amd hangs under QEMU's emulated SVM
#   CHECK_QEMU_GIVEUP	a configuration's boots under kvisor stop after this
#			many failures while none passed (3; 0: never): a
#			configuration that cannot boot fails the run all the same
#   CHECK_QEMU_KVM_GIVEUP	the same for in-tree KVM (2)
#   CHECK_QEMU_HOST_BOOTS	test host boots at most, per host (8)
#   CHECK_QEMU_SCRIPTS	the script tests that drive QEMU and libvirt as a
#			management layer does, run once more after the boots in
#			one boot of the SVM host, as make check runs them (by
#			default qemu_lifecycle, qemu_storage, qemu_network, the
#			three with QEMU 10 too (qemu10_lifecycle,
#			qemu10_storage, qemu10_network: not in make check), and
#			libvirt_domain;
#			empty: none); each one's result is in the table, and a
#			failure fails the run
#   KVHOST_KVISOR		kvisor's module parameters, as for make check
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
OUT=$TOP/build/check-qemu
HOSTS=${*:-svm vmx}
PAYLOAD=$OUT/qemu-guest
EMPTY=$OUT/no-tests
HYPERVISORS=${CHECK_QEMU_HYPERVISORS:-kvisor kvm}
VMMS=${CHECK_QEMU_VMMS:-7.2}
MAX_BOOTS=${CHECK_QEMU_HOST_BOOTS:-8}
SCRIPTS=${CHECK_QEMU_SCRIPTS-qemu_lifecycle qemu_storage qemu_network qemu10_lifecycle qemu10_storage qemu10_network libvirt_domain}
declare -A REPEAT=([svm]=20 [vmx]=2)
declare -A TMO=([svm]=90 [vmx]=30)
declare -A KVM_TMO=([svm]=40 [vmx]=30)
# q35-ovmf's timeouts are this many times the others
OVMF_TMO=3
# wall-clock seconds per second of the host's clock, roughly (for the
# watchdog: Bochs' clock counts instructions, about 14 times slower)
declare -A SLOW=([svm]=2 [vmx]=20)

# name, then -machine, -cpu, -smp, kernel-irqchip=, guest kernel, firmware
CONFIGS=(
	"base           pc   qemu64  2  on     6.1   seabios"
	"q35            q35  qemu64  2  on     6.1   seabios"
	"cpu-host       pc   host    2  on     6.1   seabios"
	"cpu-max        pc   max     2  on     6.1   seabios"
	"smp-1          pc   qemu64  1  on     6.1   seabios"
	"smp-4          pc   qemu64  4  on     6.1   seabios"
	"irqchip-split  pc   qemu64  2  split  6.1   seabios"
	"irqchip-off    pc   qemu64  2  off    6.1   seabios"
	"linux-6.12     pc   qemu64  2  on     6.12  seabios"
	"q35-ovmf       q35  qemu64  2  on     6.1   ovmf"
)
# the configurations this run boots, by name: all but irqchip-off by
# default.  kernel-irqchip=off (QEMU's own LAPIC in userspace) boots under
# no hypervisor here: QEMU 7.2 warns that a userspace LAPIC is deprecated
# with KVM, and its boots stall under in-tree kvm_amd and kvm_intel as
# under kvisor (a vCPU thread spins in QEMU holding its big lock; the
# Bochs host even hangs under kvm_intel); QEMU 10 refuses it with any
# KVM ("KVM does not support userspace APIC").  CHECK_QEMU_CONFIGS=
# irqchip-off still boots it, with QEMU 7.2 only (supported.rst).
ALL=$(printf '%s\n' "${CONFIGS[@]}" | cut -d' ' -f1 | tr '\n' ' ')
DEFAULT=${ALL/irqchip-off /}
NAMES=${CHECK_QEMU_CONFIGS:-$DEFAULT}
NAMES=" ${NAMES//,/ } "

# setup: check the knobs, install what is missing, build kvisor and the
# payload (qemu_boot's, with the second guest kernel and OVMF)
setup() {
	local hv n v

	# shellcheck disable=SC2086	# a list of words
	known_hosts $HOSTS
	for hv in $HYPERVISORS; do
		case $hv in kvisor | kvm) ;; *) die "unknown hypervisor $hv (kvisor or kvm)" ;; esac
	done
	for n in $NAMES; do
		[[ " $ALL " = *" $n "* ]] || die "unknown configuration $n (one of: $ALL)"
	done
	rm -rf "$OUT"
	mkdir -p "$OUT"
	deps || die "install-deps.sh failed"
	echo "check-qemu: building kvisor (kernel $KVER)" >&2
	make -C "$TOP" -s module KVER="$KVER" > "$OUT/build.log" 2>&1 || {
		tail -30 "$OUT/build.log" >&2
		die "build failed, see $OUT/build.log"
	}
	"$HERE/build-qemu-guest.sh" "$PAYLOAD" || die "build-qemu-guest.sh failed"
	if [[ $NAMES = *" linux-6.12 "* ]]; then
		[ -s "$CACHE/linux-6.12/vmlinuz" ] ||
			die "no 6.12 guest kernel in $CACHE/linux-6.12 (install-deps.sh fetches it unless KVISOR_WITH_612=0)"
		cp "$CACHE/linux-6.12/vmlinuz" "$PAYLOAD/vmlinuz-6.12"
	fi
	# OVMF without Secure Boot, which would need SMM: kvisor has none
	if [[ $NAMES = *" q35-ovmf "* ]]; then
		mkdir -p "$PAYLOAD/ovmf"
		cp /usr/share/OVMF/OVMF_CODE_4M.fd /usr/share/OVMF/OVMF_VARS_4M.fd \
			"$PAYLOAD/ovmf/" ||
			die "no OVMF (Debian's ovmf package; install-deps.sh installs it)"
	fi
	for v in $VMMS; do
		case $v in
		7.2) ;;
		10) [ -d "$PAYLOAD/qemu10" ] || die "no QEMU 10 in $PAYLOAD/qemu10" ;;
		*) die "unknown QEMU $v (7.2 or 10)" ;;
		esac
	done
	mkdir -p "$EMPTY"
	: > "$EMPTY/list"
}

# plan HOST: guest/check-qemu.sh's plan, every boot of this run
plan() {
	local h=$1 hv v c name rest tmo t giveup rep=${CHECK_QEMU_REPEAT:-${REPEAT[$1]}}

	for hv in $HYPERVISORS; do
		tmo=${CHECK_QEMU_TIMEOUT:-${TMO[$h]}} giveup=${CHECK_QEMU_GIVEUP:-3}
		if [ "$hv" = kvm ]; then
			tmo=${CHECK_QEMU_KVM_TIMEOUT:-${KVM_TMO[$h]}}
			giveup=${CHECK_QEMU_KVM_GIVEUP:-2}
		fi
		for v in $VMMS; do
			for c in "${CONFIGS[@]}"; do
				read -r name rest <<< "$c"
				[[ $NAMES = *" $name "* ]] || continue
				[ "$v $name" = "10 irqchip-off" ] && continue
				# OVMF's own start takes 30-70 s of the SVM
				# host's clock, where SeaBIOS takes 2
				t=$tmo
				[ "$name" = q35-ovmf ] && t=$((tmo * OVMF_TMO))
				echo "$hv $v $name 1 $rep $t $giveup $rest"
			done
		done
	done
}

# left PLAN RESULTS: the lines of PLAN with boots RESULTS (this host's,
# all its boots) has not reported, each from its next boot, its give-up
# count less the failures so far (0 once one passed: never); none of a
# configuration that gave up, or of a hypervisor that did not load
left() {
	awk 'FNR == NR { k = $2 FS $3 FS $4
			 if ($1 == "qboot") {
				 if ($5 + 0 > done[k]) done[k] = $5 + 0
				 if ($6 == "ok") ok[k]++; else bad[k]++
			 }
			 if ($1 == "qgiveup") gave[k] = 1
			 if ($1 == "load-failed") nolo[$2] = 1
			 next }
	     { k = $1 FS $2 FS $3
	       if (nolo[$1] || gave[k]) next
	       if ($7 > 0) {
		       if (ok[k]) $7 = 0
		       else if (bad[k] >= $7) next
		       else $7 -= bad[k]
	       }
	       n = (k in done) ? done[k] + 1 : $4
	       if (n <= $5) { $4 = n; print } }' "$2" "$1"
}

# died HOSTDIR BOOTDIR: the host ended before its plan's end: the boot it
# was in fails, and may end its configuration (left() gives up)
died() {
	local d=$1 b=$2 last hv v name k why oops emu

	why="test host died (emulator rc $(cat "$b/rc"))"
	[ "$(cat "$b/rc")" = 124 ] && why="test host hung (watchdog)"
	oops=$(console_oops "$b/console.log")
	[ -n "$oops" ] && why="$why: $oops"
	# the emulator's own last word: QEMU's assertions, Bochs' panics
	emu=$(grep -a -h -m1 -E 'ERROR|fatal|PANIC|assert' "$b/qemu.log" "$b/bochs.out" \
		2>/dev/null | head -1)
	[ -n "$emu" ] && why="$why; emulator: $emu"
	last=$(grep '^qstart ' "$b/results.clean" | tail -1)
	[ -n "$last" ] || return 1
	read -r _ hv v name k <<< "$last"
	grep -q "^qboot $hv $v $name $k " "$b/results.clean" && return 1
	{
		echo "qboot $hv $v $name $k fail - $why"
		tail -25 "$b/console.log" | tr -d '\r' | cut -c1-200 |
			sed "s/^/# $hv $name $k: console: /"
	} >> "$d/results.clean"
}

# run_host HOST: the plan in as few boots of the host as it takes
run_host() {
	local h=$1 d=$OUT/$1 n=0 b before stall tmax runs tmo t0=$SECONDS

	mkdir -p "$d"
	plan "$h" > "$d/plan"
	cp "$d/plan" "$d/plan.left"
	: > "$d/results.clean"
	while [ -s "$d/plan.left" ] && [ $n -lt "$MAX_BOOTS" ]; do
		n=$((n + 1)) b=$d/boot$n
		mkdir -p "$b"
		mv "$d/plan.left" "$b/plan"
		# the watchdog: the longest boot's timeout, and the whole run if
		# every boot took that long, in wall time
		tmo=$(awk '$6 > m { m = $6 } END { print m + 0 }' "$b/plan")
		runs=$(awk '{ n += $5 - $4 + 1 } END { print n + 0 }' "$b/plan")
		stall=$((tmo * ${SLOW[$h]} + 300))
		tmax=$((runs * tmo * ${SLOW[$h]} + 1200))
		echo "check-qemu: $h host boot $n: $runs QEMU boots at most" >&2
		CHECK_QEMU_PLAN=$b/plan QEMU_GUEST=$PAYLOAD \
		"$HERE/build-initramfs.sh" "$h" "$b/initramfs.cpio" "$EMPTY" \
			"$TOP/module/kvisor.ko" "$KVER" > "$b/host.log" 2>&1 &&
		KVHOST_STALL=$stall KVHOST_TIMEOUT=$tmax \
		"$HERE/boot-host.sh" "$h" "$b" "$b/initramfs.cpio" qemu >> "$b/host.log" 2>&1
		echo $? > "$b/rc"
		rm -f "$b/initramfs.cpio" "$b/boot.iso"
		kv_lines "$b/results.txt" > "$b/results.clean"
		before=$(grep -c '^qboot ' "$d/results.clean")
		cat "$b/results.clean" >> "$d/results.clean"
		grep -qx end "$b/results.clean" && break
		died "$d" "$b"
		# no boot reported at all: another host boot would do the same
		[ "$(grep -c '^qboot ' "$d/results.clean")" -gt "$before" ] || break
		left "$d/plan" "$d/results.clean" > "$d/plan.left"
	done
	rm -f "$d/plan.left"
	echo "check-qemu: $h done: $n host boot(s), $((SECONDS - t0)) s" >&2
}

# run_scripts: the script tests ($SCRIPTS) in one boot of the SVM host
# (they say SKIP in the VMX host), with Debian's libvirt where
# install-deps.sh unpacked it; results in svm/scripts/
run_scripts() {
	local d=$OUT/svm/scripts lv=

	mkdir -p "$d"
	if [ -s "$CACHE/libvirt/LIBVIRT_PKGS" ]; then
		"$HERE/build-libvirt.sh" "$OUT/libvirt" 2> "$d/host.log" && lv=$OUT/libvirt
	fi
	echo "check-qemu: svm host: $SCRIPTS" >&2
	LIBVIRT=$lv QEMU_GUEST=$PAYLOAD QEMU_GUEST_TESTS=$SCRIPTS \
	"$HERE/build-initramfs.sh" svm "$d/initramfs.cpio" "$EMPTY" \
		"$TOP/module/kvisor.ko" "$KVER" >> "$d/host.log" 2>&1 &&
	KVHOST_STALL=900 KVHOST_TIMEOUT=3600 \
	"$HERE/boot-host.sh" svm "$d" "$d/initramfs.cpio" check >> "$d/host.log" 2>&1
	echo $? > "$d/rc"
	rm -f "$d/initramfs.cpio"
	kv_lines "$d/results.txt" > "$d/results.clean"
}

# report_scripts: each script test's result; fails when one failed or
# did not report
report_scripts() {
	local d=$OUT/svm/scripts t line rc=0

	[ -n "$SCRIPTS" ] && [[ " $HOSTS " = *" svm "* ]] || return 0
	echo
	echo "script tests, svm host, kvisor (their output: build/check-qemu/svm/scripts/console.log):"
	for t in $SCRIPTS; do
		line=$(grep -E "^(ok|fail|skip) $t( |\$)" "$d/results.clean" 2>/dev/null | head -1)
		[ -n "$line" ] || { line="fail $t: no result (the host died or hung)"; }
		[[ $line = ok* || $line = skip* ]] || rc=1
		echo "  $line"
	done
	return $rc
}

# csv FIELD...: one CSV line, fields quoted where they need it
csv() {
	local f sep=''

	for f; do
		[[ $f = *[,\"]* ]] && f=\"${f//\"/\"\"}\"
		printf '%s%s' "$sep" "$f"
		sep=,
	done
	echo
}

# median: of the numbers on stdin; nothing for none
median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.2f",
		NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# report: boots.csv, summary.csv and the table from each host's plan and
# results; fails when a boot under kvisor failed or did not run
report() {
	local h d rc=0 hv v name first last giveup machine cpu smp irqchip kernel fw
	local planned rows booted passed med min max note lf c k res secs why
	local -A cell=()

	echo "host,qemu,hypervisor,config,boot,result,boot_s,reason" > "$OUT/boots.csv"
	echo "host,qemu,config,machine,cpu,smp,irqchip,kernel,firmware,hypervisor,planned,booted,passed,median_s,min_s,max_s,note" \
		> "$OUT/summary.csv"
	for h in $HOSTS; do
		d=$OUT/$h
		[ -s "$d/plan" ] || { rc=1; continue; }
		echo "$h: $(find "$d" -maxdepth 1 -name 'boot*' | wc -l) host boot(s); loaded: $(kv_get loaded "$d/results.clean" | sort -u | tr '\n' ';')"
		while read -r hv v name first last _ giveup machine cpu smp irqchip kernel fw; do
			planned=$((last - first + 1))
			rows=$(grep "^qboot $hv $v $name " "$d/results.clean")
			while read -r _ _ _ _ k res secs why; do
				[ -n "$k" ] || continue
				csv "$h" "$v" "$hv" "$name" "$k" "$res" "$secs" "$why" >> "$OUT/boots.csv"
			done <<< "$rows"
			booted=$(grep -c . <<< "$rows")
			passed=$(awk '$6 == "ok"' <<< "$rows" | wc -l)
			med=$(awk '$6 == "ok" { print $7 }' <<< "$rows" | median)
			min=$(awk '$6 == "ok" { print $7 }' <<< "$rows" | sort -n | head -1)
			max=$(awk '$6 == "ok" { print $7 }' <<< "$rows" | sort -n | tail -1)
			note=
			if [ "$booted" -lt "$planned" ]; then
				note="$((planned - booted)) not run"
				[ "$passed" = 0 ] && [ "$giveup" -gt 0 ] && [ "$booted" -ge "$giveup" ] &&
					note="gave up after $booted"
			fi
			lf=$(kv_get load-failed "$d/results.clean" | grep "^$hv " | head -1)
			[ -n "$lf" ] && note="did not load: ${lf#"$hv" }"
			csv "$h" "$v" "$name" "$machine" "$cpu" "$smp" "$irqchip" "$kernel" "$fw" \
				"$hv" "$planned" "$booted" "$passed" "$med" "$min" "$max" "$note" \
				>> "$OUT/summary.csv"
			cell[$h $v $name $hv]="$passed/$booted${med:+  $med s}${note:+ ($note)}"
			[ "$hv" = kvisor ] && [ "$passed" -lt "$planned" ] && rc=1
		done < "$d/plan"
	done
	# the table: one row per host, QEMU and configuration
	echo
	printf '%-4s %-5s %-14s %-34s %s\n' host qemu configuration \
		"kvisor (passed/booted, median)" "in-tree KVM"
	for h in $HOSTS; do
		for v in $VMMS; do
			for c in "${CONFIGS[@]}"; do
				read -r name _ <<< "$c"
				[ -n "${cell[$h $v $name kvisor]:-}${cell[$h $v $name kvm]:-}" ] || continue
				printf '%-4s %-5s %-14s %-34s %s\n' "$h" "$v" "$name" \
					"${cell[$h $v $name kvisor]:--}" "${cell[$h $v $name kvm]:--}"
			done
		done
	done
	# kvisor's failures one by one, in-tree KVM's counted by reason
	echo
	echo "failed boots (their diagnostics: the \"#\" lines in build/check-qemu/HOST/results.clean; QEMU's output: HOST/bootN/console.log):"
	awk -F, 'NR > 1 && $3 == "kvisor" && $6 == "fail"' "$OUT/boots.csv"
	awk -F, 'NR > 1 && $3 == "kvm" && $6 == "fail" {
			k = $1 "," $2 ",kvm," $4 ": " substr($0, index($0, $8)); n[k]++ }
		 END { for (k in n) print n[k] " x " k }' "$OUT/boots.csv" | sort -t, -k3
	return $rc
}

# The whole run in one function, read before it starts, so that editing
# this file while it runs cannot change what it does.
main() {
	local h t0=$SECONDS rc=0

	if [ "${1:-}" = --report ]; then
		shift
		HOSTS=$*
		[ -n "$HOSTS" ] || for h in svm vmx; do
			[ ! -d "$OUT/$h" ] || HOSTS="$HOSTS $h"
		done
		report
		rc=$?
		report_scripts || rc=1
		return $rc
	fi
	setup
	for h in $HOSTS; do
		run_host "$h"
	done
	[ -z "$SCRIPTS" ] || [[ " $HOSTS " != *" svm "* ]] || run_scripts
	{
		echo "commit $(git -C "$TOP" describe --always --dirty 2>/dev/null || echo unknown)"
		echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		report
		rc=$?
		report_scripts || rc=1
		echo "make check-qemu took $((SECONDS - t0)) s"
		exit $rc
	} | tee "$OUT/results.txt"
	[ "${PIPESTATUS[0]}" = 0 ] || rc=1
	[ $rc = 0 ] || echo "check-qemu: a boot under kvisor failed or did not run, see above" >&2
	return $rc
}

main "$@"
exit
