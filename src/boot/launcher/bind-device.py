#!/usr/bin/env python3
"""Tabula's DHCP socket launcher (Python 3, standard library only).

Node's dgram cannot set SO_BINDTODEVICE, and a socket bound to a unicast address does not receive
broadcast DISCOVERs. This launcher creates the DHCP sockets the way a DHCP server needs them, bound
to 0.0.0.0:<port> with SO_REUSEADDR, SO_BROADCAST and SO_BINDTODEVICE=<interface>, then replaces
itself (execvpe) with the given command. The sockets are inherited and named in the environment:

    TABULA_DHCP_FDS=67:<fd>[,4011:<fd>]
    TABULA_DHCP_INTERFACE=<interface>

`tabula serve --dhcp-interface IFACE` runs itself through this file and adopts the descriptors with
dgram bind({ fd }). Replies then leave through IFACE only, broadcasts included, whatever the routing
table says, and nothing arriving on another interface reaches the server.

usage: bind-device.py --interface IFACE --port 67 [--port 4011] [--die-with-parent PID] -- CMD [ARG...]

Exit codes: 64 usage, 69 no such interface, 77 not permitted (needs root, or CAP_NET_RAW and
CAP_NET_BIND_SERVICE), 71 any other socket error, 127 command not found.
"""
import ctypes
import errno
import os
import signal
import socket
import sys

EX_USAGE, EX_UNAVAILABLE, EX_OSERR, EX_NOPERM, EX_NOTFOUND = 64, 69, 71, 77, 127
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
SO_RCVBUFFORCE = 33  # Linux: SO_RCVBUF past net.core.rmem_max (needs CAP_NET_ADMIN, which root has)
# A rack powering on sends its DISCOVERs within a second: the default ~200 KiB buffer dropped dozens
# of them in the storm benchmark, each costing its blade a 4-5 s resend.
RECEIVE_BUFFER = 4 << 20
PR_SET_PDEATHSIG = 1


def fail(code, message):
    sys.stderr.write("tabula bind-device: %s\n" % message)
    sys.exit(code)


def parse(argv):
    iface, ports, parent, i = None, [], None, 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return iface, ports, parent, argv[i + 1:]
        if a in ("--interface", "--port", "--die-with-parent") and i + 1 < len(argv):
            v = argv[i + 1]
            if a == "--interface":
                iface = v
            else:
                if not v.isdigit() or not 0 < int(v) < 65536:
                    fail(EX_USAGE, "%s wants a number, got %r" % (a, v))
                if a == "--port":
                    ports.append(int(v))
                else:
                    parent = int(v)
            i += 2
            continue
        fail(EX_USAGE, "unexpected argument %r (usage: --interface IFACE --port N [--port N] -- CMD...)" % a)
    fail(EX_USAGE, "missing '-- CMD' (the command to run with the sockets)")


def open_socket(iface, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, iface.encode() + b"\0")
        try:
            s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER)
        except OSError:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)  # capped at rmem_max
        s.bind(("0.0.0.0", port))
    except OSError as e:
        s.close()
        if e.errno in (errno.EPERM, errno.EACCES):
            fail(EX_NOPERM, "cannot bind UDP port %d on %s: %s; run as root or with CAP_NET_RAW and CAP_NET_BIND_SERVICE" % (port, iface, e.strerror))
        if e.errno == errno.ENODEV:
            fail(EX_UNAVAILABLE, "no network interface %r" % iface)
        if e.errno == errno.EADDRINUSE:
            fail(EX_OSERR, "UDP port %d on %s is in use (another DHCP server?)" % (port, iface))
        fail(EX_OSERR, "cannot bind UDP port %d on %s: %s" % (port, iface, e.strerror))
    s.set_inheritable(True)
    return s


def main():
    iface, ports, parent, command = parse(sys.argv[1:])
    if not iface or len(iface.encode()) >= 16 or "/" in iface or "\0" in iface:
        fail(EX_USAGE, "--interface wants an interface name (1-15 bytes), got %r" % iface)
    if not ports:
        fail(EX_USAGE, "at least one --port is needed")
    if not command:
        fail(EX_USAGE, "no command after '--'")
    try:
        socket.if_nametoindex(iface)
    except OSError:
        fail(EX_UNAVAILABLE, "no network interface %r" % iface)

    if parent is not None:
        # Die with the process that launched us (it waits for us and forwards signals): a kill -9 of
        # that parent must not leave a DHCP server running. The setting survives execve.
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            fail(EX_OSERR, "prctl(PR_SET_PDEATHSIG) failed: %s" % os.strerror(ctypes.get_errno()))
        if os.getppid() != parent:
            fail(EX_OSERR, "the launching process %d is gone" % parent)

    sockets = [(port, open_socket(iface, port)) for port in ports]
    env = dict(os.environ)
    env["TABULA_DHCP_FDS"] = ",".join("%d:%d" % (port, s.fileno()) for port, s in sockets)
    env["TABULA_DHCP_INTERFACE"] = iface
    try:
        os.execvpe(command[0], command, env)
    except OSError as e:
        fail(EX_NOTFOUND if e.errno == errno.ENOENT else EX_OSERR, "cannot run %r: %s" % (command[0], e.strerror))


if __name__ == "__main__":
    main()
