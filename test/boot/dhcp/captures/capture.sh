#!/usr/bin/env bash
# Regenerates the real-client DHCP captures in this folder (the *.hex fixtures of golden.test.ts) and
# the first TFTP read requests of the firmware clients (test/boot/tftp/golden.test.ts).
# Not run by npm test: it needs root, QEMU, OVMF and a few minutes of TCG time.
#
#   sudo test/boot/dhcp/captures/capture.sh [OUTDIR [TFTP-OUTDIR]]
#        (defaults: this folder, and test/boot/tftp/captures for the TFTP requests)
#
# Everything happens inside one network namespace this script creates (tblcap<pid>): a bridge with
# 10.77.0.1/24, tcpdump on it, a throwaway dnsmasq (DHCP only, no DNS, no TFTP, bound to the bridge)
# so that each client gets as far as its REQUEST and (firmware) its TFTP request for the boot file
# dnsmasq names (nothing serves TFTP: the RRQ is all we want), a veth into a second namespace for udhcpc and
# dhclient, and one tap per QEMU guest. No traffic leaves the namespaces; every process is stopped
# by its PID and the namespaces are deleted on exit, also on failure.
#
# Clients (each with its own MAC, so the capture can tell them apart):
#   udhcpc   busybox-static udhcpc, default options                02:00:00:c0:00:01
#   dhclient ISC dhclient, Debian's default request list          02:00:00:c0:00:02
#   ipxe-bios  QEMU + SeaBIOS + Debian's virtio-net ROM (efi-virtio.rom = iPXE), arch 0   52:54:00:c0:00:b1
#   ipxe-uefi  QEMU + OVMF + the same ROM (its EFI driver), arch 7                         52:54:00:c0:00:e1
#   edk2-uefi  QEMU + OVMF with romfile= on the NIC: EDK2's own PXE, arch 7, no user class 52:54:00:c0:00:e2
# Requires: iproute2, tcpdump, dnsmasq (dnsmasq-base), busybox-static, isc-dhcp-client,
# qemu-system-x86, ovmf, ipxe-qemu, python3.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE}"
[ "$(id -u)" = 0 ] || { echo "capture.sh: needs root (network namespaces, taps)" >&2; exit 1; }
for c in ip tcpdump dnsmasq busybox dhclient qemu-system-x86_64 python3; do
  command -v "$c" >/dev/null || { echo "capture.sh: '$c' is not installed" >&2; exit 1; }
done
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
[ -f "$OVMF_CODE" ] || { echo "capture.sh: $OVMF_CODE missing (apt-get install ovmf)" >&2; exit 1; }

NS="tblcap$$"
CNS="tblcapc$$"
WORK="$(mktemp -d /tmp/tabula-capture.XXXXXX)"
PCAP="$WORK/dhcp.pcap"
PIDS=()

cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  sleep 1
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
  # safety net: anything still running inside our own namespaces, by PID
  for ns in "$NS" "$CNS"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }
STAMP="$(date -u +%Y-%m-%dT%H:%MZ)"
HOWTO="made by test/boot/dhcp/captures/capture.sh at $STAMP (tcpdump on a bridge inside a private netns)"

# --- topology -----------------------------------------------------------------------------------
ip netns add "$NS"
ip netns add "$CNS"
ip -n "$NS" link set lo up
ip -n "$NS" link add br0 type bridge
ip -n "$NS" link set br0 type bridge stp_state 0 forward_delay 0
ip -n "$NS" addr add 10.77.0.1/24 dev br0
ip -n "$NS" link set br0 up
# no default route in a fresh netns: dnsmasq's broadcast replies need this (pxe-lab.md)
ip -n "$NS" route add 255.255.255.255/32 dev br0
ip -n "$NS" link add vs0 type veth peer name vc0 netns "$CNS"
ip -n "$NS" link set vs0 master br0 up
ip -n "$CNS" link set lo up
for t in b1 e1 e2; do
  ip -n "$NS" tuntap add dev "tap$t" mode tap
  ip -n "$NS" link set "tap$t" master br0 up
done

ip netns exec "$NS" tcpdump -i br0 -U -s 0 -w "$PCAP" 'udp and (port 67 or port 68 or port 4011 or port 69)' >"$WORK/tcpdump.log" 2>&1 &
PIDS+=($!)
ip netns exec "$NS" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface=br0 --bind-interfaces \
  --dhcp-range=10.77.0.100,10.77.0.150,255.255.255.0,10m --dhcp-leasefile="$WORK/dnsmasq.leases" \
  --pid-file="$WORK/dnsmasq.pid" --dhcp-boot=boot.file,,10.77.0.1 --log-dhcp >"$WORK/dnsmasq.log" 2>&1 &
PIDS+=($!)
sleep 2

# Waits until MAC has sent message TYPE (1 DISCOVER, 3 REQUEST), at most SECONDS.
wait_for() {
  local mac=$1 type=$2 secs=$3 i
  for ((i = 0; i < secs * 2; i++)); do
    local at
    if at=$(python3 "$HERE/pcap.py" has "$PCAP" "$mac" "$type"); then
      echo "$mac: message type $type at +$(python3 -c "print(f'{$at - $QEMU_START:.1f}')") s from the start of the guests"
      return 0
    fi
    sleep 0.5
  done
  echo "capture.sh: no message type $type from $mac within ${secs}s" >&2
  return 1
}

extract() { # NAME MAC TYPE NOTE...
  local name=$1 mac=$2 type=$3
  shift 3
  python3 "$HERE/pcap.py" extract "$PCAP" "$mac" "$type" "$OUT/$name.hex" "$HOWTO" "$@"
  echo "wrote $OUT/$name.hex"
}

# --- QEMU guests (started first: they take longest under TCG) ------------------------------------
QEMU=(qemu-system-x86_64 -accel tcg -m 256 -nodefaults -nographic -no-reboot)
qemu_guest() { # TAG MAC EXTRA-DEVICE-OPTS [FIRMWARE ARGS...]
  local tag=$1 mac=$2 devopts=$3
  shift 3
  ip netns exec "$NS" "${QEMU[@]}" "$@" \
    -netdev "tap,id=n0,ifname=tap$tag,script=no,downscript=no" \
    -device "virtio-net-pci,netdev=n0,mac=$mac,bootindex=1$devopts" </dev/null >"$WORK/qemu-$tag.log" 2>&1 &
  PIDS+=($!)
  eval "QEMU_PID_$tag=$!"
}
QEMU_START=$(date +%s.%N)
cp "$OVMF_VARS" "$WORK/vars-e1.fd"
cp "$OVMF_VARS" "$WORK/vars-e2.fd"
uefi() { echo "-drive if=pflash,format=raw,readonly=on,file=$OVMF_CODE -drive if=pflash,format=raw,file=$WORK/vars-$1.fd"; }
qemu_guest b1 52:54:00:c0:00:b1 ''
# shellcheck disable=SC2046
qemu_guest e1 52:54:00:c0:00:e1 '' $(uefi e1)
# shellcheck disable=SC2046
qemu_guest e2 52:54:00:c0:00:e2 ',romfile=' $(uefi e2)

# --- udhcpc and dhclient -------------------------------------------------------------------------
ip -n "$CNS" link set vc0 address 02:00:00:c0:00:01 up
sleep 1
ip netns exec "$CNS" busybox udhcpc -i vc0 -f -q -n -t 3 -T 2 -s /bin/true >"$WORK/udhcpc.log" 2>&1 || true
wait_for 02:00:00:c0:00:01 3 5
ip -n "$CNS" link set vc0 down
ip -n "$CNS" link set vc0 address 02:00:00:c0:00:02 up
sleep 1
ip netns exec "$CNS" dhclient -4 -d -1 -cf /dev/null -sf /bin/true -lf "$WORK/dhclient.leases" -pf "$WORK/dhclient.pid" vc0 >"$WORK/dhclient.log" 2>&1 &
DHCLIENT=$!
PIDS+=($DHCLIENT)
wait_for 02:00:00:c0:00:02 3 30
kill "$DHCLIENT"

QEMU_VER="QEMU $(ver qemu-system-x86) -accel tcg -m 256"
ROM="ROM /usr/lib/ipxe/qemu/efi-virtio.rom from ipxe-qemu $(ver ipxe-qemu)"
for m in 52:54:00:c0:00:b1 52:54:00:c0:00:e1 52:54:00:c0:00:e2; do
  wait_for "$m" 1 240
  wait_for "$m" 3 240
  for ((i = 0; i < 120; i++)); do python3 "$HERE/pcap.py" has-tftp "$PCAP" "$m" && break; sleep 0.5; done
done
# shellcheck disable=SC2154
kill "$QEMU_PID_b1" "$QEMU_PID_e1" "$QEMU_PID_e2"

extract udhcpc-discover 02:00:00:c0:00:01 1 "client: busybox udhcpc $(ver busybox-static), default options"
extract udhcpc-request 02:00:00:c0:00:01 3 "client: busybox udhcpc $(ver busybox-static), after an OFFER from dnsmasq"
extract dhclient-discover 02:00:00:c0:00:02 1 "client: ISC dhclient $(ver isc-dhcp-client) -cf /dev/null"
extract dhclient-request 02:00:00:c0:00:02 3 "client: ISC dhclient $(ver isc-dhcp-client), after an OFFER from dnsmasq"
extract ipxe-bios-discover 52:54:00:c0:00:b1 1 "client: iPXE, SeaBIOS $(ver seabios), $ROM, $QEMU_VER"
extract ipxe-bios-request 52:54:00:c0:00:b1 3 "client: iPXE, SeaBIOS $(ver seabios), $ROM, $QEMU_VER, after an OFFER from dnsmasq"
extract ipxe-uefi-discover 52:54:00:c0:00:e1 1 "client: iPXE EFI driver, OVMF $(ver ovmf), $ROM, $QEMU_VER"
extract ipxe-uefi-request 52:54:00:c0:00:e1 3 "client: iPXE EFI driver, OVMF $(ver ovmf), $ROM, $QEMU_VER, after an OFFER from dnsmasq"
extract edk2-uefi-discover 52:54:00:c0:00:e2 1 "client: EDK2 native UEFI PXE, OVMF $(ver ovmf), romfile= (no option ROM), $QEMU_VER"
extract edk2-uefi-request 52:54:00:c0:00:e2 3 "client: EDK2 native UEFI PXE, OVMF $(ver ovmf), romfile=, $QEMU_VER, after an OFFER from dnsmasq"
TFTP_OUT="${2:-$HERE/../../tftp/captures}"
mkdir -p "$TFTP_OUT"
tftp_extract() { # NAME MAC NOTE...
  local name=$1 mac=$2
  shift 2
  python3 "$HERE/pcap.py" extract-tftp "$PCAP" "$mac" "$TFTP_OUT/$name.hex" "$HOWTO" "$@" && echo "wrote $TFTP_OUT/$name.hex"
}
tftp_extract ipxe-bios-rrq 52:54:00:c0:00:b1 "client: iPXE, SeaBIOS $(ver seabios), $ROM, $QEMU_VER, boot file 'boot.file' from dnsmasq"
tftp_extract ipxe-uefi-rrq 52:54:00:c0:00:e1 "client: iPXE EFI driver, OVMF $(ver ovmf), $ROM, $QEMU_VER, boot file 'boot.file' from dnsmasq"
tftp_extract edk2-uefi-rrq 52:54:00:c0:00:e2 "client: EDK2 native UEFI PXE, OVMF $(ver ovmf), romfile=, $QEMU_VER, boot file 'boot.file' from dnsmasq"
