"""Explanation generators: ranked items + KG paths -> reasons and a grounded reply."""

from .explain_types import AppliedConstraints, ExplainItem, ExplainRequest, Explanation
from .explainer import Explainer
from .faithfulness_checker import FaithfulnessChecker, Violation
from .llm_rewrite_explainer import LLMRewriteExplainer
from .registry import EXPLAINERS, make_explainer
from .template_explainer import TemplateExplainer

__all__ = [
    "EXPLAINERS",
    "AppliedConstraints",
    "ExplainItem",
    "ExplainRequest",
    "Explainer",
    "Explanation",
    "FaithfulnessChecker",
    "LLMRewriteExplainer",
    "TemplateExplainer",
    "Violation",
    "make_explainer",
]
