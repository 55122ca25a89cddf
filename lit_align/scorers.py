"""`ResponseScorer`: what turns a generated answer into a number.

The one interface every judge shares: the generation matrix, COPF's candidates,
`lit-align compat`, LANCET's probes, gold rules of benchmark suites and reward models.
It sits at the bottom of the package (no imports) so data, modules, influence and
feedback can all depend on it.
"""

from __future__ import annotations


class ResponseScorer:
    """Scores generated responses; subclass and name it by `class_path` in the config."""

    def score(self, split: str, prompts: list[str], responses: list[str]) -> list[float]:
        raise NotImplementedError
