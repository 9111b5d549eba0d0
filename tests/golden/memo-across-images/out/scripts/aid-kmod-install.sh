#!/bin/sh
# aid-kmod-install.sh: installs the signed kmod packages from the builder
# stage with the userspace of the same version, then checks what the image
# ships: the module's version (from the module, as kmodtool names the package
# kmod-MODULE-KVER), the files against the digests the builder verified,
# their signer, and that the akmod itself is not installed. Written by aidc.
# Usage:
#   aid-kmod-install.sh KMODS-DIR KERNEL-NAME MODULE VERSION AKMOD PACKAGE...
set -eu
dir=$1 kname=$2 module=$3 version=$4 akmod=$5
shift 5

fail() {
  echo "aid-kmod-install: $*" >&2
  exit 1
}

kver=$(rpm -q --qf '%{VERSION}-%{RELEASE}.%{ARCH}\n' "$kname-core" | head -n 1)
built=$(cat "$dir/kernel-release")
[ "$built" = "$kver" ] || fail "$module was built for $built but the image ships $kver"
# The akmod would rebuild at boot, as root on ostree (akmods-ostree-post),
# which akmodsbuild refuses; the image carries the built module only.
# shellcheck disable=SC2086 # DNF5_OPTS holds several options
dnf5 -y install --allowerasing --setopt=install_weak_deps=False ${DNF5_OPTS:-} --exclude="$akmod" \
  "$dir"/kmod-"$module"-*.rpm "$@"
# Package scriptlets run depmod for the build host's kernel; redo it for the image's.
depmod -a "$kver"

rpm -q "$akmod" > /dev/null 2>&1 && fail "$akmod is installed in the image"
got=$(rpm -q --whatprovides "kmod-$module" --qf '%{NAME} %{VERSION}\n' | head -n 1)
case "$got" in
  "kmod-$module-$kver $version") ;;
  *) fail "the kmod-$module package is '$got', expected kmod-$module-$kver $version" ;;
esac
main=$(find "/usr/lib/modules/$kver/extra/$module" -name "$module.ko*" | head -n 1)
[ -n "$main" ] || fail "no $module.ko under /usr/lib/modules/$kver/extra/$module"
v=$(modinfo -F version "$main")
[ "$v" = "$version" ] || fail "$main is version ${v:-unknown}, the driver is $version"
for p in "$@"; do
  pv=$(rpm -q --qf '%{VERSION}\n' "$p" | head -n 1)
  case "$p" in
    *-"$pv") ;;
    *) fail "$p is installed at version $pv" ;;
  esac
done
(cd "/usr/lib/modules/$kver" && sha256sum -c "$dir/modules.sha256") || fail "the installed modules are not the ones the builder verified"
signer=$(cat "$dir/signer")
if [ -n "$signer" ]; then
  for m in $(cut -d' ' -f3- "$dir/modules.sha256"); do
    s=$(modinfo -F signer "/usr/lib/modules/$kver/$m")
    [ "$s" = "$signer" ] || fail "$m is signed by '${s:-nobody}', not by $signer"
  done
fi
echo "aid-kmod-install: $module $version for $kver, signer '${signer:-none}'"
