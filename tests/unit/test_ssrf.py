"""The webhook URL rules, with a fake resolver: nothing here connects anywhere or asks real DNS."""

import contextlib

import pytest

from roomsnap.ssrf import ForbiddenUrl, check_url


class FakeResolver:
    """DNS as the test says it is; counts lookups, and can answer differently the second time."""

    def __init__(self, answers: dict[str, list[list[str]]]):
        self.answers = {host: list(replies) for host, replies in answers.items()}
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        replies = self.answers.get(host)
        if not replies:
            raise OSError("Name or service not known")
        return replies.pop(0) if len(replies) > 1 else replies[0]


DNS = {
    "hooks.example.com": [["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]],
    "xn--bcher-kva.example": [["93.184.216.34"]],
    "private.example": [["10.1.2.3"]],
    "metadata.example": [["169.254.169.254"]],
    "half-private.example": [["93.184.216.34", "192.168.0.10"]],
    "sixtofour.example": [["2002:a9fe:a9fe::1"]],
    "nat64.example": [["64:ff9b::a9fe:a9fe"]],
    "nat64-local.example": [["64:ff9b:1::a9fe:a9fe"]],
    "teredo.example": [["2001:0:4136:e378:8000:63bf:3fff:fdd2"]],
    "mapped.example": [["::ffff:127.0.0.1"]],
    "ula.example": [["fd00:ec2::254"]],
    "empty.example": [[]],
}

ALLOWED = [
    ("https://hooks.example.com/webhooks", "hooks.example.com", 443, "/webhooks", "93.184.216.34"),
    ("HTTPS://HOOKS.EXAMPLE.COM/In?x=1", "hooks.example.com", 443, "/In?x=1", "93.184.216.34"),
    ("https://hooks.example.com.:8443", "hooks.example.com", 8443, "/", "93.184.216.34"),
    ("https://bücher.example/", "xn--bcher-kva.example", 443, "/", "93.184.216.34"),
    ("https://8.8.8.8/hook", "8.8.8.8", 443, "/hook", "8.8.8.8"),
    ("https://[2606:4700::1111]/", "2606:4700::1111", 443, "/", "2606:4700::1111"),
]


@pytest.mark.parametrize(("url", "host", "port", "path", "address"), ALLOWED)
def test_public_https_urls_are_allowed_and_pinned_to_the_checked_address(url, host, port, path, address):
    target = check_url(url, FakeResolver(DNS))
    assert (target.scheme, target.host, target.port, target.path, target.address) == (
        "https",
        host,
        port,
        path,
        address,
    )


FORBIDDEN = [
    # schemes, in any letter case (CVE-2026-40280)
    ("http://hooks.example.com/", "only https"),
    ("HtTp://hooks.example.com/", "only https"),
    ("ftp://hooks.example.com/", "only https"),
    ("file:///etc/passwd", "only https"),
    ("gopher://hooks.example.com:70/", "only https"),
    ("hooks.example.com/webhooks", "only https"),
    # user info
    ("https://user:secret@hooks.example.com/", "user info"),
    ("https://hooks.example.com@127.0.0.1/", "user info"),
    # loopback, unspecified, private, link-local, metadata
    ("https://127.0.0.1/", "loopback"),
    ("https://127.8.9.10:8443/", "loopback"),
    ("https://[::1]/", "loopback"),
    ("https://0.0.0.0/", "unspecified"),
    ("https://[::]/", "unspecified"),
    ("https://0.1.2.3/", "'this network'"),
    ("https://10.0.0.5/", "private"),
    ("https://172.16.0.1/", "private"),
    ("https://172.31.255.255/", "private"),
    ("https://192.168.1.1/", "private"),
    ("https://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("https://169.254.1.1/", "link-local"),
    ("https://[fe80::1]/", "link-local"),
    ("https://[fd00:ec2::254]/", "unique local"),
    ("https://[fec0::1]/", "site-local"),
    # CGNAT, multicast, reserved, broadcast, documentation, benchmarking, protocol assignments
    ("https://100.64.0.1/", "carrier-grade NAT"),
    ("https://100.127.255.254/", "carrier-grade NAT"),
    ("https://224.0.0.1/", "multicast"),
    ("https://239.255.255.250/", "multicast"),
    ("https://[ff02::1]/", "multicast"),
    ("https://240.0.0.1/", "reserved"),
    ("https://255.255.255.255/", "broadcast"),
    ("https://192.0.2.10/", "documentation"),
    ("https://198.51.100.7/", "documentation"),
    ("https://203.0.113.9/", "documentation"),
    ("https://[2001:db8::1]/", "documentation"),
    ("https://[3fff::1]/", "documentation"),
    ("https://198.18.0.1/", "benchmarking"),
    ("https://192.0.0.8/", "IETF protocol"),
    ("https://192.88.99.1/", "6to4 relay"),
    ("https://[100::1]/", "discard-only"),
    # IPv4 inside IPv6 (CVE-2026-42596, GHSA-86m8-88fq-xfxp)
    ("https://[::ffff:127.0.0.1]/", "loopback address (127.0.0.1) inside an IPv6"),
    ("https://[::ffff:7f00:1]/", "loopback address (127.0.0.1) inside an IPv6"),
    ("https://[0:0:0:0:0:ffff:a9fe:a9fe]/", "cloud metadata service (169.254.169.254) inside"),
    ("https://[::127.0.0.1]/", "loopback address (127.0.0.1) inside an IPv6"),
    ("https://[::10.0.0.1]/", "private address (10.0.0.1) inside an IPv6"),
    ("https://[2002:7f00:1::]/", "loopback address (127.0.0.1) inside an IPv6"),
    ("https://[2002:a9fe:a9fe::1]/", "cloud metadata service (169.254.169.254) inside"),
    ("https://[64:ff9b::127.0.0.1]/", "loopback address (127.0.0.1) inside an IPv6"),
    ("https://[64:ff9b::a9fe:a9fe]/", "cloud metadata service (169.254.169.254) inside"),
    ("https://[64:ff9b:1::a00:1]/", "local-use NAT64"),
    ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "Teredo"),
    # IPv4 in other spellings than four decimal numbers
    ("https://2130706433/", "means 127.0.0.1"),
    ("https://0x7f.1/", "means 127.0.0.1"),
    ("https://0X7F000001/", "means 127.0.0.1"),
    ("https://017700000001/", "means 127.0.0.1"),
    ("https://0177.0.0.1/", "means 127.0.0.1"),
    ("https://127.1/", "means 127.0.0.1"),
    ("https://127.000.000.001/", "means 127.0.0.1"),
    ("https://0xa9.0xfe.0xa9.0xfe/", "means 169.254.169.254"),
    ("https://１２７.０.０.１/", "loopback"),  # full-width digits and dots fold into 127.0.0.1
    ("https://1.2.3.4.5/", "neither a host name nor an IPv4 address"),
    # names
    ("https://localhost/", "loopback name"),
    ("https://LOCALHOST./", "loopback name"),
    ("https://app.localhost/", "loopback name"),
    ("https://private.example/", "resolves to 10.1.2.3, which is a private address"),
    ("https://metadata.example/", "resolves to 169.254.169.254, which is the cloud metadata service"),
    ("https://half-private.example/", "resolves to 192.168.0.10"),  # every address must be public
    ("https://sixtofour.example/", "inside an IPv6 address"),
    ("https://nat64.example/", "inside an IPv6 address"),
    ("https://nat64-local.example/", "local-use NAT64"),
    ("https://teredo.example/", "Teredo"),
    ("https://mapped.example/", "loopback address (127.0.0.1) inside"),
    ("https://ula.example/", "unique local"),
    ("https://nowhere.example/", "does not resolve"),
    ("https://empty.example/", "does not resolve"),
    # malformed
    ("https:///webhooks", "no host"),
    ("https://hooks.example.com:0/", "port 0"),
    ("https://hooks.example.com:99999/", "cannot be parsed"),
    ("https://[fe80::1%25eth0]/", "zone identifiers"),
    ("https://[::1/", "cannot be parsed"),
    ("https://hooks.example.com/a b", "spaces"),
    ("https://hooks.example.com\\@127.0.0.1/", "backslashes"),
    ("https://hooks.example.com/\n", "control characters"),
    ("https://hooks.example.com/" + "a" * 2048, "longer than"),
]


@pytest.mark.parametrize(("url", "reason"), FORBIDDEN)
def test_forbidden_urls_are_refused_with_a_reason(url, reason):
    with pytest.raises(ForbiddenUrl) as refused:
        check_url(url, FakeResolver(DNS))
    assert reason in str(refused.value)


def test_the_rule_table_is_large():
    assert len(FORBIDDEN) + len(ALLOWED) >= 30


def test_the_host_is_resolved_once_so_a_rebinding_answer_is_never_used():
    # Given DNS that answers a public address first and a loopback one afterwards
    resolver = FakeResolver({"rebind.example": [["93.184.216.34"], ["127.0.0.1"]]})
    # When the URL is checked
    target = check_url("https://rebind.example/hook", resolver)
    # Then DNS was asked once, and the connection goes to the address that was checked
    assert resolver.lookups == ["rebind.example"]
    assert target.address == "93.184.216.34"
    assert target.host_header == "rebind.example"


def test_ip_literals_and_localhost_names_are_never_looked_up():
    resolver = FakeResolver(DNS)
    for url in ("https://8.8.8.8/", "https://localhost/", "https://[::1]/"):
        with contextlib.suppress(ForbiddenUrl):
            check_url(url, resolver)
    assert resolver.lookups == []


@pytest.mark.parametrize(
    ("url", "header"),
    [
        ("https://hooks.example.com/", "hooks.example.com"),
        ("https://hooks.example.com:8443/", "hooks.example.com:8443"),
        ("https://[2606:4700::1111]:8443/", "[2606:4700::1111]:8443"),
    ],
)
def test_the_host_header_names_the_host_and_any_port_other_than_the_default(url, header):
    assert check_url(url, FakeResolver(DNS)).host_header == header


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1"),
        ("http://localhost:8080/hook", "127.0.0.1"),
        ("HTTP://LocalHost:8080/", "127.0.0.1"),
        ("https://127.0.0.2:8443/", "127.0.0.2"),
    ],
)
def test_the_local_stack_allows_loopback_receivers(url, address):
    resolver = FakeResolver(DNS)
    assert check_url(url, resolver, loopback_only=True).address == address
    assert resolver.lookups == []


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/",  # not even public receivers: nothing local leaves the machine
        "https://8.8.8.8/",
        "http://10.0.0.1:8080/",
        "http://[::1]:8080/",
        "http://2130706433:8080/",
        "ftp://127.0.0.1:21/",
    ],
)
def test_the_local_stack_allows_nothing_but_loopback_and_asks_no_dns(url):
    resolver = FakeResolver(DNS)
    with pytest.raises(ForbiddenUrl):
        check_url(url, resolver, loopback_only=True)
    assert resolver.lookups == []
