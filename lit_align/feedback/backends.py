"""Chat backends that answer lit-align's data-generation and judging prompts.

`OpenAIChatBackend` talks to any OpenAI-compatible `/chat/completions` endpoint (OpenAI, vLLM,
TGI, llama.cpp server, ...) with the standard library only; `HFChatBackend` runs a local Hugging
Face chat model. Both take a list of conversations and return one reply each.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Annotated, Any

from lit_align.binding import ComponentOf, ComponentSpec, Range
from lit_align.errors import ConfigError
from lit_align.feedback.templates import GeneratorOutputError, excerpt
from lit_align.secrets import looks_like_a_key, redact_text
from lit_align.secrets import register as register_secret

Messages = list[dict[str, str]]
RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class ChatBackend:
    """Answers chat conversations; subclass and name it by `class_path`."""

    def complete(self, conversations: list[Messages], *, seed: int) -> list[str]:
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__


class OpenAIChatBackend(ChatBackend):
    """POST {base_url}/chat/completions per conversation; retries rate limits and server errors.

    The key is read from the environment variable `api_key_env` (never from the config file);
    a server that needs none (a local vLLM) works with the variable unset."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        temperature: Annotated[float, Range(ge=0)] = 0.7,
        top_p: Annotated[float, Range(gt=0, le=1)] = 0.7,
        max_tokens: Annotated[int, Range(gt=0)] = 1024,
        timeout: Annotated[float, Range(gt=0)] = 60.0,
        retries: Annotated[int, Range(ge=0)] = 3,
        backoff_seconds: Annotated[float, Range(ge=0)] = 1.0,
    ) -> None:
        if looks_like_a_key(api_key_env):
            raise ConfigError("OpenAIChatBackend.api_key_env: give the *name* of the environment variable that "
                              "holds the key (e.g. OPENAI_API_KEY), not the key itself; the value is not shown")
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"OpenAIChatBackend.base_url: {base_url!r} is not an http(s) URL; e.g. "
                              "https://api.openai.com/v1 or http://127.0.0.1:8000/v1")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model, self.api_key_env = model, api_key_env
        self.temperature, self.top_p, self.max_tokens = temperature, top_p, max_tokens
        self.timeout, self.retries, self.backoff_seconds = timeout, retries, backoff_seconds

    def describe(self) -> str:
        return f"OpenAIChatBackend({self.model} at {self.url})"

    def complete(self, conversations: list[Messages], *, seed: int) -> list[str]:
        return [self._one(messages, seed + i) for i, messages in enumerate(conversations)]

    def _request(self, messages: Messages, seed: int) -> urllib.request.Request:
        body = {"model": self.model, "messages": messages, "temperature": self.temperature,
                "top_p": self.top_p, "max_tokens": self.max_tokens, "seed": seed}
        request = urllib.request.Request(self.url, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
        key = os.environ.get(self.api_key_env)
        if key:
            register_secret(key, "***")  # an error body or log that echoes it shows *** instead
            # unredirected: urllib drops it on a redirect; _SameHostRedirect puts it back for the same host only
            request.add_unredirected_header("Authorization", f"Bearer {key}")
        return request

    def _one(self, messages: Messages, seed: int) -> str:
        opener = urllib.request.build_opener(_SameHostRedirect())
        for attempt in range(self.retries + 1):
            try:
                with opener.open(self._request(messages, seed), timeout=self.timeout) as response:
                    payload = response.read().decode()
                break
            except urllib.error.HTTPError as error:
                detail = excerpt(redact_text(error.read().decode(errors="replace")))
                if error.code in RETRY_STATUS and attempt < self.retries:
                    time.sleep(min(self.backoff_seconds * 2.0**attempt, 30.0))
                    continue
                hint = f"; is {self.api_key_env} set?" if error.code in (401, 403) else ""
                raise GeneratorOutputError(f"{self.describe()}: HTTP {error.code}: {detail}{hint}") from error
            except (urllib.error.URLError, TimeoutError) as error:
                if attempt < self.retries:
                    time.sleep(min(self.backoff_seconds * 2.0**attempt, 30.0))
                    continue
                raise GeneratorOutputError(f"{self.describe()}: cannot reach the server ({error}); check "
                                           "base_url and that the server is running") from error
        try:
            content = json.loads(payload)["choices"][0]["message"]["content"]
        except (json.JSONDecodeError, KeyError, IndexError, TypeError) as error:
            raise GeneratorOutputError(f"{self.describe()}: not an OpenAI chat completion response: "
                                       f"{excerpt(payload)!r}") from error
        return content if isinstance(content, str) else ""


class _SameHostRedirect(urllib.request.HTTPRedirectHandler):
    """Follow redirects; 307/308 keep the POST and its body (an API behind a proxy moves like
    that), and the Authorization header goes only to the origin (scheme, host, port) it was meant for."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if code in (307, 308):
            new = urllib.request.Request(newurl, data=req.data, headers=dict(req.headers), method=req.get_method(),
                                         origin_req_host=req.origin_req_host, unverifiable=True)
        else:
            new = super().redirect_request(req, fp, code, msg, headers, newurl)
        auth = req.unredirected_hdrs.get("Authorization")
        if new is not None and auth and _origin(newurl) == _origin(req.full_url):
            new.add_unredirected_header("Authorization", auth)
        return new


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.netloc.rpartition("@")[2].lower()


class HFChatBackend(ChatBackend):
    """A local Hugging Face chat model (any `model` spec: `hf` with a path or hub id, `tiny` in tests).

    Conversations go through the tokenizer's chat template; the model is built on first use."""

    def __init__(
        self,
        *,
        model: Annotated[ComponentSpec, ComponentOf("lit_align.models.ModelSpec")],
        max_new_tokens: Annotated[int, Range(gt=0)] = 512,
        temperature: Annotated[float, Range(ge=0)] = 0.7,
        batch_size: Annotated[int, Range(gt=0)] = 8,
    ) -> None:
        from lit_align.generation import Sampling

        self.model_spec = model
        self.sampling = Sampling(max_new_tokens=max_new_tokens, temperature=temperature, batch_size=batch_size)
        self._policy: Any = None

    def describe(self) -> str:
        return f"HFChatBackend({self.model_spec.init_args.get('name_or_path', self.model_spec.class_path)})"

    def complete(self, conversations: list[Messages], *, seed: int) -> list[str]:
        if self._policy is None:
            self._policy = self.model_spec.instantiate().build()
        return chat_complete(self._policy, self.sampling, conversations, seed, self.describe())


class PolicyChatBackend(ChatBackend):
    """A chat backend over a policy already in memory (pi_0 revising its own answers in
    `lit-align feedback build`, without loading the model twice)."""

    def __init__(self, policy: Any, sampling: Any, name: str = "pi_0") -> None:
        self.policy, self.sampling, self.name = policy, sampling, name

    def describe(self) -> str:
        return f"PolicyChatBackend({self.name})"

    def complete(self, conversations: list[Messages], *, seed: int) -> list[str]:
        return chat_complete(self.policy, self.sampling, conversations, seed, self.describe())


def chat_complete(policy: Any, sampling: Any, conversations: list[Messages], seed: int, who: str) -> list[str]:
    """Replies of a local chat model: conversations through its chat template, then generation."""
    from lit_align.generation import generate

    tokenizer = policy.tokenizer
    if getattr(tokenizer, "chat_template", None) is None:
        raise ConfigError(f"{who}: the tokenizer has no chat_template; use a chat/instruct model")
    prompts = [tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in conversations]
    return generate(policy.model, tokenizer, prompts, sampling, seed)
