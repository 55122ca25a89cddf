"""Secrets taken from the environment never reach a saved config, an MLflow param or an error
line; URL passwords are masked; the OpenAI-compatible backend keeps its key out of errors and
off other hosts."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lit_align import secrets
from lit_align.config.load import load_config, save_config
from lit_align.errors import ConfigError

SECRET = "s3cr3t-Pa55word-xyz"


@pytest.fixture
def secret_env(monkeypatch):
    monkeypatch.setenv("LA_TEST_MLFLOW_PASSWORD", SECRET)
    yield
    secrets._registered.pop(SECRET, None)


def _config_file(tmp_path, uri="http://alice:${oc.env:LA_TEST_MLFLOW_PASSWORD}@127.0.0.1:9/"):
    path = tmp_path / "c.yaml"
    path.write_text(f"model: {{class_path: tiny}}\ntracking: {{tracking_uri: '{uri}'}}\nsequence: []\n")
    return path


def test_saved_config_keeps_the_interpolation_not_the_value(tmp_path, secret_env):
    cfg = load_config([str(_config_file(tmp_path))])
    assert SECRET in cfg["tracking"]["tracking_uri"]  # the code that uses it gets the value
    save_config(cfg, tmp_path / "out" / "config.yaml")
    saved = (tmp_path / "out" / "config.yaml").read_text()
    assert SECRET not in saved and "${oc.env:LA_TEST_MLFLOW_PASSWORD}" in saved


def test_secret_reached_through_another_key_is_redacted(tmp_path, secret_env):
    path = tmp_path / "c.yaml"
    path.write_text("vars: {pw: '${oc.env:LA_TEST_MLFLOW_PASSWORD}'}\nnote: 'pw is ${vars.pw}'\n")
    cfg = load_config([str(path)])
    assert secrets.redact(cfg)["note"] == "pw is ${oc.env:LA_TEST_MLFLOW_PASSWORD}"


def test_unreachable_server_error_masks_the_password(tmp_path, secret_env):
    from lit_align.tracking.mlflow import check_reachable

    cfg = load_config([str(_config_file(tmp_path))])
    with pytest.raises(ConfigError) as caught:
        check_reachable(cfg["tracking"]["tracking_uri"])
    assert SECRET not in str(caught.value)
    assert "alice:${oc.env:LA_TEST_MLFLOW_PASSWORD}@127.0.0.1" in str(caught.value)
    with pytest.raises(ConfigError) as caught:  # a password written in the config itself
        check_reachable("http://alice:literalpw99@127.0.0.1:9/")
    assert "literalpw99" not in str(caught.value) and "alice:***@127.0.0.1" in str(caught.value)


def test_cli_error_line_is_redacted(tmp_path, secret_env, capsys):
    from lit_align.cli import main

    path = _config_file(tmp_path)
    path.write_text(path.read_text().replace("sequence: []", f"output_dir: {tmp_path / 'run'}\nsequence: []"))
    code = main(["fit", "--config", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and SECRET not in err


def test_mlflow_params_hold_no_secret(tmp_path, secret_env):
    import mlflow

    from lit_align.config.schema import TrackingConfig
    from lit_align.tracking.mlflow import SequenceTracker

    cfg = load_config([str(_config_file(tmp_path, uri="${oc.env:LA_TEST_MLFLOW_PASSWORD}"))])
    tracker = SequenceTracker(TrackingConfig(), tmp_path, "run")
    run_id = tracker.start(cfg, None)
    params = mlflow.MlflowClient(tracker.uri).get_run(run_id).data.params
    assert params and not any(SECRET in v for v in params.values())


@pytest.mark.parametrize("text,expected", [
    ("postgresql://bob:hunter22@db:5432/x", "postgresql://bob:***@db:5432/x"),
    ("see https://u:p%40ss@h/ and http://h2/", "see https://u:***@h/ and http://h2/"),
    ("no credentials at http://host:5000/", "no credentials at http://host:5000/"),
])
def test_url_passwords_are_masked(text, expected):
    assert secrets.mask_url_credentials(text) == expected


# -- the OpenAI-compatible backend ---------------------------------------------------------------
class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []
    redirect_to: str | None = None
    echo_status: int | None = None

    def do_POST(self):  # noqa: N802
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()} | {"path": self.path})
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if type(self).redirect_to and not self.path.endswith("/moved"):
            self.send_response(307)
            self.send_header("Location", type(self).redirect_to)
            self.end_headers()
            return
        if type(self).echo_status:  # a server that echoes the request headers in its error body
            body = json.dumps({"error": "bad", "headers": dict(self.headers.items())}).encode()
            self.send_response(type(self).echo_status)
        else:
            body = json.dumps({"choices": [{"message": {"content": "ok"}}]}).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serve(**attrs):
    handler = type("H", (_Recorder,), {"seen": [], **attrs})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, handler


def _backend(port, **kwargs):
    from lit_align.feedback.backends import OpenAIChatBackend

    return OpenAIChatBackend(base_url=f"http://127.0.0.1:{port}/v1", model="m", api_key_env="LA_TEST_KEY",
                             retries=0, timeout=5, **kwargs)


KEY = "sk-test-ABCDEF0123456789"


@pytest.fixture
def api_key(monkeypatch):
    """The key in the environment; unregistered after the test even when it fails."""
    monkeypatch.setenv("LA_TEST_KEY", KEY)
    yield KEY
    secrets._registered.pop(KEY, None)


def _ask(*servers_then_port):
    """One chat request to the last port; the servers are shut down whatever happens."""
    *servers, port = servers_then_port
    try:
        return _backend(port).complete([[{"role": "user", "content": "hi"}]], seed=0)
    finally:
        for server in servers:
            server.shutdown()


def test_error_body_echoing_the_authorization_header_is_masked(api_key):
    from lit_align.feedback.templates import GeneratorOutputError

    server, _ = _serve(echo_status=400)
    with pytest.raises(GeneratorOutputError) as caught:
        _ask(server, server.server_port)
    assert api_key not in str(caught.value) and "HTTP 400" in str(caught.value)


def test_authorization_is_not_forwarded_to_another_host(api_key):
    other, other_handler = _serve()
    # "localhost" vs "127.0.0.1": the same machine, another host name (and another port)
    first, first_handler = _serve(redirect_to=f"http://localhost:{other.server_port}/v1/chat/completions")
    assert _ask(first, other, first.server_port) == ["ok"]
    assert first_handler.seen[0]["authorization"] == f"Bearer {api_key}"
    assert "authorization" not in other_handler.seen[0]


def test_authorization_follows_a_redirect_within_the_origin_only(api_key):
    target, target_handler = _serve()
    first, _ = _serve(redirect_to=f"http://127.0.0.1:{target.server_port}/v1/chat/completions")
    # same host name, other port: another origin, so the key stays behind
    _ask(first, target, first.server_port)
    assert "authorization" not in target_handler.seen[0]
    # a move within the same server keeps the key (and the POST)
    server, handler = _serve(redirect_to="/v1/moved")
    assert _ask(server, server.server_port) == ["ok"]
    assert handler.seen[1]["path"] == "/v1/moved"
    assert handler.seen[1]["authorization"] == f"Bearer {api_key}"


@pytest.mark.parametrize("value", ["sk-proj-abc123DEF456", "sk_live_abcd1234efgh5678ijkl", "Bearer x"])
def test_api_key_env_holding_a_key_is_refused_without_showing_it(value):
    from lit_align.feedback.backends import OpenAIChatBackend

    with pytest.raises(ConfigError) as caught:
        OpenAIChatBackend(base_url="http://127.0.0.1:1/v1", model="m", api_key_env=value)
    assert value not in str(caught.value) and "name* of the environment variable" in str(caught.value)
