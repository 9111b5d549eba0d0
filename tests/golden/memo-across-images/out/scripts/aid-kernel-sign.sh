#!/bin/sh
# aid-kernel-sign.sh: Secure Boot for a replaced kernel. Written by aidc.
#   aid-kernel-sign.sh sign MODULES-DIR CERT KEY OUT keep-signatures|replace-signatures
#     In a builder stage (a plain Fedora image): signs the vmlinuz of the one
#     kernel under MODULES-DIR (the kernel stage's /usr/lib/modules) with KEY
#     (a build secret) and CERT (DER), checks it with `sbverify --cert`, and
#     leaves it in OUT. After ublue-os/akmods fetch-kernel.sh: signatures of
#     a kernel that is not the vendor's are removed first (`sbattach
#     --remove`), a vendor's (Fedora's) are kept next to the recipe's.
#     With the build argument AID_KMOD_SIGNING=unsigned (pull-request builds,
#     which never get the key; docs/konflux.md, "Keyless pull requests") it
#     signs nothing and says so; without it a missing key fails the build.
#   aid-kernel-sign.sh install SIGNED-DIR
#     In the image: puts the signed vmlinuz in place and checks that the file
#     there is the one the builder verified (on an unsigned build, leaves
#     the kernel as its package installed it).
set -eu
mode=$1
shift

one_kernel() {
  set -- "$1"/*
  if [ "$#" -ne 1 ] || [ ! -d "$1" ]; then
    echo "aid-kernel-sign: expected one kernel in $(dirname "$1"), found $#" >&2
    exit 1
  fi
  basename "$1"
}

case "$mode" in
  sign)
    modules=$1 cert=$2 key=$3 out=$4 signatures=$5
    # The mode first: a missing key fails before anything else runs.
    case "${AID_KMOD_SIGNING:-signed}" in
      signed)
        if [ ! -s "$key" ]; then
          echo "aid-kernel-sign: the signing key build secret is missing; pass it with --secret, or build with --build-arg AID_KMOD_SIGNING=unsigned for an unsigned test image" >&2
          exit 1
        fi
        ;;
      unsigned) ;;
      *)
        echo "aid-kernel-sign: AID_KMOD_SIGNING is '${AID_KMOD_SIGNING}'; expected signed or unsigned" >&2
        exit 1
        ;;
    esac
    kver=$(one_kernel "$modules")
    mkdir -p "$out"
    if [ "${AID_KMOD_SIGNING:-signed}" = unsigned ]; then
      echo "aid-kernel-sign: AID_KMOD_SIGNING=unsigned: the kernel $kver is NOT signed" >&2
      printf '%s\n' "$kver" > "$out/kernel-release"
      : > "$out/unsigned"
      exit 0
    fi
    # shellcheck disable=SC2086 # DNF5_OPTS holds several options
    dnf5 -y install --setopt=install_weak_deps=False ${DNF5_OPTS:-} sbsigntools openssl
    pem=/run/aid/tmp/cert.pem
    openssl x509 -inform DER -in "$cert" -out "$pem"
    cp "$modules/$kver/vmlinuz" "$out/vmlinuz.unsigned"
    if [ "$signatures" = replace-signatures ]; then
      while sbverify --list "$out/vmlinuz.unsigned" 2>/dev/null | grep -q '^signature [0-9]'; do
        sbattach --remove "$out/vmlinuz.unsigned"
      done
    fi
    sbsign --key "$key" --cert "$pem" --output "$out/vmlinuz" "$out/vmlinuz.unsigned"
    rm -f "$out/vmlinuz.unsigned"
    sbverify --list "$out/vmlinuz"
    if ! sbverify --cert "$pem" "$out/vmlinuz"; then
      echo "aid-kernel-sign: the signed vmlinuz of $kver does not verify against the recipe's certificate" >&2
      exit 1
    fi
    printf '%s\n' "$kver" > "$out/kernel-release"
    echo "aid-kernel-sign: signed $kver"
    ;;
  install)
    signed=$1
    kver=$(cat "$signed/kernel-release")
    if [ ! -d "/usr/lib/modules/$kver" ]; then
      echo "aid-kernel-sign: the builder signed $kver, which the image does not ship" >&2
      exit 1
    fi
    if [ -e "$signed/unsigned" ]; then
      echo "aid-kernel-sign: unsigned build: $kver keeps its package's vmlinuz"
      exit 0
    fi
    install -m 0755 "$signed/vmlinuz" "/usr/lib/modules/$kver/vmlinuz"
    if ! cmp -s "$signed/vmlinuz" "/usr/lib/modules/$kver/vmlinuz"; then
      echo "aid-kernel-sign: /usr/lib/modules/$kver/vmlinuz is not the verified signed kernel" >&2
      exit 1
    fi
    echo "aid-kernel-sign: installed the signed kernel $kver"
    ;;
  *)
    echo "aid-kernel-sign: unknown mode $mode" >&2
    exit 2
    ;;
esac
