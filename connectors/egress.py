"""Egress check for webhook URLs that creators supply: http(s) only, and every address the host resolves to must be
public (no private, loopback, link-local, multicast, reserved, unspecified, carrier-grade NAT or metadata address).

The check returns the addresses it approved; the connector connects to one of those (not to a fresh lookup), so a
name that changes its answer between the check and the connection cannot slip a private address in.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# What owners are told, whatever the reason: the details (which address, which kind) stay out of stored errors.
REFUSED_MESSAGE = "refused: the webhook address is not allowed"

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Cloud metadata services; most are already link-local, private or CGNAT, listed so that stays true by design.
_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "169.254.169.123", "100.100.100.200", "fd00:ec2::254")
)


class EgressRefused(Exception):
    """The URL may not be called. `reason` is for operators' logs; owners only see REFUSED_MESSAGE."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unresolved(Exception):
    """The host name did not resolve (now): nothing to check, and nothing to connect to."""


@dataclass(frozen=True)
class Target:
    url: httpx.URL
    addresses: tuple[IPAddress, ...]  # every address the host resolved to, all allowed

    def pinned(self) -> tuple[httpx.URL, dict[str, str], dict[str, str]]:
        """The URL rewritten to the first checked address, the Host header and the TLS name that keep the
        request addressed (and its certificate checked) as the original host."""
        host = self.url.raw_host.decode("ascii")
        headers = {"Host": self.url.netloc.decode("ascii").rsplit("@", 1)[-1]}
        extensions = {"sni_hostname": host} if self.url.scheme == "https" else {}
        return self.url.copy_with(host=str(self.addresses[0])), headers, extensions


def refusal(ip: IPAddress, *, allow_loopback: bool = False) -> str | None:
    """Why this address may not be called, or None when it may."""
    if isinstance(ip, ipaddress.IPv6Address):
        # Addresses that carry an IPv4 address are judged by it (mapped, NAT64, 6to4).
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return refusal(embedded, allow_loopback=allow_loopback)
    if ip.is_loopback:
        return None if allow_loopback else "loopback"
    if ip in _METADATA:
        return "cloud metadata"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "carrier-grade NAT"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "site-local"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private or not ip.is_global:
        return "private"
    return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address (IPv4 and IPv6) the system resolver gives for the host; numeric forms such as 2130706433,
    0x7f.1 or 017700000001 come back as the address they encode. The seam tests replace."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolved(host) from exc
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def parse(url: str) -> httpx.URL:
    """The URL as the HTTP client reads it (one parser for the check and the request): http(s) with a host."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise EgressRefused("not a valid URL") from exc
    if parsed.scheme not in ("http", "https"):
        raise EgressRefused("not http or https")
    if not parsed.raw_host:
        raise EgressRefused("no host")
    return parsed


async def check_url(url: str, *, allow_loopback: bool = False, timeout_s: float | None = None) -> Target:
    """Resolve the URL's host and refuse it unless every address is allowed. Raises EgressRefused, or Unresolved
    when the name does not resolve."""
    parsed = parse(url)
    host = parsed.raw_host.decode("ascii")
    name = host.rstrip(".").lower()
    # RFC 6761: *.localhost is loopback whatever a resolver says.
    if not allow_loopback and (name == "localhost" or name.endswith(".localhost")):
        raise EgressRefused("loopback")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        addresses = [ipaddress.ip_address(host)]  # an IPv6 literal, or dotted-decimal IPv4
    except ValueError:
        addresses = await asyncio.wait_for(resolve(host, port), timeout_s)
    if not addresses:
        raise Unresolved(host)
    for ip in addresses:
        reason = refusal(ip, allow_loopback=allow_loopback)
        if reason is not None:
            raise EgressRefused(f"{host} resolves to a {reason} address")
    return Target(parsed, tuple(dict.fromkeys(addresses)))
