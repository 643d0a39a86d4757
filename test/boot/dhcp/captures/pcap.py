#!/usr/bin/env python3
"""Reads the DHCP datagrams out of a classic pcap file (Ethernet, as tcpdump -w writes on a bridge).

  pcap.py has PCAP MAC TYPE            exit 0 when the client MAC sent a message of that type, and
                                       print when (epoch seconds, from the capture)
  pcap.py has-tftp PCAP MAC            exit 0 when the host with that Ethernet MAC sent a TFTP RRQ
  pcap.py extract-tftp PCAP MAC OUT [NOTE...]
                                       writes its first TFTP RRQ (to port 69) as a .hex fixture
  pcap.py extract PCAP MAC TYPE OUT [NOTE...]
                                       writes the first such datagram as a .hex fixture: '#' header
                                       lines (NOTE lines, then addressing and size), then the UDP
                                       payload in hex, 32 bytes a line
TYPE is the DHCP message type number (1 DISCOVER, 3 REQUEST). Part of the capture tooling, not of
npm test: see capture.sh.
"""
import struct
import sys

NAMES = {1: "DHCPDISCOVER", 2: "DHCPOFFER", 3: "DHCPREQUEST", 4: "DHCPDECLINE", 5: "DHCPACK", 6: "DHCPNAK", 7: "DHCPRELEASE", 8: "DHCPINFORM"}


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off = 24
    while off + 16 <= len(data):
        ts, tus, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        yield ts, tus, data[off:off + incl]
        off += incl


def dhcp(frame):
    """(src ip, src port, dst ip, dst port, payload) of an IPv4/UDP frame, else None."""
    if len(frame) < 14:
        return None
    eth_type = struct.unpack("!H", frame[12:14])[0]
    ipo = 14
    if eth_type == 0x8100:
        eth_type = struct.unpack("!H", frame[16:18])[0]
        ipo = 18
    if eth_type != 0x0800 or frame[ipo + 9] != 17:
        return None
    ihl = (frame[ipo] & 15) * 4
    src = ".".join(str(b) for b in frame[ipo + 12:ipo + 16])
    dst = ".".join(str(b) for b in frame[ipo + 16:ipo + 20])
    udp = ipo + ihl
    sport, dport, ulen = struct.unpack("!HHH", frame[udp:udp + 6])
    return src, sport, dst, dport, frame[udp + 8:udp + ulen]


def message_type(payload):
    if len(payload) < 240 or payload[236:240] != b"\x63\x82\x53\x63":
        return None
    i = 240
    while i < len(payload) and payload[i] != 255:
        if payload[i] == 0:
            i += 1
            continue
        if i + 1 >= len(payload):
            return None
        code, length = payload[i], payload[i + 1]
        if code == 53 and length == 1:
            return payload[i + 2]
        i += 2 + length
    return None


def find(path, mac, mtype):
    want = bytes(int(h, 16) for h in mac.split(":"))
    for ts, tus, frame in frames(path):
        d = dhcp(frame)
        if d is None:
            continue
        payload = d[4]
        if len(payload) >= 240 and payload[0] == 1 and payload[28:34] == want and message_type(payload) == mtype:
            return ts, tus, d
    return None


def find_tftp(path, mac):
    want = bytes(int(h, 16) for h in mac.split(":"))
    for ts, tus, frame in frames(path):
        if frame[6:12] != want:
            continue
        d = dhcp(frame)
        if d is not None and d[3] == 69 and d[4][:2] == b"\x00\x01":
            return ts, tus, d
    return None


def write_fixture(out, notes, what, hit):
    _ts, _tus, (src, sport, dst, dport, payload) = hit
    lines = [f"# {n}" for n in notes]
    lines.append(f"# {what} from {src}:{sport} to {dst}:{dport}, {len(payload)} bytes of UDP payload")
    hx = payload.hex()
    lines += [hx[i:i + 64] for i in range(0, len(hx), 64)]
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv):
    if len(argv) >= 3 and argv[0] == "has-tftp":
        return 0 if find_tftp(argv[1], argv[2]) else 1
    if len(argv) >= 4 and argv[0] == "extract-tftp":
        hit = find_tftp(argv[1], argv[2])
        if hit is None:
            print(f"no TFTP RRQ from {argv[2]} in {argv[1]}", file=sys.stderr)
            return 1
        write_fixture(argv[3], argv[4:], "TFTP RRQ", hit)
        return 0
    if len(argv) >= 4 and argv[0] == "has":
        hit = find(argv[1], argv[2], int(argv[3]))
        if hit is None:
            return 1
        print(f"{hit[0] + hit[1] / 1e6:.3f}")
        return 0
    if len(argv) >= 5 and argv[0] == "extract":
        hit = find(argv[1], argv[2], int(argv[3]))
        if hit is None:
            print(f"no {NAMES.get(int(argv[3]))} from {argv[2]} in {argv[1]}", file=sys.stderr)
            return 1
        write_fixture(argv[4], argv[5:], NAMES[int(argv[3])], hit)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
