#!/usr/bin/env bash
# Installs the Debian packages the network-namespace, TFTP-client and QEMU tests use, when they are
# missing and we are root (CI and the lab machines). Elsewhere it only says what is missing: those
# tests then skip with the reason. Runs before `npm test` (package.json "pretest").
set -euo pipefail
# busybox-static provides busybox (udhcpc and the image's applets); Debian's busybox conflicts with it.
PKGS=(iproute2 isc-dhcp-client curl atftp python3 tcpdump
      qemu-system-x86 linux-image-amd64 busybox-static ipxe ipxe-qemu ovmf cpio gzip zstd kmod dnsmasq-base radvd
      chromium openvswitch-switch)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "ensure-deps: missing ${missing[*]} (not root or no apt-get): the tests that need them will skip" >&2
  exit 0
fi
echo "ensure-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Install only: no service may start on this machine (openvswitch-switch, radvd and tftpd-hpa would).
# policy-rc.d exit 101 = "action forbidden"; an existing policy is left alone.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
