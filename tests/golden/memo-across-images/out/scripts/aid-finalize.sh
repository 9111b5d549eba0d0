#!/bin/sh
# aid-finalize.sh: the last step of every image aidc writes, right before
# `bootc container lint`. Written by aidc. Usage:
#   aid-finalize.sh initramfs|keep-initramfs
# 1. /usr/local and /opt become directories of the image: on the Atomic
#    desktops they link into /var (/var/usrlocal, /var/opt), whose content
#    an installed machine gets only on its first deployment (bootc docs,
#    filesystem.md; rpm-ostree#4903), so what packages put there (CUDA in
#    /usr/local/cuda-X.Y) is moved in.
# 2. `initramfs`: the initramfs of the image's one kernel, made after every
#    module, modprobe.d and dracut.conf.d file is installed (ublue-os/main
#    build_files/initramfs.sh).
# 3. /boot and /var emptied as ublue-os/main build_files/post-install.sh
#    does: bootc ships nothing in /boot and copies /var only on first boot.
set -eu

for dir in /usr/local /opt; do
  if [ -L "$dir" ]; then
    target=$(readlink -f "$dir" || true)
    rm "$dir"
    mkdir -p "$dir"
    if [ -n "$target" ] && [ -d "$target" ]; then
      cp -a "$target"/. "$dir"/
      rm -rf "$target"
    fi
  fi
done

if [ "${1:-}" = initramfs ]; then
  count=0
  for d in /usr/lib/modules/*; do
    [ -d "$d" ] || continue
    count=$((count + 1))
    kver=$(basename "$d")
  done
  if [ "$count" -ne 1 ]; then
    echo "aid-finalize: expected one kernel in /usr/lib/modules, found $count" >&2
    exit 1
  fi
  depmod -a "$kver"
  DRACUT_NO_XATTR=1 dracut --no-hostonly --kver "$kver" --reproducible --add ostree -f "/usr/lib/modules/$kver/initramfs.img"
  chmod 0600 "/usr/lib/modules/$kver/initramfs.img"
  echo "aid-finalize: initramfs for $kver"
fi

rm -rf /boot
mkdir /boot
find /var -mindepth 1 -maxdepth 1 -type d ! -name cache ! -name log ! -name tmp -exec rm -rf {} +
find /var/cache /var/log -mindepth 1 -maxdepth 1 -exec rm -rf {} + 2>/dev/null || true
rm -rf /var/tmp
mkdir -p /var/tmp
chmod 1777 /var/tmp
