#!/bin/sh
# aid-kmod-build.sh: builds a kernel module with akmods against the image's
# kernel in a builder stage (a plain Fedora image, as ublue-os/akmods does:
# build_files/prep/build-prep.sh, build_files/nvidia/build-kmod-nvidia.sh),
# signs it with the recipe's key and checks every module's signature.
# Written by aidc. Usage:
#   aid-kmod-build.sh KERNEL-NAME MODULE VERSION AKMOD MODULE-VARIANT \
#     MODULES-DIR CERT KEY PACKAGE...
# MODULES-DIR is the kernel stage's /usr/lib/modules (one kernel); CERT (DER)
# and KEY (a build secret) are `-` when the image is not signed (and treated
# so when the build argument AID_KMOD_SIGNING is `unsigned`, below);
# MODULE-VARIANT (`-` for none) is written as MODULE_VARIANT to
# /etc/nvidia/kernel.conf, negativo17's switch between the open and the
# proprietary module sources. The kmod packages, the kernel release, the
# driver version, the expected signer and the modules' digests land in /out.
set -eu
kname=$1 module=$2 version=$3 akmod=$4 variant=$5 modules=$6 cert=$7 key=$8
shift 8

fail() {
  echo "aid-kmod-build: $*" >&2
  exit 1
}

# AID_KMOD_SIGNING (a build argument the stage declares): `signed`, the
# default, needs the key and checks every signature; `unsigned` is for
# pull-request builds, which never get the key: nothing is signed or checked,
# and the image says so in its `dev.aidc.kmod-signing` label
# (docs/konflux.md, "Keyless pull requests").
if [ "$cert" != - ]; then
  case "${AID_KMOD_SIGNING:-signed}" in
    signed)
      [ -s "$key" ] || fail "the signing key build secret is missing; pass it with --secret, or build with --build-arg AID_KMOD_SIGNING=unsigned for an unsigned test image"
      ;;
    unsigned)
      echo "aid-kmod-build: AID_KMOD_SIGNING=unsigned: building UNSIGNED modules" >&2
      cert=- key=-
      ;;
    *) fail "AID_KMOD_SIGNING is '${AID_KMOD_SIGNING}'; expected signed or unsigned" ;;
  esac
fi

# The kernel release of the image: the one directory of its /usr/lib/modules.
count=0
kver=""
for d in "$modules"/*; do
  [ -d "$d" ] || continue
  count=$((count + 1))
  kver=$(basename "$d")
done
[ "$count" -eq 1 ] || fail "expected one kernel in the image's /usr/lib/modules, found $count"
evr=${kver%.*}

# The exact kernel packages (kmodtool's kmod requires kernel-uname-r of that
# release) and the akmod of the pinned version, from the branch repository.
# shellcheck disable=SC2086 # DNF5_OPTS holds several options
dnf5 -y install --setopt=install_weak_deps=False ${DNF5_OPTS:-} \
  "$kname-core-$evr" "$kname-modules-core-$evr" "$kname-devel-$evr" "$kname-devel-matched-$evr" \
  akmods openssl "$akmod-$version" "$@"

# The module variant first, before the key is in place. Its value is a plain
# word (aidc checks it too); it is written as data, never inside a sed program.
if [ "$variant" != - ]; then
  case $variant in
    *[!A-Za-z0-9_-]*) fail "the module variant \`$variant\` is not a plain name" ;;
  esac
  conf=/etc/nvidia/kernel.conf
  [ -f "$conf" ] || fail "no $conf to set MODULE_VARIANT=$variant in"
  grep -v '^MODULE_VARIANT=' "$conf" > "$conf.aid" || true
  printf 'MODULE_VARIANT=%s\n' "$variant" >> "$conf.aid"
  mv "$conf.aid" "$conf"
fi
if [ "$cert" != - ]; then
  # akmods signs with these two files; akmodsbuild runs as the `akmods`
  # user, so the key (a 0400 root secret) is copied to a tmpfs, readable by
  # that group only, and is in no layer.
  install -D -m 0644 "$cert" /etc/pki/akmods/certs/public_key.der
  install -m 0440 -o root -g akmods "$key" /etc/pki/akmods/private/private_key.priv
  signer=$(openssl x509 -inform DER -in "$cert" -noout -subject -nameopt multiline,-esc_msb,utf8 | sed -n 's/^ *commonName *= //p' | head -n 1)
  serial=$(openssl x509 -inform DER -in "$cert" -noout -serial | sed 's/^serial=//' | tr -d ':' | tr 'a-f' 'A-F' | sed 's/^0*//')
  [ -n "$signer" ] || fail "the certificate $cert has no common name to check signatures against"
fi
mkdir -p /var/tmp
chmod 1777 /var/tmp

# Build for the image's kernel, not the build host's.
if ! akmods --force --kernels "$kver" --kmod "$module"; then
  find /var/cache/akmods/"$module" -name '*.failed.log' -exec cat {} \; >&2 2>/dev/null || true
  fail "akmods failed for $module $version on $kver"
fi
built=$(find "/usr/lib/modules/$kver/extra/$module" -name '*.ko*' 2>/dev/null | sort)
[ -n "$built" ] || fail "akmods installed no module under /usr/lib/modules/$kver/extra/$module"

mkdir -p /out
: > /out/modules.sha256
main=$(find "/usr/lib/modules/$kver/extra/$module" -name "$module.ko*" | head -n 1)
[ -n "$main" ] || fail "akmods built no $module.ko for $kver"
got=$(modinfo -F version "$main")
[ "$got" = "$version" ] || fail "$main is version ${got:-unknown}, the pinned driver is $version"
for m in $built; do
  if [ "$cert" != - ]; then
    s=$(modinfo -F signer "$m")
    k=$(modinfo -F sig_key "$m" | tr -d ':' | tr 'a-f' 'A-F' | sed 's/^0*//')
    [ "$s" = "$signer" ] || fail "$m is signed by '${s:-nobody}', not by the recipe's certificate ($signer)"
    [ "$k" = "$serial" ] || fail "$m is signed with key $k, not the recipe's certificate (serial $serial)"
  fi
  (cd "/usr/lib/modules/$kver" && sha256sum "${m#/usr/lib/modules/"$kver"/}") >> /out/modules.sha256
done

# kmodtool names the package kmod-MODULE-KVER (rpmfusion kmodtool).
find /var/cache/akmods/"$module" -name "kmod-$module-$kver-*.rpm" -exec cp {} /out/ \;
ls /out/kmod-"$module"-*.rpm > /dev/null 2>&1 || fail "akmods produced no kmod-$module-$kver package"
printf '%s\n' "$kver" > /out/kernel-release
printf '%s\n' "$version" > /out/version
printf '%s\n' "${signer:-}" > /out/signer
echo "aid-kmod-build: $module $version for $kver, signer '${signer:-none}':"
cat /out/modules.sha256
