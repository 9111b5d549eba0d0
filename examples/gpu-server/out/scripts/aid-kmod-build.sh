#!/bin/sh
# aid-kmod-build.sh: builds and signs a kernel module with akmods against the
# image's kernel, in a builder stage. Written by aidc. Usage:
#   aid-kmod-build.sh KERNEL-NAME MODULE VERSION PACKAGE...
# The signing key is a build secret mounted at
# /etc/pki/akmods/private/private_key.priv and the certificate at
# /etc/pki/akmods/certs/public_key.der, where akmods looks for them; neither
# is ever written to a layer. The signed kmod packages land in /out.
set -eu
# AID_KMOD_SIGNING (a build argument): `signed` (the default) needs the key;
# `unsigned` is for pull-request builds, which never get it, and the image
# says so in its `dev.aidc.kmod-signing` label.
if [ ! -s /etc/pki/akmods/private/private_key.priv ]; then
  if [ "${AID_KMOD_SIGNING:-signed}" = unsigned ]; then
    echo "aid-kmod-build: no signing key: building UNSIGNED modules (AID_KMOD_SIGNING=unsigned)" >&2
  else
    echo "aid-kmod-build: the signing key build secret is missing; pass it with --secret, or build with --build-arg AID_KMOD_SIGNING=unsigned for an unsigned test image" >&2
    exit 1
  fi
fi
kname=$1
module=$2
version=$3
shift 3

kevr=$(rpm -q --qf '%{VERSION}-%{RELEASE}\n' "$kname-core" | head -n 1)
kver=$(rpm -q --qf '%{VERSION}-%{RELEASE}.%{ARCH}\n' "$kname-core" | head -n 1)
# shellcheck disable=SC2086 # DNF5_OPTS holds several options
dnf5 -y install ${DNF5_OPTS:-} "$kname-devel-$kevr" akmods "$@"

# Build for the image's kernel, not the build host's.
if ! akmods --force --kernels "$kver" --kmod "$module"; then
  cat /var/cache/akmods/"$module"/*.failed.log >&2 2>/dev/null || true
  echo "aid-kmod-build: akmods failed for $module $version on $kver" >&2
  exit 1
fi

mkdir -p /out
find /var/cache/akmods/"$module" -name "kmod-$module-*.rpm" -exec cp {} /out/ \;
if [ -z "$(ls /out)" ]; then
  echo "aid-kmod-build: akmods produced no kmod-$module package" >&2
  exit 1
fi
printf '%s\n' "$kver" > /out/kernel-release
echo "aid-kmod-build: $module $version for $kver: $(ls /out)"
