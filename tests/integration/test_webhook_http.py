"""The delivery's HTTP client against receivers on 127.0.0.1 (never anywhere else): the connection
goes to the checked address with the host's name as TLS server name and Host header, redirects
are not followed, answers are read to 1 kB, timeouts are errors, proxy settings are ignored."""

import datetime
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from roomsnap.ssrf import Target

from delivery.logic.http import HttpSender

NAME = "receiver.test"  # a name no DNS knows: only the pinned address can reach the server


def self_signed(tmp_path, name: str) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_path), str(key_path)


class Receiver(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.seen.append({"path": self.path, "host": self.headers["Host"], "body": body})
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/elsewhere")
            self.end_headers()
        elif self.path == "/slow":
            time.sleep(2)
            self.send_response(200)
            self.end_headers()
        else:
            self.send_response(200)
            self.send_header("Retry-After", "7")
            self.end_headers()
            self.wfile.write(b"x" * 5000)

    def log_message(self, *args):
        pass


@pytest.fixture
def tls_receiver(tmp_path):
    """An HTTPS server on 127.0.0.1 with a certificate for NAME; records the SNI it was asked for."""
    cert, key = self_signed(tmp_path, NAME)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server_names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    Receiver.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, cert, server_names
    server.shutdown()
    server.server_close()


def target(port: int, path="/hook", host=NAME, scheme="https") -> Target:
    return Target(scheme=scheme, host=host, port=port, path=path, address="127.0.0.1")


def test_the_request_goes_to_the_checked_address_with_the_name_as_sni_and_host(tls_receiver, monkeypatch):
    port, cert, server_names = tls_receiver
    # Proxy settings in the environment are not used (they would send it to a port nobody serves)
    for variable in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(variable, "http://127.0.0.1:9")
    answer = HttpSender(5, ca_certs=cert).post(target(port), '{"a":1}', {"webhook-id": "msg_1"})
    assert (answer.status_code, answer.error) == (200, None)
    assert server_names == [NAME]
    assert Receiver.seen == [{"path": "/hook", "host": f"{NAME}:{port}", "body": b'{"a":1}'}]
    assert len(answer.body) == 1024  # the first kilobyte only
    assert answer.retry_after == "7"
    assert answer.duration_ms > 0


def test_a_certificate_for_another_name_fails_the_attempt(tls_receiver):
    port, cert, _ = tls_receiver
    answer = HttpSender(5, ca_certs=cert).post(target(port, host="other.test"), "{}", {})
    assert answer.status_code is None
    assert answer.error.startswith("TLS failed")


def test_the_systems_trust_store_does_not_trust_a_self_signed_receiver(tls_receiver):
    port, _, _ = tls_receiver
    assert HttpSender(5).post(target(port), "{}", {}).error.startswith("TLS failed")


def test_a_redirect_is_an_answer_not_followed(tls_receiver):
    port, cert, _ = tls_receiver
    answer = HttpSender(5, ca_certs=cert).post(target(port, path="/redirect"), "{}", {})
    assert answer.status_code == 302
    assert not answer.succeeded
    assert [seen["path"] for seen in Receiver.seen] == ["/redirect"]


def test_no_answer_within_the_timeout_is_an_error(tls_receiver):
    port, cert, _ = tls_receiver
    answer = HttpSender(0.5, ca_certs=cert).post(target(port, path="/slow"), "{}", {})
    assert (answer.status_code, answer.error) == (None, "no answer within 0.5 s")


def test_a_refused_connection_is_an_error():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listening: connections are refused
        answer = HttpSender(2).post(target(port, scheme="http", host="127.0.0.1"), "{}", {})
    assert answer.status_code is None
    assert answer.error.startswith("connection failed")
