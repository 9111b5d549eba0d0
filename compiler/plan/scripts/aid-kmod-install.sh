#!/bin/sh
# aid-kmod-install.sh: installs the signed kmod packages from the builder
# stage with the matching userspace, then checks that module and userspace
# agree. Written by aidc. Usage:
#   aid-kmod-install.sh KMODS-DIR KERNEL-NAME MODULE VERSION PACKAGE...
set -eu
dir=$1
kname=$2
module=$3
version=$4
shift 4

kver=$(rpm -q --qf '%{VERSION}-%{RELEASE}.%{ARCH}\n' "$kname-core" | head -n 1)
built=$(cat "$dir/kernel-release")
if [ "$built" != "$kver" ]; then
  echo "aid-kmod-install: $module was built for $built but the image ships $kver" >&2
  exit 1
fi
# shellcheck disable=SC2086 # DNF5_OPTS holds several options
dnf5 -y install --allowerasing ${DNF5_OPTS:-} "$dir"/kmod-*.rpm "$@"
# Package scriptlets run depmod for the build host's kernel; redo it for the image's.
depmod -a "$kver"
got=$(rpm -q --qf '%{VERSION}\n' "kmod-$module" 2>/dev/null | head -n 1 || true)
case "$got" in
  "$version"*) ;;
  *)
    echo "aid-kmod-install: kmod-$module is $got, the driver is $version" >&2
    exit 1
    ;;
esac
echo "aid-kmod-install: $module $version for $kver"
