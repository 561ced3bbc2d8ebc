"""Which webhook URLs the service may call, and the one address it then connects to.

A receiver's URL is checked when it is registered and again before every attempt: `https` only, no
user info, the host resolved once and every address it resolves to public. The check returns the
address it approved, and the delivery connects to that address (sending the name as Host header and
TLS SNI), so a DNS answer that changes between the check and the connection (rebinding) cannot
redirect a delivery. Known bypasses of such filters are refused explicitly: upper-case schemes,
IPv4 written in decimal, octal or hex (`2130706433`, `0x7f.1`, `017700000001`), IPv4 inside IPv6
(mapped, compatible, 6to4, NAT64, Teredo), and names that the resolver itself treats as local.

Only the local stack may allow loopback receivers (`loopback_only`, a setting template.yaml never
sets); it then allows nothing else, so nothing run locally can send traffic off the machine.
"""

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# Checked in order, so the more specific reason wins (the metadata address before link-local).
_IPV4_RULES = [
    ("0.0.0.0/32", "the unspecified address"),
    ("0.0.0.0/8", "a 'this network' address"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a carrier-grade NAT (shared) address"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.169.254/32", "the cloud metadata service"),
    ("169.254.0.0/16", "a link-local address"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "an IETF protocol assignment"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.88.99.0/24", "a 6to4 relay anycast address"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("224.0.0.0/4", "a multicast address"),
    ("255.255.255.255/32", "the broadcast address"),
    ("240.0.0.0/4", "a reserved address"),
]
_IPV6_RULES = [
    ("::/128", "the unspecified address"),
    ("::1/128", "a loopback address"),
    ("64:ff9b:1::/48", "a local-use NAT64 address"),
    ("2001::/32", "a Teredo tunnel address"),
    ("100::/64", "a discard-only address"),
    ("2001:db8::/32", "a documentation address"),
    ("3fff::/20", "a documentation address"),
    ("2001::/23", "an IETF protocol assignment"),
    ("fc00::/7", "a unique local (private) address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
]
IPV4_RULES = [(ipaddress.IPv4Network(network), reason) for network, reason in _IPV4_RULES]
IPV6_RULES = [(ipaddress.IPv6Network(network), reason) for network, reason in _IPV6_RULES]
# IPv6 forms that carry an IPv4 address, which is the one that must be public.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")


class ForbiddenUrl(ValueError):
    """The URL may not receive webhooks; the message says why, for the person who registered it."""


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to `address`, and send `host` as Host header and TLS server name."""

    scheme: str
    host: str
    port: int
    path: str
    address: str

    @property
    def host_header(self) -> str:
        default = {"https": 443, "http": 80}[self.scheme]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the host resolves to, in the resolver's order (one DNS lookup)."""
    answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(answer[4][0]).split("%")[0] for answer in answers))


def check_url(url: str, resolve: Resolver = system_resolver, loopback_only: bool = False) -> Target:
    """The target to connect to, or ForbiddenUrl saying why the URL may not be called."""
    if len(url) > MAX_URL_LENGTH:
        raise ForbiddenUrl(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(character <= " " or character in "\\\x7f" for character in url):
        raise ForbiddenUrl("the URL contains spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ForbiddenUrl(f"the URL cannot be parsed ({error})") from None
    if port == 0:
        raise ForbiddenUrl("port 0 cannot receive webhooks")
    scheme = parts.scheme.lower()
    if scheme != "https" and not (loopback_only and scheme == "http"):
        raise ForbiddenUrl("only https URLs can receive webhooks")
    if "@" in parts.netloc:
        raise ForbiddenUrl("URLs with user info (user:password@) are not allowed")
    host = _normalized_host(parts.hostname or "")
    port = port or (443 if scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    address = _checked_address(host, port, resolve, loopback_only)
    return Target(scheme=scheme, host=host, port=port, path=path, address=str(address))


def non_public_reason(address: IPAddress) -> str | None:
    """Why the address is not a public one (None when it is), looking inside IPv6 forms that carry
    an IPv4 address: IPv4-mapped, IPv4-compatible, 6to4 and NAT64."""
    if isinstance(address, ipaddress.IPv4Address):
        rules: list = IPV4_RULES
    else:
        rules = IPV6_RULES
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = non_public_reason(embedded)
            return f"{reason} ({embedded}) inside an IPv6 address" if reason else None
    for network, reason in rules:
        if address in network:
            return reason
    return None if address.is_global else "not a public address"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address in _NAT64 or (address in _COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _normalized_host(hostname: str) -> str:
    """The host in the form DNS and TLS see it: IDNA (which also folds full-width digits and dots
    into ASCII ones), lower case, without a trailing dot."""
    if not hostname:
        raise ForbiddenUrl("the URL has no host")
    if ":" in hostname:  # an IPv6 literal, from inside the brackets
        return hostname
    try:
        return hostname.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ForbiddenUrl(f"{hostname!r} is not a valid host name") from None


def _checked_address(host: str, port: int, resolve: Resolver, loopback_only: bool) -> IPAddress:
    literal = _ip_literal(host)
    if loopback_only:
        if host == "localhost":
            return ipaddress.IPv4Address("127.0.0.1")
        if literal is None or literal not in LOOPBACK:
            raise ForbiddenUrl("the local stack delivers webhooks only to 127.0.0.1 or localhost")
        return literal
    if literal is not None:
        addresses = [literal]
    elif host == "localhost" or host.endswith(".localhost"):
        raise ForbiddenUrl(f"{host} is a loopback name")
    else:
        addresses = _resolved(host, port, resolve)
    for address in addresses:
        reason = non_public_reason(address)
        if reason:
            where = "is" if literal is not None else f"resolves to {address}, which is"
            raise ForbiddenUrl(f"{host} {where} {reason}")
    return addresses[0]


def _ip_literal(host: str) -> IPAddress | None:
    """The address a host written as an IP address stands for; None for a name. IPv4 must be
    written as four decimal numbers: other spellings that resolvers accept are refused."""
    if ":" in host:
        if "%" in host:
            raise ForbiddenUrl("IPv6 zone identifiers are not allowed")
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise ForbiddenUrl(f"{host} is not a valid IPv6 address") from None
    last_label = host.rsplit(".", 1)[-1]
    if not (last_label.isdigit() or last_label.startswith("0x")):
        return None  # names never end in a number (the URL standard's rule for IPv4 hosts)
    try:
        return ipaddress.IPv4Address(host)
    except ValueError:
        pass
    try:
        spelled = ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        raise ForbiddenUrl(f"{host} is neither a host name nor an IPv4 address") from None
    raise ForbiddenUrl(f"write IPv4 addresses as four decimal numbers: {host} means {spelled}")


def _resolved(host: str, port: int, resolve: Resolver) -> list[IPAddress]:
    try:
        answers = resolve(host, port)
        addresses = [ipaddress.ip_address(answer) for answer in answers]
    except (OSError, UnicodeError, ValueError):
        raise ForbiddenUrl(f"{host} does not resolve") from None
    if not addresses:
        raise ForbiddenUrl(f"{host} does not resolve")
    return addresses
