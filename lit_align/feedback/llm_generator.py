"""`LLMFeedbackGenerator`: C3PO data from any chat model, following the paper's recipe.

Categories first (one call per feedback), then in-scope and near-scope prompts per category,
then one revision call per baseline answer. The instructions are lit-align's own
(`lit_align/feedback/templates.py`). What the model gets wrong is handled by reason:
an unusable category list stops the build (nothing can follow from it); an unusable prompt
list for one category, a duplicate prompt or an empty revision is counted in `dropped`.
"""

from __future__ import annotations

import math
from typing import Annotated

from lit_align.binding import ComponentOf, ComponentSpec, Range
from lit_align.errors import ConfigError
from lit_align.feedback import templates
from lit_align.feedback.backends import ChatBackend
from lit_align.feedback.dataset import FeedbackGenerator, Scope
from lit_align.feedback.templates import GeneratorOutputError


class LLMFeedbackGenerator(FeedbackGenerator):
    """`backend` writes prompts; `reviser` rewrites pi_0's baseline answers.

    By default the reviser is pi_0 itself, as in the paper: `lit-align feedback build` hands
    the generator a chat backend over the config's `model` (already in memory). Name another
    backend (e.g. the prompt writer's) as `reviser` to revise with it instead."""

    def __init__(
        self,
        *,
        backend: Annotated[ComponentSpec, ComponentOf("lit_align.feedback.backends.ChatBackend")],
        reviser: Annotated[ComponentSpec, ComponentOf("lit_align.feedback.backends.ChatBackend")] | None = None,
        num_categories: Annotated[int, Range(gt=0)] = 10,
        categories: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.backend: ChatBackend = backend.instantiate()
        self.reviser: ChatBackend | None = reviser.instantiate() if reviser is not None else None
        self.num_categories = num_categories
        # given categories skip the category call: a user who knows where the feedback applies says so
        # (and a small model that cannot write the list can still write prompts and revisions)
        self.given_categories = [c.strip() for c in categories if c.strip()] if categories is not None else None
        if self.given_categories == []:
            raise ConfigError("generator.init_args.categories: empty; list the request categories, or delete the "
                              "key to have the backend write them")
        self._categories: dict[tuple[str, int], list[str]] = {}

    def categories(self, feedback: str, seed: int) -> list[str]:
        if self.given_categories is not None:
            return self.given_categories
        key = (feedback, seed)
        if key not in self._categories:
            ask = templates.CATEGORIES.format(feedback=feedback, n=self.num_categories)
            (reply,) = self.backend.complete([[{"role": "user", "content": ask}]], seed=seed)
            try:
                found = list(dict.fromkeys(templates.parse_list(reply)))
            except ValueError as error:
                raise GeneratorOutputError(f"{self.backend.describe()}: the category list for feedback "
                                           f"{feedback!r} is unusable ({error}); try another model or seed") from error
            self._categories[key] = found[: self.num_categories]
        return self._categories[key]

    def prompts(self, feedback: str, scope: Scope, n: int, seed: int) -> list[str]:
        categories = self.categories(feedback, seed)
        per_category = math.ceil(n / len(categories))
        template = templates.IN_SCOPE if scope == "in" else templates.NEAR_SCOPE
        asks = [[{"role": "user", "content": template.format(feedback=feedback, category=c, n=per_category)}]
                for c in categories]
        replies = self.backend.complete(asks, seed=seed + (0 if scope == "in" else 100_000))
        found: list[str] = []
        for reply in replies:
            try:
                found += templates.parse_list(reply)
            except ValueError:
                self.dropped[f"malformed_{scope}_scope_list"] += 1
        unique = list(dict.fromkeys(found))
        self.dropped[f"duplicate_{scope}_scope_prompt"] += len(found) - len(unique)
        if not unique:
            raise GeneratorOutputError(f"{self.backend.describe()}: no usable {scope}-scope prompts for feedback "
                                       f"{feedback!r} ({len(replies)} replies, none a list of prompts)")
        return unique[:n]

    def use_pi0_reviser(self, backend: ChatBackend) -> None:
        """The build's pi_0 as reviser, unless the config named one."""
        if self.reviser is None:
            self.reviser = backend

    def revise(self, feedback: str, prompts: list[str], answers: list[str]) -> list[str | None]:
        if self.reviser is None:
            raise ConfigError("generator.init_args.reviser: none set; `lit-align feedback build` uses pi_0 (the "
                              "config's model) by default; outside the build pass a chat backend as reviser")
        asks = [[{"role": "user", "content": templates.REVISE.format(feedback=feedback, prompt=p, answer=a)}]
                for p, a in zip(prompts, answers, strict=True)]
        return [templates.clean_revision(r) for r in self.reviser.complete(asks, seed=0)]
