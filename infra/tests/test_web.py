"""Static hosting as the emulator serves a built web app: types, cache headers, the SPA fallback, config.json,
and the paths the distribution sends to the HTTP API left to it."""

import json
from pathlib import Path

import pytest

from template_emulator.front import Request
from template_emulator.template import Template
from template_emulator.web import StaticSite, api_path_patterns, security_headers

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def web(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>app</title>")
    (tmp_path / "assets" / "index-abc123.js").write_text("export {}")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path.parent / "secret.txt").write_text("not served")
    template = Template(FIXTURES / "template.yaml")
    policy = template.properties("SiteHeaders")  # the headers CloudFront adds in AWS
    config = {"oidc": {"authority": "http://127.0.0.1:3000/_local/oidc", "client_id": "app"}}
    return StaticSite(tmp_path, config, security_headers(policy), api_path_patterns(template))


def get(web, path, method="GET"):
    response = web(Request(method, path, [], b"", "127.0.0.1"))
    assert response is not None, f"{path} is not the site's"
    return response.status, dict(response.headers), response.body


def test_hashed_assets_are_kept_and_the_page_is_revalidated(web):
    status, headers, body = get(web, "/assets/index-abc123.js")
    assert (status, headers["content-type"], body) == (200, "text/javascript; charset=utf-8", b"export {}")
    assert headers["cache-control"] == "public, max-age=31536000, immutable"

    status, headers, _ = get(web, "/")
    assert (status, headers["content-type"], headers["cache-control"]) == (200, "text/html; charset=utf-8", "no-cache")
    assert "default-src 'self'" in headers["content-security-policy"]
    assert get(web, "/favicon.svg")[1]["content-type"] == "image/svg+xml"


@pytest.mark.parametrize("path", ["/rooms/01m8sntd94cpdmn9je61yr6z0s/snapshots", "/admin", "/auth/callback"])
def test_the_apps_own_routes_get_index_html(web, path):
    status, headers, body = get(web, path)

    assert (status, body) == (200, b"<!doctype html><title>app</title>")


@pytest.mark.parametrize(
    "path", ["/assets/missing.js", "/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"]
)
def test_missing_files_and_ways_out_of_the_folder_are_404(web, path):
    assert get(web, path)[0] == 404


def test_config_json_is_the_runtime_configuration(web):
    status, headers, body = get(web, "/config.json")

    assert (status, headers["cache-control"]) == (200, "no-cache")
    assert json.loads(body)["oidc"]["client_id"] == "app"


def test_only_reads_are_served(web):
    status, headers, _ = get(web, "/", method="POST")

    assert (status, headers["allow"]) == (405, "GET, HEAD")


def test_the_paths_the_distribution_sends_to_the_api_are_not_the_sites(web):
    assert web.api_paths == ["/echo/*"]  # the fixture's CacheBehaviors to its HttpApi origin
    assert web(Request("GET", "/echo/ana", [], b"", "127.0.0.1")) is None
    assert get(web, "/echoes")[0] == 200  # the app's own route: index.html
