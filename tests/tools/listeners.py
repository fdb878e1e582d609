"""Which addresses a process tree listens on, read from /proc.

A socket shows in /proc/<pid>/fd as `socket:[inode]`; /proc/net/tcp, tcp6, udp
and udp6 list every socket of the network namespace with its inode, local
address (hex, in the kernel's byte order) and state (0A is TCP LISTEN).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

TCP_LISTEN = "0A"
UDP_UNCONNECTED = "07"


@dataclass(frozen=True)
class Listener:
    """A listening TCP socket or a bound, unconnected UDP socket."""

    pid: int
    protocol: str
    address: str
    port: int

    @property
    def is_loopback(self) -> bool:
        """Bound to 127.0.0.0/8 or ::1 (or the IPv4-mapped loopback)."""
        address = ipaddress.ip_address(self.address)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped

        return address.is_loopback


def descendants(root_pid: int) -> list[int]:
    """`root_pid` and every process below it (from /proc/<pid>/stat's ppid)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))

    found, pending = [], [root_pid]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))

    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    except OSError:
        pass

    return inodes


def _decode_address(hex_address: str) -> tuple[str, int]:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        address = socket.inet_ntop(socket.AF_INET, raw[::-1])
    else:
        # Four 32-bit words, each in host (little-endian) order.
        words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
        address = socket.inet_ntop(socket.AF_INET6, words)

    return address, int(port, 16)


def listeners(root_pid: int) -> list[Listener]:
    """Every listener of `root_pid` and its descendants."""
    owners = {
        inode: pid for pid in descendants(root_pid) for inode in _socket_inodes(pid)
    }
    found = []
    for protocol, state in (
        ("tcp", TCP_LISTEN),
        ("tcp6", TCP_LISTEN),
        ("udp", UDP_UNCONNECTED),
        ("udp6", UDP_UNCONNECTED),
    ):
        lines = Path(f"/proc/net/{protocol}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, socket_state, inode = fields[1], fields[3], fields[9]
            if socket_state != state or inode not in owners:
                continue
            address, port = _decode_address(local)
            found.append(Listener(owners[inode], protocol, address, port))

    return found
