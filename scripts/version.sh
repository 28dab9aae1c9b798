#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# version.sh [SRCDIR]: print kvisor's version, the one that MODULE_VERSION,
# the module's load line and kvisor-run --version show.
#
#   1. In a git checkout: git describe --tags --always --dirty over the
#      tags v0.1, v0.2, ..., without the "v": 0.1, 0.1-3-gabcdef0,
#      0.1-3-gabcdef0-dirty.  Before the first such tag, describe gives a
#      bare hash, shown after dkms.conf's version: 0.1-gabcdef0.
#   2. Else (a DKMS source copy, a tarball): dkms.conf's PACKAGE_VERSION.
#   3. Else 0.1-unknown.
#
# Only characters that are safe in a C string and a file name are kept.
src=${1:-.}

base=$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' \
	"$src/dkms.conf" 2>/dev/null)
v=
if [ -e "$src/.git" ]; then
	v=$(git -C "$src" describe --tags --always --dirty --match 'v[0-9]*' \
		2>/dev/null)
	case $v in
	v[0-9]*) v=${v#v} ;;
	?*) v=${base:-0.1}-g$v ;;
	esac
fi
[ -n "$v" ] || v=${base:-0.1-unknown}
printf '%s\n' "$v" | tr -cd 'A-Za-z0-9.+~_-'
echo
