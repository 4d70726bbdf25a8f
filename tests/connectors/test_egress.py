"""The egress check for creators' webhook URLs: which addresses are refused, numeric host forms, resolution."""

from __future__ import annotations

import ipaddress

import pytest

from connectors import egress
from connectors.egress import EgressRefused, check_url, refusal

REFUSED = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "::1": "loopback",
    "::ffff:127.0.0.1": "loopback",  # IPv4-mapped
    "2002:7f00:1::": "loopback",  # 6to4 around 127.0.0.1
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "192.168.1.10": "private",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "169.254.169.254": "cloud metadata",
    "fd00:ec2::254": "cloud metadata",
    "64:ff9b::a9fe:a9fe": "cloud metadata",  # NAT64 around 169.254.169.254
    "169.254.1.1": "link-local",
    "fe80::1": "link-local",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "100.64.0.1": "carrier-grade NAT",
    "100.127.255.254": "carrier-grade NAT",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "240.0.0.1": "reserved",
    "192.0.2.1": "private",  # documentation range
    "fec0::1": "site-local",
}
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.216.34"]


@pytest.mark.parametrize(("address", "kind"), sorted(REFUSED.items()))
def test_non_public_addresses_are_refused(address: str, kind: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_the_development_setting_lets_loopback_through_and_nothing_else() -> None:
    for address, kind in REFUSED.items():
        allowed = refusal(ipaddress.ip_address(address), allow_loopback=True) is None
        assert allowed == (kind == "loopback"), address


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",  # 127.0.0.1 as one integer
        "http://0x7f.1/",  # hex and short form
        "http://0x7f000001/",
        "http://017700000001:8233/",  # octal, the Temporal UI's port
        "http://127.1/",
        "http://0/",
        "http://[::1]/",
        "http://[::ffff:7f00:1]/",
        "http://[0:0:0:0:0:ffff:127.0.0.1]/",
        "http://2852039166/latest/meta-data/",  # 169.254.169.254
        "http://0xa9fea9fe/",
        "http://localhost:8233/",
        "http://LOCALHOST./",
        "http://api.localhost/",
    ],
)
async def test_numeric_and_special_host_forms_are_refused(url: str) -> None:
    # Numeric forms are decoded by the resolver itself (no DNS query): what the connection would reach.
    with pytest.raises(EgressRefused):
        await check_url(url)


@pytest.mark.parametrize(
    "url", ["ftp://93.184.216.34/", "file:///etc/passwd", "gopher://x/", "http://", "nope"]
)
async def test_only_http_and_https_urls_with_a_host(url: str) -> None:
    with pytest.raises(EgressRefused):
        await check_url(url)


async def test_a_name_is_refused_when_any_of_its_addresses_is_not_public(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = {
        "hooks.public.test": ["93.184.216.34", "2606:4700:4700::1111"],
        "hooks.mixed.test": ["93.184.216.34", "10.0.0.7"],
        "hooks.v6.test": ["2606:4700:4700::1111", "fe80::1"],
    }

    async def resolve(host: str, port: int) -> list[egress.IPAddress]:
        return [ipaddress.ip_address(a) for a in answers[host]]

    monkeypatch.setattr(egress, "resolve", resolve)
    target = await check_url("https://hooks.public.test/of")
    assert [str(a) for a in target.addresses] == answers["hooks.public.test"]
    url, headers, extensions = target.pinned()
    assert str(url) == "https://93.184.216.34/of"
    assert headers == {"Host": "hooks.public.test"} and extensions == {"sni_hostname": "hooks.public.test"}
    for host in ("hooks.mixed.test", "hooks.v6.test"):
        with pytest.raises(EgressRefused):
            await check_url(f"https://{host}/of")
