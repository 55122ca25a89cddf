"""Keep secrets out of files, logs, errors and tracking servers.

A config takes secrets from the environment (`${oc.env:MLFLOW_PASSWORD}`); the resolved
value must reach the code that uses it and nothing else. `load_config` registers the value
of every environment variable a config interpolates; `redact` puts the interpolation text
back wherever such a value appears, and hides the password of any `user:password@host` URL.
Saved configs, MLflow params and every error line the CLI prints go through `redact`.
The registry is process-wide on purpose: a secret stays a secret for the whole process.
"""

from __future__ import annotations

import re
from typing import Any

_ENV_INTERPOLATION = re.compile(r"\$\{oc\.env:([A-Za-z_][A-Za-z0-9_]*)")
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>(?!\$\{)[^@/\s]+)@")
_MIN_SECRET_LENGTH = 4  # shorter values ("1", "true") would blank out ordinary text
_registered: dict[str, str] = {}  # secret value -> what to show instead


def env_references(text: str) -> list[str]:
    """Names of the environment variables `${oc.env:NAME}` interpolations in `text` read."""
    return _ENV_INTERPOLATION.findall(text)


def register(value: str | None, shown_as: str) -> None:
    if value and len(value) >= _MIN_SECRET_LENGTH:
        _registered[value] = shown_as


def register_env(names: list[str], environ: Any) -> None:
    for name in names:
        register(environ.get(name), f"${{oc.env:{name}}}")


def mask_url_credentials(text: str) -> str:
    """`https://user:pw@host` -> `https://user:***@host`, anywhere in `text` (an unresolved
    `${oc.env:...}` password is left as it is: it holds no secret)."""
    return _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)


def redact_text(text: str) -> str:
    for value in sorted(_registered, key=len, reverse=True):  # longest first: one secret may contain another
        text = text.replace(value, _registered[value])
    return mask_url_credentials(text)


def redact(obj: Any) -> Any:
    """`obj` (str, or nested dicts/lists of them) with every registered secret and URL password hidden."""
    if isinstance(obj, str):
        return redact_text(obj)
    if isinstance(obj, dict):
        return {k: redact(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact(v) for v in obj]
    return obj


def looks_like_a_key(name: str) -> bool:
    """An environment variable *name* is short and upper-case; a pasted key is long and mixed."""
    return not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name) or (
        len(name) >= 20 and any(c.islower() for c in name) and any(c.isdigit() for c in name))
