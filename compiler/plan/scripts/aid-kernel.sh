#!/bin/sh
# aid-kernel.sh: replaces the base image's kernel with the pinned one.
# Written by aidc; runs inside a container build. Usage:
#   aid-kernel.sh NAME PACKAGE...
# NAME is the kernel's package name (`kernel`, `kernel-longterm`); PACKAGE...
# are the packages to install. Follows the procedure of ublue-os/main and
# ucore (docs/domain notes): erase the stock kernel, stub the kernel-install
# hooks that fail in a container build, install, version-lock, regenerate the
# initramfs for the one kernel the image ships, and check that it is one.
set -eu
name=$1
shift

# 1. Erase every stock kernel package; its modules go with it.
stock=$(rpm -qa --qf '%{NAME}\n' | grep -E '^kernel(-core|-modules|-modules-core|-modules-extra|-uki-virt)?$' | sort -u || true)
if [ -n "$stock" ]; then
  # shellcheck disable=SC2086 # one word per package
  rpm --erase --nodeps $stock
fi

# 2. kernel-install's rpm-ostree and dracut hooks fail inside a container
#    build; stub them for the install and restore them afterwards.
hooks=/usr/lib/kernel/install.d
saved=""
for hook in 05-rpmostree.install 50-dracut.install; do
  if [ -e "$hooks/$hook" ]; then
    mv "$hooks/$hook" "$hooks/$hook.aid-saved"
    printf '#!/bin/sh\nexit 0\n' > "$hooks/$hook"
    chmod 0755 "$hooks/$hook"
    saved="$saved $hook"
  fi
done
# shellcheck disable=SC2086 # DNF5_OPTS holds several options
dnf5 -y install --allowerasing ${DNF5_OPTS:-} "$@"
for hook in $saved; do
  mv "$hooks/$hook.aid-saved" "$hooks/$hook"
done

# 3. Later package steps must not move the kernel.
dnf5 versionlock add "$@"

# 4. The initramfs for the image's kernel, not the build host's (`uname -r`).
kver=$(rpm -q --qf '%{VERSION}-%{RELEASE}.%{ARCH}\n' "$name-core" | head -n 1)
for dir in /usr/lib/modules/*; do
  [ "$dir" = "/usr/lib/modules/$kver" ] || rm -rf "$dir"
done
DRACUT_NO_XATTR=1 dracut --no-hostonly --kver "$kver" --reproducible --add ostree -f "/usr/lib/modules/$kver/initramfs.img"
chmod 0600 "/usr/lib/modules/$kver/initramfs.img"

# 5. bootc allows exactly one kernel.
count=$(find /usr/lib/modules -mindepth 1 -maxdepth 1 -type d | wc -l)
if [ "$count" -ne 1 ]; then
  echo "aid-kernel: expected one kernel in /usr/lib/modules, found $count" >&2
  exit 1
fi
echo "aid-kernel: $name $kver"
