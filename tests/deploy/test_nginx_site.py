"""deploy/nginx.conf: TLS in front of cti, WebSocket upgrades passed on, the client named in
X-Forwarded-For from an address the sample config trusts; ``nginx -t`` accepts it when an
nginx binary is there (``CTI_NGINX`` or ``nginx`` on the PATH)."""

from __future__ import annotations

import ipaddress
import re
import subprocess
from pathlib import Path

import pytest

from cti.config import load_settings
from tests.deploy.helpers import DEPLOY
from tests.needs import tool_path

SITE = DEPLOY / "nginx.conf"
NGINX = tool_path("nginx")
OPENSSL = tool_path("openssl")


def _directives(name: str) -> list[str]:
    pattern = rf"^[ \t]*{re.escape(name)}[ \t]+([^;{{}}\n]*);"
    return re.findall(pattern, SITE.read_text(encoding="utf-8"), re.MULTILINE)


def test_it_forwards_to_the_address_cti_listens_on_and_cti_trusts_it() -> None:
    settings = load_settings(DEPLOY / "cti.toml", environ={})
    assert _directives("server") == [f"{settings.http.host}:{settings.http.port}"]
    assert _directives("proxy_pass") == ["http://cti"]
    # nginx connects from the loopback it forwards to: cti must believe its X-Forwarded-For
    peer = ipaddress.ip_address(settings.http.host)
    trusted = [ipaddress.ip_network(n, strict=False) for n in settings.http.trusted_proxies]
    assert any(peer in net for net in trusted)


def test_it_passes_websocket_upgrades_and_the_client_address() -> None:
    headers = dict(h.split(None, 1) for h in _directives("proxy_set_header"))
    assert headers["Upgrade"] == "$http_upgrade"
    assert headers["Connection"] == "$cti_connection"
    assert headers["X-Forwarded-For"] == "$remote_addr"
    assert _directives("proxy_http_version") == ["1.1"]
    assert any("443 ssl" in listen for listen in _directives("listen"))


@pytest.mark.tools("nginx", "openssl")
def test_nginx_accepts_it(tmp_path: Path) -> None:
    assert NGINX is not None and OPENSSL is not None
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=cti.example.com", "-keyout", str(key), "-out", str(cert)),
        ],
        capture_output=True,
        check=True,
    )
    site = SITE.read_text(encoding="utf-8")
    site = site.replace("/etc/letsencrypt/live/cti.example.com/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/cti.example.com/privkey.pem", str(key))
    (tmp_path / "cti.conf").write_text(site, encoding="utf-8")
    temp = tmp_path / "temp"
    paths = "".join(
        f"  {kind}_temp_path {temp};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n  access_log off;\n{paths}  include {tmp_path}/cti.conf;\n}}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [NGINX, "-t", "-c", str(main), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
