"""Short names for the components a config can name.

One explicit dict (no decorators, no import-time side effects): a user reads it
to see what exists, and any dotted `module.Class` path works without being
listed here.
"""

from __future__ import annotations

KINDS: dict[str, dict[str, str]] = {  # the base class a config node must subclass -> its short names
    "lit_align.models.ModelSpec": {
        "hf": "lit_align.models.HFModelSpec",
        "tiny": "lit_align.models.TinyModelSpec",
        "gguf": "lit_align.models.GGUFModelSpec",
    },
    "lit_align.modules.base.AlignmentModule": {
        # stages
        "sft": "lit_align.modules.sft.SFTModule",
        "reward": "lit_align.modules.reward.RewardModule",
        "dpo": "lit_align.modules.dpo.DPOModule",
        # continual baselines
        "dpo_ewc": "lit_align.modules.continual.ewc.EWCDPOModule",
        "dpo_kl": "lit_align.modules.continual.kl.KLDPOModule",
        # continual methods
        "copr": "lit_align.modules.continual.copr.COPRModule",
        "copf": "lit_align.modules.continual.copf.COPFModule",
        "muscle": "lit_align.modules.continual.muscle.MUSCLEModule",
        "c3po": "lit_align.modules.continual.c3po.C3POModule",
        "lancet": "lit_align.modules.continual.lancet.LANCETModule",
        "gradient_ascent": "lit_align.modules.continual.lancet.GradientAscentModule",
    },
    "lit_align.continual.memory_policies.MemoryPolicy": {  # replay memory policies
        "balanced": "lit_align.continual.memory_policies.BalancedPolicy",
        "reservoir": "lit_align.continual.memory_policies.ReservoirPolicy",
        "score_ranked": "lit_align.continual.memory_policies.ScoreRankedPolicy",
    },
    "lit_align.scorers.ResponseScorer": {  # COPF candidates, generation evaluation
        "reward_model_scorer": "lit_align.modules.reward.RewardModelScorer",
        "synthetic_gold_scorer": "lit_align.data.synthetic.SyntheticGoldScorer",
        "style_gold_scorer": "lit_align.data.style.StyleGoldScorer",
        "no_refusal_scorer": "lit_align.data.refusal.NoRefusalScorer",
    },
    # C3PO data: feedback generators, chat backends, judges
    "lit_align.feedback.dataset.FeedbackGenerator": {
        "synthetic_feedback": "lit_align.feedback.dataset.SyntheticFeedbackGenerator",
        "llm_feedback": "lit_align.feedback.llm_generator.LLMFeedbackGenerator",
    },
    "lit_align.feedback.backends.ChatBackend": {
        "openai_chat": "lit_align.feedback.backends.OpenAIChatBackend",
        "hf_chat": "lit_align.feedback.backends.HFChatBackend",
    },
    "lit_align.study.launcher.Launcher": {  # where a study's runs execute
        "local_launcher": "lit_align.study.launcher.LocalLauncher",
        "submitit_launcher": "lit_align.study.launcher.SubmititLauncher",
    },
    "lit_align.feedback.judges.FeedbackJudge": {
        "rule_judge": "lit_align.feedback.judges.RuleJudge",
        "llm_judge": "lit_align.feedback.judges.LLMJudge",
    },
}

COMPONENTS: dict[str, str] = {name: path for names in KINDS.values() for name, path in names.items()}


def names_of_kind(base: str | None) -> list[str]:
    """The short names a node of this base class accepts (all names for an unknown base)."""
    return sorted(KINDS.get(base, COMPONENTS) if base is not None else COMPONENTS)


def resolve_class_path(name: str) -> str:
    """Return the dotted path for a short name, or the name itself if dotted."""
    return COMPONENTS.get(name, name)
