#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a test host for `make check-qemu` (KVHOST_MODE=qemu): QEMU,
# unmodified, boots a Linux guest on /dev/kvm again and again, in the
# configurations of /kvisor/qemu-plan, under kvisor and under in-tree KVM
# in the same host boot (selftests/hosts/check-qemu.sh writes the plan and
# reads the results).  The guest is qemu_boot's: build-qemu-guest.sh's
# QEMU, libraries, kernel and busybox initramfs in /qemu, with the 6.12
# kernel and OVMF check-qemu.sh adds there.  QEMU runs as nobody with an
# 8 MiB RLIMIT_MEMLOCK, as in qemu_boot.
#
# The plan, one line per hypervisor and configuration, in the order to run
# them (all of one hypervisor's lines together):
#   HV VMM NAME FIRST LAST TIMEOUT GIVEUP MACHINE CPU SMP IRQCHIP KERNEL FW
# HV kvisor or kvm (in-tree); VMM which QEMU of /qemu (7.2: /qemu itself,
# 10: /qemu/qemu10); boots FIRST..LAST of configuration NAME, each killed
# after TIMEOUT s of this host's clock; GIVEUP > 0 stops the configuration
# after that many failed boots in a row while none passed (for in-tree
# kvm_amd, which QEMU's emulated SVM hangs); -machine MACHINE with
# kernel-irqchip=IRQCHIP, -cpu CPU, -smp SMP, KERNEL 6.1 or 6.12, FW
# seabios or ovmf.
#
# Reports on the results channel:
#   @@KV loaded <hv> <what>		(or load-failed <hv> <why>)
#   @@KV qstart <hv> <vmm> <name> <k>	before boot k
#   @@KV qboot <hv> <vmm> <name> <k> ok <secs>
#   @@KV qboot <hv> <vmm> <name> <k> fail <secs|-> <why>
#   @@KV # <hv> <name> <k>: <diagnostic line of a failed boot>
#   @@KV qgiveup <hv> <vmm> <name> <k>	no more boots of it after boot k
#   @@KV end
# where <secs> is the guest-visible boot time: this host's clock from
# QEMU's start to the guest's "L2-HELLO" line.  QEMU's whole output of a
# failed boot goes to the console.
P=/kvisor/qemu-plan
Q=/qemu
# shellcheck source=lib.sh
. /kvisor/lib.sh

load() { # hv
	case $1 in
	kvm)	load_intree ||
			{ say "load-failed kvm $INTREE_FAILED: $(dmesg | tail -1)"; return 1; }
		say "loaded kvm $INTREE_LOADED" ;;
	kvisor)	# shellcheck disable=SC2046	# module parameters, one word each
		insmod /kvisor/kvisor.ko $(echo "${KVHOST_KVISOR:-}" | tr , ' ') ||
			{ say "load-failed kvisor $(kvisor_failed)"; return 1; }
		say "loaded kvisor $(kvisor_said)" ;;
	esac
	# QEMU reaches /dev/kvm through its group, as a member of kvm would
	chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
}

# threads PID: per thread of PID: id, name, state, user and system
# ticks, the system call it is in ("running": in user mode), wchan
threads() {
	for t in /proc/"$1"/task/*; do
		echo "${t##*/} $(tr ' ' _ < "$t/comm")" \
			"$(sed 's/.*) //' "$t/stat" | cut -d' ' -f1,12,13)" \
			"$(cut -d' ' -f1 "$t/syscall") $(cat "$t/wchan")"
	done
}

# dump HV PID: what each vCPU was doing, for a boot that stalled, and
# where each of QEMU's threads was, and which of them spin: in the kernel
# (KVM_RUN, system ticks) or in QEMU itself (user ticks)
dump() {
	threads "$2" > /tmp/threads.0
	sleep 1
	threads "$2" | awk 'FNR == NR { u[$1] = $4; s[$1] = $5; next }
		{ printf "thread %s: %s, in 1 s %d user and %d system ticks, syscall %s, wchan %s\n",
			$2, $3, $4 - u[$1], $5 - s[$1], $6, $7 }' /tmp/threads.0 -
	case $1 in
	kvisor)	for f in /sys/kernel/debug/kvisor/vm-*/vcpu*/irq \
			 /sys/kernel/debug/kvisor/vm-*/vcpu*/exits; do
			[ -r "$f" ] && { echo "$f:"; sed 's/^/  /' "$f"; }
		done ;;
	kvm)	# in-tree KVM's counters of the VM, summed over its vCPUs
		for d in /sys/kernel/debug/kvm/*-*; do
			[ -d "$d" ] || continue
			for s in exits io_exits mmio_exits irq_exits halt_exits \
				 irq_window_exits irq_injections nmi_injections \
				 signal_exits; do
				[ -r "$d/$s" ] && echo "$d/$s $(cat "$d/$s")"
			done
		done ;;
	esac
}

# boot HV VMM TIMEOUT MACHINE CPU SMP IRQCHIP KERNEL FW: one QEMU run;
# its stamped output in /tmp/qemu.log; prints the boot time and returns
# 0 when the guest booted, else prints "- why" or "SECS why" and
# returns 1 (diagnostic lines in /tmp/qemu.diag)
boot() {
	hv=$1 vmm=$2 tmo=$3 machine=$4 cpu=$5 smp=$6 irqchip=$7 kernel=$8 fw=$9
	b=$Q
	[ "$vmm" = 10 ] && b=$Q/qemu10
	kimg=$Q/vmlinuz
	[ "$kernel" = 6.12 ] && kimg=$Q/vmlinuz-6.12
	firmware="-L $b/share"
	if [ "$fw" = ovmf ]; then
		# the variable store is the guest's to write: a fresh copy each boot
		cp $Q/ovmf/OVMF_VARS_4M.fd /tmp/ovmf-vars.fd
		chown nobody /tmp/ovmf-vars.fd
		firmware="$firmware -drive if=pflash,format=raw,unit=0,readonly=on,file=$Q/ovmf/OVMF_CODE_4M.fd"
		firmware="$firmware -drive if=pflash,format=raw,unit=1,file=/tmp/ovmf-vars.fd"
	fi
	: > /tmp/qemu.diag
	rm -f /tmp/qemu.fifo
	mkfifo /tmp/qemu.fifo
	stamp < /tmp/qemu.fifo > /tmp/qemu.log &
	sp=$!
	read -r t0 _ < /proc/uptime
	end=$((${t0%.*} + tmo))
	su -s /bin/sh -c "ulimit -l 8192 && exec $Q/lib/ld-linux-x86-64.so.2 \
		--library-path $Q/lib $b/qemu-system-x86_64 $firmware \
		-accel kvm -machine $machine,kernel-irqchip=$irqchip \
		-cpu $cpu -m 192 -smp $smp \
		-nographic -nodefaults -vga none -serial stdio -no-reboot \
		-name guest,debug-threads=on -kernel $kimg -initrd $Q/guest.cpio \
		-append 'console=ttyS0 panic=-1 loglevel=4'" nobody \
		< /dev/null > /tmp/qemu.fifo 2>&1 &
	p=$!
	stalled=
	while [ -d /proc/$p ]; do
		sleep 0.2
		read -r up _ < /proc/uptime
		if [ "${up%.*}" -ge "$end" ]; then
			stalled=1
			dump "$hv" $p > /tmp/qemu.diag
			kill -9 $p 2>/dev/null
			break
		fi
	done
	wait $p
	qrc=$?
	wait $sp
	hello=$(grep -m1 "L2-HELLO" /tmp/qemu.log | cut -d' ' -f1)
	secs=-
	[ -n "$hello" ] && secs=$(awk -v a="$t0" -v b="$hello" 'BEGIN { printf "%.2f", b - a }')
	# the head of a guest's oops or panic, which a tail would cut
	panic=$(grep -m1 -E 'Kernel panic|BUG:|Oops|general protection|double fault' /tmp/qemu.log |
		cut -d' ' -f2-)
	qerr=$(grep -v "host doesn't support requested feature" /tmp/qemu.log |
		grep -m1 'qemu-system-x86_64:' | cut -d' ' -f2-)
	why=
	if [ -n "$stalled" ]; then
		why="stall: QEMU still running after $tmo s, killed${hello:+ (after L2-HELLO)}"
	elif [ -n "$panic" ]; then
		why="guest: $panic"
	elif [ -z "$hello" ]; then
		why="QEMU exited (status $qrc) before L2-HELLO${qerr:+: $qerr}"
	elif ! grep -q "L2-HELLO: $smp CPUs" /tmp/qemu.log; then
		why="guest: $(grep -m1 L2-HELLO /tmp/qemu.log | cut -d' ' -f2-), not $smp"
	elif ! grep -q "Hypervisor detected: KVM" /tmp/qemu.log; then
		why="guest did not detect KVM"
	elif ! grep -q "clocksource: kvm-clock" /tmp/qemu.log; then
		why="guest did not register kvm-clock"
	# -cpu host offers the guest every PV feature the hypervisor has:
	# with more than one CPU it then runs on PV spinlocks and PV IPIs
	elif [ "$cpu" = host ] && [ "$smp" -gt 1 ] &&
	     ! grep -q "kvm-guest: PV spinlocks enabled" /tmp/qemu.log; then
		why="guest: no PV spinlocks with -cpu host"
	elif [ "$cpu" = host ] && [ "$smp" -gt 1 ] &&
	     ! grep -q "kvm-guest: setup PV IPIs" /tmp/qemu.log; then
		why="guest: no PV IPIs with -cpu host"
	elif [ "$qrc" != 0 ]; then
		why="QEMU exited with status $qrc${qerr:+: $qerr}"
	fi
	if [ -z "$why" ]; then
		echo "$secs"
		return 0
	fi
	[ -n "$panic" ] &&
		awk '!s && /Kernel panic|BUG:|Oops|general protection|double fault/ { s = NR }
		     s && NR < s + 15 { $1 = "guest:"; print }' /tmp/qemu.log >> /tmp/qemu.diag
	grep -v "host doesn't support requested feature" /tmp/qemu.log | tail -15 |
		cut -d' ' -f2- | sed 's/^/QEMU: /' >> /tmp/qemu.diag
	echo "$secs $why"
	return 1
}

cur='' ok=''
while read -r hv vmm name first last tmo giveup machine cpu smp irqchip kernel fw; do
	case $hv in ''|'#'*) continue ;; esac
	if [ "$hv" != "$cur" ]; then
		[ -z "$cur" ] || [ -z "$ok" ] || unload_hv "$cur" || break
		cur=$hv ok=
		load "$hv" && ok=1
	fi
	# a hypervisor that did not load: its boots are not reported at all,
	# and check-qemu.sh says why from the load-failed line
	[ -n "$ok" ] || continue
	k=$first passed=0 failed=0
	while [ "$k" -le "$last" ]; do
		say "qstart $hv $vmm $name $k"
		echo "check-qemu: $hv, QEMU $vmm, $name, boot $k"
		before=$(dmesg | wc -l)
		if r=$(boot "$hv" "$vmm" "$tmo" "$machine" "$cpu" "$smp" "$irqchip" \
				"$kernel" "$fw"); then
			bad=$(klog_since "$before" | grep -E "$BAD" | head -1)
			if [ -n "$bad" ]; then
				r="$r kernel complained: $bad"
				klog_since "$before" | head -40 > /tmp/qemu.diag
			fi
		else
			bad=x
		fi
		if [ -z "$bad" ]; then
			say "qboot $hv $vmm $name $k ok $r"
			passed=$((passed + 1)) failed=0
		else
			say "qboot $hv $vmm $name $k fail $r"
			sed "s|^|@@KV # $hv $name $k: |" /tmp/qemu.diag > "$RES"
			echo "check-qemu: boot $k failed: ${r#* }; QEMU's output:"
			cut -d' ' -f2- /tmp/qemu.log
			failed=$((failed + 1))
			if [ "$giveup" -gt 0 ] && [ $passed = 0 ] && [ $failed -ge "$giveup" ]; then
				say "qgiveup $hv $vmm $name $k"
				break
			fi
		fi
		k=$((k + 1))
	done
done < $P
say "end"
