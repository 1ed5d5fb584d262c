"""Where webhooks may be delivered: the public internet only.

A multi-tenant service that posts to URLs its tenants give would otherwise
reach what only it can reach (a server-side request forgery): its own
loopback, the private network it runs in, a cloud's metadata service at
169.254.169.254. An address is allowed when it is globally routable
(`ipaddress`'s `is_global`: not loopback, private, link-local, shared,
reserved, unspecified or multicast), IPv4 inside IPv6 judged as the IPv4 it
is. A URL is checked when it is registered, and again at each delivery after
its name is resolved; the delivery then connects to the address it checked
(the name kept for the Host header and TLS), so a name that resolves to
something else the next moment (DNS rebinding) does not slip through.

For development and tests, TRIBE_WEBHOOKS_ALLOW_PRIVATE=1 allows every
address.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from urllib.parse import urlsplit

ALLOW_PRIVATE = "TRIBE_WEBHOOKS_ALLOW_PRIVATE"


class ForbiddenTarget(ValueError):
    """A URL whose host is, or resolves to, an address webhooks may not reach."""


class UnresolvedHost(ForbiddenTarget):
    """A URL whose host does not resolve (now): nothing to deliver to."""


def private_allowed() -> bool:
    return os.environ.get(ALLOW_PRIVATE) == "1"


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])  # an IPv6 zone ("%eth0") names no other address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_registered(url: str) -> None:
    """At registration: ForbiddenTarget when the host is, or now resolves to,
    an address webhooks may not reach. A name that does not resolve yet is
    let in: each delivery resolves and checks it again."""
    try:
        await resolve(url)
    except UnresolvedHost:
        pass


async def resolve(url: str) -> str:
    """The address `url`'s host resolves to (the first of them), checked:
    ForbiddenTarget if any of its addresses may not be reached, or the name
    does not resolve."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise ForbiddenTarget("the URL has no host")
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnresolvedHost(f"{host} does not resolve") from None
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not private_allowed():
        for address in addresses:
            if not _public(address):
                raise ForbiddenTarget(f"{host} is {address}: loopback, private, link-local and metadata addresses "
                                      f"are not webhook targets ({ALLOW_PRIVATE}=1 allows them for development)")
    return addresses[0]
