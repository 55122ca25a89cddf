"""Chat backends: the OpenAI-compatible client against a stub server on 127.0.0.1, the local HF backend."""

import pytest

from lit_align.binding import ComponentSpec
from lit_align.errors import ConfigError
from lit_align.feedback.backends import HFChatBackend, OpenAIChatBackend
from lit_align.feedback.templates import GeneratorOutputError


def backend(url, **kwargs):
    return OpenAIChatBackend(base_url=url, model="stub-model", backoff_seconds=0.0, **kwargs)


def test_openai_backend_sends_the_request_and_returns_the_content(stub, monkeypatch):
    state, url = stub
    monkeypatch.setenv("STUB_KEY", "secret")
    messages = [{"role": "user", "content": "Feedback for an assistant: x\nWhich answer follows the feedback?"}]
    replies = backend(url, api_key_env="STUB_KEY", temperature=0.3).complete([messages, messages], seed=7)
    assert replies == ["0.5", "0.5"]
    first = state.requests[0]
    assert first["model"] == "stub-model" and first["messages"] == messages and first["temperature"] == 0.3
    assert [r["seed"] for r in state.requests] == [7, 8]
    assert state.headers[0]["Authorization"] == "Bearer secret"


def test_openai_backend_retries_rate_limits_and_server_errors(stub):
    state, url = stub
    state.fail_next = [429, 503]
    assert backend(url, retries=2).complete([[{"role": "user", "content": "Which answer follows"}]], seed=0) == ["0.5"]
    assert len(state.requests) == 3


def test_openai_backend_errors_name_the_status_the_server_and_the_fix(stub, monkeypatch):
    state, url = stub
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    state.fail_next = [401]
    with pytest.raises(GeneratorOutputError, match=r"HTTP 401.*NO_SUCH_KEY"):
        backend(url, api_key_env="NO_SUCH_KEY").complete([[{"role": "user", "content": "x"}]], seed=0)
    state.fail_next = [503]
    with pytest.raises(GeneratorOutputError, match="HTTP 503.*scripted failure"):
        backend(url, retries=0).complete([[{"role": "user", "content": "x"}]], seed=0)
    state.raw_body = "<html>gateway</html>"
    with pytest.raises(GeneratorOutputError, match="not an OpenAI chat completion response.*gateway"):
        backend(url).complete([[{"role": "user", "content": "x"}]], seed=0)


def test_openai_backend_unreachable_server_and_bad_url():
    with pytest.raises(GeneratorOutputError, match="cannot reach the server"):
        OpenAIChatBackend(base_url="http://127.0.0.1:9/v1", model="m", retries=0, timeout=2).complete(
            [[{"role": "user", "content": "x"}]], seed=0)
    with pytest.raises(ConfigError, match="base_url"):
        OpenAIChatBackend(base_url="127.0.0.1:8000", model="m")


def test_hf_backend_answers_each_conversation_through_the_chat_template():
    spec = ComponentSpec("tiny", {"n_layer": 1, "d_model": 32, "n_head": 2, "vocab_size": 400})
    chat = HFChatBackend(model=spec, max_new_tokens=4, temperature=0.0, batch_size=2)
    conversations = [[{"role": "user", "content": f"Name {n} colors."}] for n in ("one", "two", "three")]
    replies = chat.complete(conversations, seed=0)
    assert len(replies) == 3 and all(isinstance(r, str) for r in replies)
    # greedy decoding of the same conversation is the same whatever the batch around it
    assert chat.complete(conversations[:1], seed=0) == replies[:1]
