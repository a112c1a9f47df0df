"""Where the worker agent dials: one server, or every replica (``--server a:1,b:2``).

gRPC takes several addresses as one ``ipv4:`` (or ``ipv6:``) target; its default
``pick_first`` policy uses the first address that answers and, when that connection
fails, tries them again in order, so a worker keeps reaching a live replica after one
dies. Host names in a list are resolved here, once, when the agent starts.
"""

from __future__ import annotations

import socket


def dial_target(server: str) -> str:
    """The gRPC target for ``server``: unchanged when it is one address."""
    parts = [p.strip() for p in server.split(",") if p.strip()]
    if len(parts) <= 1:
        return server
    v4: list[str] = []
    v6: list[str] = []
    for part in parts:
        host, sep, port = part.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"{part!r} is not host:port")
        for family, _, _, _, sockaddr in socket.getaddrinfo(
            host.strip("[]"), int(port), type=socket.SOCK_STREAM
        ):
            ip, at = str(sockaddr[0]), int(sockaddr[1])
            if family == socket.AF_INET and f"{ip}:{at}" not in v4:
                v4.append(f"{ip}:{at}")
            elif family == socket.AF_INET6 and f"[{ip}]:{at}" not in v6:
                v6.append(f"[{ip}]:{at}")
    if v4:
        return "ipv4:" + ",".join(v4)
    return "ipv6:" + ",".join(v6)
