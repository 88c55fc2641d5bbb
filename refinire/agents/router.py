"""``refinire.agents.router``: ``RouterConfig`` and the router constructors Refinire offers.

``RouterAgent(RouterConfig(...))`` builds our one ``RouterAgent``: its routes, classifier type,
rules, prompt (``classification_prompt``), examples and default route become the durable router's.
"""

from __future__ import annotations

from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic_core.core_schema import ValidationInfo

from ..context import Context
from ._agents import RefinireAgent, RouterAgent

__all__ = ["RouterAgent", "RouterConfig", "create_content_type_router", "create_intent_router"]


class RouterConfig(BaseModel):
    """How a ``RouterAgent`` classifies and where each category goes (Refinire's config model).

    ``RouterAgent(RouterConfig(...))`` takes every field; the agent's own keys (``model``,
    ``timeout``, ``retry``, ...) can be passed beside it as keywords.

    Raises:
        pydantic.ValidationError: "Routes cannot be empty"; "Default route 'x' must exist in routes".
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    """The router step's name, shown in histories and the UI."""
    routes: dict[str, str]
    """Category → the step key the flow goes to. Renaming a target key breaks runs in flight that
    take that route."""
    classifier_type: Literal["llm", "rule"] = "llm"
    """``"llm"``: the model names the category; ``"rule"``: ``classification_rules`` decide."""
    classification_prompt: str | None = None
    """Instructions for the model's classification (the router's ``generation_instructions``)."""
    classification_examples: dict[str, list[str]] | None = None
    """Category → example inputs, shown to the model with the prompt."""
    classification_rules: dict[str, Callable[[Any, Context], bool]] | None = None
    """Category → ``fn(data, ctx)``; the first that returns true wins (``"rule"`` classifier)."""
    default_route: str | None = None
    """The category taken when nothing matches; ``None`` takes the first route."""
    store_classification_result: bool = True
    """Refinire's switch; the decision is always stored (``shared_state["<name>_classification"]``)."""

    @field_validator("routes")
    @classmethod
    def _routes_not_empty(cls, routes: dict[str, str]) -> dict[str, str]:
        if not routes:
            raise ValueError("Routes cannot be empty: give at least one category -> step key.")
        return routes

    @field_validator("default_route")
    @classmethod
    def _default_route_exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        routes = info.data.get("routes") or {}
        if value is not None and value not in routes:
            raise ValueError(f"Default route '{value}' must exist in routes. Known routes: {list(routes)!r}")
        return value


def create_intent_router(name: str = "intent_router", intents: dict[str, str] | None = None,
                         llm_pipeline: RefinireAgent | None = None) -> RouterAgent:
    """A router by the user's intent: question, request, complaint or other."""
    intents = intents or {"question": "qa_step", "request": "service_step",
                          "complaint": "support_step", "other": "general_step"}
    prompt = ("Decide what the user wants. question: they ask for information; request: they want "
              "something done; complaint: they report a problem or are unhappy; other: anything else.")
    return RouterAgent(RouterConfig(name=name, routes=intents, classification_prompt=prompt), llm_pipeline)


def create_content_type_router(name: str = "content_router", content_types: dict[str, str] | None = None,
                               llm_pipeline: RefinireAgent | None = None) -> RouterAgent:
    """A router by the kind of content: document, image, code or data."""
    content_types = content_types or {"document": "document_processor", "image": "image_processor",
                                      "code": "code_processor", "data": "data_processor"}
    prompt = ("Decide what kind of content this is. document: prose, letters, reports; image: a "
              "picture or its description; code: source code, queries, configuration; data: "
              "structured records such as JSON, CSV or tables.")
    return RouterAgent(RouterConfig(name=name, routes=content_types, classification_prompt=prompt),
                       llm_pipeline)
