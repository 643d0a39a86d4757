#!/usr/bin/env python3
"""The switch side of a tagged VLAN, for the boot-image tests (test/image/).

The lab's kernel has no 8021q, so the test namespace cannot terminate VLAN 100 itself. This joins two
tap devices that the test created (persistent, inside its namespace): TRUNK is a port of the lab bridge
and carries 802.1Q frames; ACCESS holds the server's address on the VLAN. Frames tagged VID on TRUNK
leave ACCESS untagged, frames from ACCESS enter TRUNK tagged VID; everything else is dropped, as on a
switch port where only that VLAN is allowed.

    ip netns exec NS python3 vlan-tagger.py TRUNK ACCESS VID
"""
import fcntl
import os
import select
import signal
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


def open_tap(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def main() -> None:
    trunk_name, access_name, vid_text = sys.argv[1:4]
    vid = int(vid_text)
    trunk, access = open_tap(trunk_name), open_tap(access_name)
    tag = struct.pack("!HH", 0x8100, vid & 0x0FFF)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"tagging VLAN {vid}: {trunk_name} <-> {access_name}", flush=True)
    counts = {"in": 0, "out": 0}
    while True:
        ready, _, _ = select.select([trunk, access], [], [])
        for fd in ready:
            frame = os.read(fd, 65536)
            if len(frame) < 14:
                continue
            if fd == trunk:
                if frame[12:14] == b"\x81\x00" and (struct.unpack("!H", frame[14:16])[0] & 0x0FFF) == vid:
                    os.write(access, frame[:12] + frame[16:])
                    counts["in"] += 1
            else:
                os.write(trunk, frame[:12] + tag + frame[12:])
                counts["out"] += 1


if __name__ == "__main__":
    main()
