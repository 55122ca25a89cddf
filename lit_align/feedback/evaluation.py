"""Score an adapted model on a feedback's held-out prompts: S_in, S_out, S_overall.

The test rows hold pi_0's baseline answers (written when the data was built), so only the
adapted model answers here; a judge compares the two per prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lit_align.errors import DataError
from lit_align.feedback.judges import FeedbackJudge
from lit_align.feedback.metrics import feedback_scores

SCOPES = ("in", "near", "out")


def evaluate_feedback(feedback: str, test_rows: list[dict[str, Any]], answer: Callable[[list[str]], list[str]],
                      judge: FeedbackJudge) -> dict[str, Any]:
    """Scores per scope and overall; prompts the judge could not score are counted, not averaged."""
    by_scope = {s: [r for r in test_rows if r.get("scope") == s] for s in SCOPES}
    missing = ([] if by_scope["in"] else ["in"]) + ([] if by_scope["near"] or by_scope["out"] else ["near/out"])
    if missing:
        raise DataError(f"feedback test rows: no {' or '.join(missing)}-scope rows; rebuild the data with "
                        "`lit-align feedback build`")
    report: dict[str, Any] = {"feedback": feedback, "scopes": {}}
    per_scope: dict[str, list[float]] = {}
    for scope, rows in by_scope.items():
        if not rows:
            continue
        prompts = [r["prompt"] for r in rows]
        answers = answer(prompts)
        scores = judge.score(feedback, prompts, answers, [r["baseline"] for r in rows])
        kept = [s for s in scores if s is not None]
        if not kept:
            raise DataError(f"the judge scored none of the {len(rows)} {scope}-scope answers; check its backend")
        per_scope[scope] = kept
        report["scopes"][scope] = {"n": len(rows), "unjudged": len(rows) - len(kept),
                                   "mean_score": sum(kept) / len(kept),
                                   "mean_abs_score": sum(abs(s) for s in kept) / len(kept),
                                   # judge-free behaviour change: catches a degenerate model the judge scores 0
                                   "changed": sum(a.strip() != r["baseline"].strip()
                                                  for a, r in zip(answers, rows, strict=True)) / len(rows),
                                   "examples": [{"prompt": p, "answer": a, "score": s}
                                                for p, a, s in list(zip(prompts, answers, scores, strict=True))[:5]]}
    result = feedback_scores(per_scope["in"], per_scope.get("near", []), per_scope.get("out", []))
    report |= {"s_in": result.s_in, "s_out": result.s_out, "s_overall": result.s_overall}
    return report
