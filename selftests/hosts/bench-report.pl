#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0
#
# bench-report.pl: the figures of `make bench` (bench.sh), from what a
# test host reported to what README.md shows.
#
#   bench-report.pl host HOST DIR
#	DIR holds one host's run (results.clean, stamps.txt, meta.txt, as
#	bench.sh leaves them): write DIR/result.json and print the host's
#	table.  Exit status 1 when the host did not measure everything.
#   bench-report.pl merge OUT.json HOST.json...
#	one file with every host's result (build/bench/results.json)
#   bench-report.pl table OUT.json
#	README.md's table, in Markdown
#
# A row's value per round and hypervisor is ns per iteration (time rows)
# or bytes per VM or vCPU (memory rows); its ratio per round is kvisor's
# value over KVM's in that round (lower is better for kvisor); its figure
# is the median of those ratios, with their min and max; its spread is
# (max - min) / median, and over $BENCH_MAX_SPREAD (0.10) the row is
# "wide": too wide to compare.  Perl and JSON::PP come with Debian's
# perl, which build-essential brings.
use strict;
use warnings;
use JSON::PP;

my $MAX_SPREAD = $ENV{BENCH_MAX_SPREAD} // 0.10;

# The rows, in order: name, unit of the value, goal (issue 15 for exits,
# issue 11 for memory), kind.  The compute row's goal is issue 15's "at
# least 0.97 of KVM's speed", as a time ratio.
my @ROWS = (
	[ 'io',        'IO exit to userspace',                     'ns', 0.9, 'time' ],
	[ 'cpuid',     'CPUID, handled in the kernel',             'ns', 0.9, 'time' ],
	[ 'mmio',      'MMIO exit to userspace (emulated)',        'ns', 0.9, 'time' ],
	[ 'ipi',       'IPI round trip between two halted vCPUs',  'ns', 0.9, 'time' ],
	[ 'timer',     'LAPIC timer: arm, expire, inject',         'ns', 0.9, 'time' ],
	[ 'hlt',       'HLT wake-up by the LAPIC timer, polling',  'ns', 0.9, 'time' ],
	[ 'compute',   'guest compute, no exits of its own',       'ns', 1.03, 'time' ],
	[ 'touch',     'first touch of guest memory, per 4K page', 'ns', 1.0, 'time' ],
	[ 'thp',       'pass over a working set on THP',          'ns', 1.0, 'time' ],
	[ 'kmem-vm',   'kernel memory per VM',                     'B',  0.5, 'mem' ],
	[ 'kmem-vcpu', 'kernel memory per vCPU',                   'B',  0.5, 'mem' ],
	[ 'io-2',      'IO exit, 2 vCPUs making them',             'ns', 0.9, 'time' ],
	[ 'io-4',      'IO exit, 4 vCPUs making them',             'ns', 0.9, 'time' ],
	[ 'cpuid-2',   'CPUID, 2 vCPUs making them',               'ns', 0.9, 'time' ],
	[ 'cpuid-4',   'CPUID, 4 vCPUs making them',               'ns', 0.9, 'time' ],
	[ 'ipi-4',     'IPI round trip, one vCPU to three',        'ns', 0.9, 'time' ],
	[ 'boot',      'QEMU 7.2 boots Linux to its /init',        'ns', 0.9, 'time' ],
);

# A goal as the tables print it: 0.9, 1.0, 1.03
sub goal_str {
	my $g = sprintf('%.2f', shift);
	$g =~ s/(\.\d)0$/$1/;
	return $g;
}

# Per host: which clock times its time rows (see bench.sh, "Which
# clock"), and which second opinion its table shows beside it.
my %HOSTS = (
	svm => { title => 'svm host (QEMU TCG -icount, AMD SVM+NPT): kvisor vs in-tree kvm_amd',
		 column => 'SVM host (kvm_amd)', kvm => 'kvm_amd',
		 clock => 'guest', alt => 'cpu',
		 row_clock => { thp => 'cpu' },
		 # rows in-tree KVM cannot run here: kvisor's figure alone
		 kvm_skip => { boot => "in-tree kvm_amd stalls under QEMU's emulated SVM" },
		 short => { cpu => 'cpu', wall => 'wall', guest => 'instr' },
		 clocks => {
			guest => "the host's own clock: QEMU's -icount virtual time, 8 ns an instruction",
			cpu => "QEMU's process CPU time, read outside at the loops' marks",
			wall => "real time, read outside at the loops' marks",
		 } },
	vmx => { title => 'vmx host (Bochs, Intel VMX+EPT): kvisor vs in-tree kvm_intel',
		 column => 'VMX host (kvm_intel)', kvm => 'kvm_intel',
		 clock => 'guest', alt => 'cpu',
		 # a pass over the working set makes no exit: what nested paging
		 # costs there is the emulator's work, which its instruction count
		 # leaves out (so on both hosts)
		 row_clock => { thp => 'cpu' },
		 short => { cpu => 'cpu', wall => 'wall', guest => 'instr' },
		 clocks => {
			guest => "the host's own clock: Bochs' virtual time, which counts instructions",
			cpu => "Bochs' process CPU time, read outside at the loops' marks",
			wall => "real time, read outside at the loops' marks",
		 } },
);

sub median {
	my @v = sort { $a <=> $b } @_;
	return undef unless @v;
	my $m = int(@v / 2);
	return @v % 2 ? $v[$m] : ($v[$m - 1] + $v[$m]) / 2;
}

sub min_max {
	my @v = sort { $a <=> $b } @_;
	return ($v[0], $v[-1]);
}

sub read_lines {
	my ($path) = @_;
	open(my $f, '<', $path) or return ();
	my @l = <$f>;
	close($f);
	chomp(@l);
	return @l;
}

sub round_n {
	my ($v, $digits) = @_;
	return undef unless defined $v;
	return 0 + sprintf("%.${digits}f", $v);
}

# The ratios of two per-round value lists (rounds where both exist) and
# what they give: median, min, max, spread.
sub ratio_stats {
	my ($a, $b) = @_;
	my @r;
	for my $i (0 .. $#$a) {
		next unless defined $a->[$i] && defined $b->[$i] && $b->[$i] > 0;
		push(@r, $a->[$i] / $b->[$i]);
	}
	return { ratios => [], rounds => 0 } unless @r;
	my $med = median(@r);
	my ($lo, $hi) = min_max(@r);
	return {
		ratios => [ map { round_n($_, 4) } @r ],
		rounds => scalar(@r),
		median => round_n($med, 3), min => round_n($lo, 3),
		max => round_n($hi, 3),
		spread => $med > 0 ? round_n(($hi - $lo) / $med, 3) : undef,
	};
}

# A round's value from its slices ([wall ns, cpu ns, iterations] each),
# by clock 0 (wall) or 1 (cpu): the median of the slices' ns per
# iteration, so that a burst of other load that spoils a slice or two
# does not move it.
sub slice_value {
	my ($sl, $k) = @_;
	return median(map { $_->[$k] / $_->[2] } @$sl);
}

sub host_report {
	my ($host, $dir) = @_;
	my $hinfo = $HOSTS{$host} or die "unknown host $host\n";
	my (%meta, @oops);
	for (read_lines("$dir/meta.txt")) {
		my ($k, $v) = split(/ /, $_, 2);
		if ($k eq 'oops') { push(@oops, $v) } else { $meta{$k} = $v // '' }
	}

	# Everything but the marks' times: the results channel itself.
	my (%cfg, %guest, %kmem, %parts, @fail, @warn, %diag, %alldiag, $loaded, $ended);
	for (read_lines("$dir/results.clean")) {
		my @w = split(/ /);
		if ($w[0] eq 'bench-config') {
			for (@w[1 .. $#w]) { my ($k, $v) = split(/=/, $_, 2); $cfg{$k} = $v }
		} elsif ($w[0] eq 'loaded') {
			$loaded = join(' ', @w[1 .. $#w]);
		} elsif (($w[0] eq 'bench' || $w[0] eq 'kmem') && @w >= 6 && $w[3] !~ /^[1-9]\d*$/) {
			next;	# round 0, the warm-up
		} elsif ($w[0] eq 'bench' && @w >= 6) {
			$guest{$w[2]}{$w[1]}[$w[3] - 1] = $w[4];
		} elsif ($w[0] eq 'kmem' && @w >= 6) {
			$kmem{$w[2]}{$w[1]}[$w[3] - 1] = $w[5];
			for (@w[6 .. $#w]) {
				my ($k, $v) = split(/=/, $_, 2);
				$parts{$w[2]}{$w[1]}{$k}[$w[3] - 1] = $v;
			}
		} elsif ($w[0] eq 'bench-fail') {
			push(@fail, join(' ', @w[1 .. $#w]));
		} elsif ($w[0] eq 'bench-warn') {
			push(@warn, join(' ', @w[1 .. $#w]));
		} elsif ($w[0] eq '#' && @w >= 3) {
			(my $row = $w[2]) =~ s/:$//;
			my $text = join(' ', @w[3 .. $#w]);
			push(@{ $alldiag{"$w[1] $row"} }, $text);
			push(@{ $diag{$row} }, "$w[1]: $text")
				if $text =~ /^\Q$row\E: / && $text !~ / iterations in /;
		} elsif ($w[0] eq 'bench-end') {
			$ended = 1;
		}
	}

	# The marks, with the real time and the emulator's CPU time stamped
	# on them as they arrived (bench.sh's stamp()).
	my (%wall, %cpu, %slices, $cur, $last);
	my ($share_wall, $share_cpu) = (0, 0);
	for (read_lines("$dir/stamps.txt")) {
		my ($t, $c, $rest) = split(/ /, $_, 3);
		next unless defined $rest && $rest =~ /\@\@KV (.*)$/;
		my @w = split(/ /, $1);
		if ($w[0] eq 'bench-run' && @w >= 4) {
			# round 0 warms up: not counted
			$cur = $w[3] =~ /^[1-9]\d*$/ ? [ $w[1], $w[2], $w[3] ] : undef;
			$last = undef;
		} elsif ($w[0] eq 'mark' && $cur && @w >= 4) {
			my ($hv, $row, $round) = @$cur;
			if ($w[2] eq 'start') {
				$last = [ $t, $c ];
				$slices{$row}{$hv}[$round - 1] = [];
			} elsif ($w[2] eq 'lap' && $last && $w[3] > 0) {
				push(@{ $slices{$row}{$hv}[$round - 1] },
				     [ ($t - $last->[0]) * 1e9, $c - $last->[1], $w[3] ]);
				$share_wall += $t - $last->[0];
				$share_cpu += ($c - $last->[1]) / 1e9;
				$last = [ $t, $c ];
			} elsif ($w[2] eq 'end' && $last) {
				my $sl = $slices{$row}{$hv}[$round - 1];
				my ($w_ns, $c_ns, $n) = (0, 0, 0);
				for (@$sl) { $w_ns += $_->[0]; $c_ns += $_->[1]; $n += $_->[2] }
				next unless $n > 0 && $n == $w[3];
				$wall{$row}{$hv}[$round - 1] = slice_value($sl, 0);
				$cpu{$row}{$hv}[$round - 1] = slice_value($sl, 1)
					if $c > 0 && $c_ns > 0;
				$last = undef;
			}
		}
	}

	my $rounds = $cfg{rounds} // 0;
	my @want = $cfg{rows} ? split(/,/, $cfg{rows}) : map { $_->[0] } @ROWS;
	my (@rows, @problems);
	push(@problems, "the host did not run to its end (rc $meta{host_rc}): $meta{host_log}")
		if ($meta{host_rc} // 1) != 0;
	push(@problems, 'the benchmark did not finish') unless $ended;
	for (@fail) {
		push(@problems, "failed: $_");
		my ($hv, $row) = split(/ /);
		push(@problems, map { "  $_" } @{ $alldiag{"$hv $row"} // [] });
	}
	push(@problems, map { "console: $_" } @oops);
	for my $def (@ROWS) {
		my ($row, $name, $unit, $goal, $kind) = @$def;
		next unless grep { $_ eq $row } @want;
		my %r = (row => $row, name => row_name($row, $name, \%cfg), goal => $goal);
		my %by;
		if ($kind eq 'time') {
			%by = (cpu => $cpu{$row}, wall => $wall{$row}, guest => $guest{$row});
			$r{unit} = 'ns per iteration';
			$r{clock} = $hinfo->{row_clock}{$row} // $hinfo->{clock};
			$r{alt_clock} = $hinfo->{alt} ne $r{clock} ? $hinfo->{alt} : $hinfo->{clock};
		} else {
			%by = (bytes => $kmem{$row});
			$r{unit} = 'bytes';
			$r{clock} = 'none';
		}
		my $main = $kind eq 'time' ? $r{clock} : 'bytes';
		my $skip = $hinfo->{kvm_skip}{$row};
		$r{kvm_not_run} = $skip if $skip;
		for my $hv ($skip ? qw(kvisor) : qw(kvisor kvm)) {
			my $v = $by{$main}{$hv} // [];
			$r{$hv} = [ map { defined $_ ? round_n($_, 1) : undef } @$v[0 .. $rounds - 1] ];
			my @def = grep { defined } @$v;
			$r{"${hv}_median"} = round_n(median(@def), 1);
			my $n = scalar(@def);
			push(@problems, "$row: $hv measured in $n of $rounds rounds")
				if $n < $rounds;
		}
		my $s = ratio_stats($by{$main}{kvisor} // [], $by{$main}{kvm} // []);
		%r = (%r, %$s);
		$r{verdict} = $skip ? 'kvisor only' : !$s->{rounds} ? 'missing' :
			$s->{rounds} < $rounds || $rounds < 5 ? 'few rounds' :
			$s->{spread} > $MAX_SPREAD ? 'wide' : 'ok';
		$r{meets_goal} = defined $s->{median} ?
			($s->{median} <= $goal ? JSON::PP::true : JSON::PP::false) : undef;
		if ($kind eq 'time') {
			for my $c (grep { $_ ne $main } qw(cpu wall guest)) {
				my $o = ratio_stats($by{$c}{kvisor} // [], $by{$c}{kvm} // []);
				delete $o->{ratios};
				$r{other_clocks}{$c} = $o if $o->{rounds};
			}
		} else {
			for my $hv (qw(kvisor kvm)) {
				for my $p (sort keys %{ $parts{$row}{$hv} // {} }) {
					my @v = grep { defined } @{ $parts{$row}{$hv}{$p} };
					$r{parts}{$hv}{$p} = round_n(median(@v), 0);
				}
			}
		}
		$r{notes} = notes($diag{$row}) if $diag{$row};
		push(@rows, \%r);
	}

	my %res = (
		host => $host, title => $hinfo->{title}, kvm => $hinfo->{kvm},
		commit => $meta{commit}, date => $meta{date},
		machine => $meta{machine}, emulator => $meta{emulator},
		kvisor => $loaded,
		clock => $hinfo->{clock}, clocks => $hinfo->{clocks},
		clock_names => $hinfo->{short},
		config => \%cfg, seconds => 0 + ($meta{seconds} // 0),
		# how much of a core the emulator had while the loops ran, and
		# this machine's load average (1 min) before and after the host
		emulator_share => $share_wall > 0 ? round_n($share_cpu / $share_wall, 2) : undef,
		loadavg_before => $meta{loadavg_before}, loadavg_after => $meta{loadavg_after},
		max_spread => 0 + $MAX_SPREAD,
		complete => @problems ? JSON::PP::false : JSON::PP::true,
		problems => \@problems, warnings => \@warn, rows => \@rows,
	);
	open(my $f, '>', "$dir/result.json") or die "$dir/result.json: $!\n";
	print $f JSON::PP->new->pretty->canonical->encode(\%res);
	close($f);
	print_host(\%res);
	return @problems ? 1 : 0;
}

# A row's diagnostics, each line once: the thp row's fault-in times
# (by the host's clock) gathered in one line per hypervisor.
sub notes {
	my ($lines) = @_;
	my (@out, %seen, %times);
	for (@$lines) {
		my $l = $_;
		push(@{ $times{$1} }, $3) if $l =~ s/^(\w+): (.*) in ([\d.]+) s; /$1: $2; /;
		push(@out, $l) unless $seen{$l}++;
	}
	push(@out, "$_: the fault-in took " . join(', ', @{ $times{$_} }) .
	     " s by the host's clock (round 0 first)") for sort keys %times;
	return \@out;
}

# A row's name with the sizes this run gave it.
sub row_name {
	my ($row, $name, $cfg) = @_;
	my %size = (
		touch => "first touch of a fresh $cfg->{touch_mb} MiB slot, per 4K page",
		thp => "pass over a $cfg->{thp_mb} MiB working set on THP",
		'kmem-vm' => "kernel memory per VM ($cfg->{kmem_vms} VMs)",
		'kmem-vcpu' => "kernel memory per vCPU ($cfg->{kmem_vcpus} in a VM)",
	);
	return $size{$row} && defined $cfg->{thp_mb} ? $size{$row} : $name;
}

# A value for people: ns as ns/us/ms, bytes as KiB.
sub human {
	my ($v, $unit) = @_;
	return '-' unless defined $v;
	if ($unit eq 'bytes') {
		return sprintf('%.1f KiB', $v / 1024);
	}
	return sprintf('%.0f ns', $v) if $v < 1e4;
	return sprintf('%.1f us', $v / 1e3) if $v < 1e7;
	return sprintf('%.1f ms', $v / 1e6) if $v < 1e9;
	return sprintf('%.2f s', $v / 1e9);
}

sub fmt_ratio {
	my ($r) = @_;
	return defined $r ? sprintf('%.2f', $r) : '-';
}

sub print_host {
	my ($res) = @_;
	my $cfg = $res->{config};
	printf("%s\n", $res->{title});
	my $n = $res->{clock_names};
	printf("  %s rounds, kvisor then KVM in each, after a warm-up round\n",
	       $cfg->{rounds} // '?');
	printf("  %-50s %10s %10s %6s %11s %6s %-5s %10s %5s  %s\n", 'row', 'kvisor', 'KVM',
	       'ratio', 'min-max', 'spread', 'clock', 'other', 'goal', '');
	for my $r (@{ $res->{rows} }) {
		my $g = $r->{alt_clock} && $r->{other_clocks}{ $r->{alt_clock} };
		printf("  %-50s %10s %10s %6s %11s %6s %-5s %10s %5s  %s\n", $r->{name},
		       human($r->{kvisor_median}, $r->{unit} eq 'bytes' ? 'bytes' : 'ns'),
		       human($r->{kvm_median}, $r->{unit} eq 'bytes' ? 'bytes' : 'ns'),
		       fmt_ratio($r->{median}),
		       defined $r->{min} ? sprintf('%.2f-%.2f', $r->{min}, $r->{max}) : '-',
		       defined $r->{spread} ? sprintf('%.0f%%', 100 * $r->{spread}) : '-',
		       $n->{ $r->{clock} } // '-',
		       $g ? fmt_ratio($g->{median}) . ' ' . $n->{ $r->{alt_clock} } : '',
		       goal_str($r->{goal}),
		       $r->{verdict} eq 'ok' ? '' : uc($r->{verdict}));
	}
	print("  ratio: kvisor/KVM, the median over the rounds; spread: (max - min) / median;\n");
	printf("  WIDE: spread over %.0f%%, too wide to compare; other: the median ratio by another clock\n",
	       100 * $res->{max_spread});
	printf("  clock %s: %s\n", $n->{$_}, $res->{clocks}{$_}) for sort keys %{ $res->{clocks} };
	for my $r (@{ $res->{rows} }) {
		print("  $r->{row}: KVM not run: $r->{kvm_not_run}\n") if $r->{kvm_not_run};
		print("  $r->{row}: $_\n") for @{ $r->{notes} // [] };
		next unless $r->{parts};
		for my $hv (qw(kvisor kvm)) {
			my $p = $r->{parts}{$hv} or next;
			printf("  %s, %s: %s\n", $r->{row}, $hv, join(', ',
			       map { sprintf('%s %.1f KiB', $_, $p->{$_} / 1024) } sort keys %$p));
		}
	}
	print("  warning: the kernel complained under $_\n") for @{ $res->{warnings} };
	if (@{ $res->{problems} }) {
		printf("  FAILED: the %s host did not measure everything:\n", $res->{host});
		print("    $_\n") for @{ $res->{problems} };
	}
	printf("  the emulator had %.0f%% of a core while the loops ran; load average %s before, %s after\n",
	       100 * ($res->{emulator_share} // 0), $res->{loadavg_before} // '?',
	       $res->{loadavg_after} // '?');
	printf("  %s host: %d s\n\n", $res->{host}, $res->{seconds});
}

sub merge {
	my ($out, @files) = @_;
	my %all = (format => 1, max_spread => 0 + $MAX_SPREAD, hosts => {});
	for my $file (@files) {
		next unless -s $file;
		open(my $f, '<', $file) or die "$file: $!\n";
		local $/;
		my $h = decode_json(<$f>);
		close($f);
		$all{hosts}{ $h->{host} } = $h;
	}
	open(my $f, '>', $out) or die "$out: $!\n";
	print $f JSON::PP->new->pretty->canonical->encode(\%all);
	close($f);
	return 0;
}

# README.md's table: one line per row, one column per host.
sub table {
	my ($file) = @_;
	open(my $f, '<', $file) or die "$file: $!\n";
	local $/;
	my $all = decode_json(<$f>);
	close($f);
	my @hosts = grep { $all->{hosts}{$_} } qw(svm vmx);
	my (%cell, %clock);
	my %what = (guest => 'instructions', cpu => 'emulator CPU time',
		    wall => 'real time', none => 'bytes');
	for my $h (@hosts) {
		for my $r (@{ $all->{hosts}{$h}{rows} }) {
			$clock{ $r->{row} }{ $what{ $r->{clock} } // $r->{clock} } = 1;
			my $c = '-';
			if ($r->{kvm_not_run}) {
				$c = sprintf('kvisor alone: %s', human($r->{kvisor_median}, 'ns'));
			} elsif (defined $r->{median}) {
				$c = sprintf('%.2f (%.2f–%.2f)', $r->{median}, $r->{min}, $r->{max});
				$c .= ' wide' if $r->{verdict} eq 'wide';
				$c .= " $r->{verdict}" if $r->{verdict} eq 'few rounds';
			}
			$cell{ $r->{row} }{$h} = $c;
		}
	}
	print('| test | ', join(' | ', map { $HOSTS{$_}{column} } @hosts), " | goal | clock |\n");
	print('| --- | ', join(' | ', map { '---' } @hosts), " | --- | --- |\n");
	for my $def (@ROWS) {
		my ($row, $name, undef, $goal) = @$def;
		next unless grep { $cell{$row}{$_} } @hosts;
		# the name the hosts gave it, with their sizes, when they agree
		my %names = map { $_->{name} => 1 }
			grep { $_->{row} eq $row } map { @{ $all->{hosts}{$_}{rows} } } @hosts;
		my $label = keys(%names) == 1 ? (keys(%names))[0] : $name;
		print("| $label | ", join(' | ', map { $cell{$row}{$_} // '-' } @hosts),
		      sprintf(" | ≤ %s | %s |\n", goal_str($goal), join(', ', sort keys %{ $clock{$row} })));
	}
	return 0;
}

my $cmd = shift(@ARGV) // '';
if ($cmd eq 'host' && @ARGV == 2) {
	exit(host_report(@ARGV));
} elsif ($cmd eq 'merge' && @ARGV >= 1) {
	exit(merge(@ARGV));
} elsif ($cmd eq 'table' && @ARGV == 1) {
	exit(table(@ARGV));
}
print STDERR "usage: $0 host HOST DIR | merge OUT.json HOST.json... | table OUT.json\n";
exit(2);
