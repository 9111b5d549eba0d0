#!/bin/sh
# aid-kernel.sh: replaces the base image's kernel with the pinned one.
# Written by aidc; runs inside a container build. Usage:
#   aid-kernel.sh NAME PACKAGE...
# NAME is the kernel's package name (`kernel`, `kernel-longterm`); PACKAGE...
# are the packages to install. Follows ublue-os/main build_files/install.sh
# and ucore install-ucore-minimal.sh (docs/fedora.md): erase the stock
# kernel, stub the kernel-install hooks that fail in a container build,
# install, version-lock, and keep one directory under /usr/lib/modules. The
# initramfs is made by aid-finalize.sh, after every module and modprobe file
# of the image is installed.
set -eu
name=$1
shift

# 0. /usr/local and /opt become directories of the image before any package
#    writes there (on the Atomic desktops they link into /var, which an
#    installed machine gets only on first deployment; CUDA installs under
#    /usr/local/cuda-X.Y). aid-finalize.sh checks it again at the end.
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

# 3. Later package steps must not move the kernel. `versionlock add` loads
#    the enabled repositories (dnf5 dnf5/commands/versionlock/versionlock_add.cpp:
#    set_load_available_repos(ENABLED)), so it gets the step's options too:
#    in a hermetic build only the prefetched ones (Fedora 45's distribution
#    files in /usr/share/dnf5/repos.d would fail offline).
# shellcheck disable=SC2086 # DNF5_OPTS holds several options
dnf5 ${DNF5_OPTS:-} versionlock add "$@"

# 4. The image's kernel (from the package, not the build host's `uname -r`),
#    and only it: bootc's `kernel` lint allows one directory.
kver=$(rpm -q --qf '%{VERSION}-%{RELEASE}.%{ARCH}\n' "$name-core" | head -n 1)
if [ ! -e "/usr/lib/modules/$kver/vmlinuz" ]; then
  echo "aid-kernel: $name-core $kver has no /usr/lib/modules/$kver/vmlinuz" >&2
  exit 1
fi
for dir in /usr/lib/modules/*; do
  [ "$dir" = "/usr/lib/modules/$kver" ] || rm -rf "$dir"
done
count=$(find /usr/lib/modules -mindepth 1 -maxdepth 1 -type d | wc -l)
if [ "$count" -ne 1 ]; then
  echo "aid-kernel: expected one kernel in /usr/lib/modules, found $count" >&2
  exit 1
fi
echo "aid-kernel: $name $kver"
