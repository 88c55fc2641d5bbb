"""LLM agents as flow steps. Each compiles to its own spec kind; the workflow drives the model calls
as activities (see ``workflows/agents.py``), so a crash never repeats a finished call.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any, Callable, Iterable, Mapping

from pydantic import BaseModel

from ..context import Context
from ..errors import FlowDefinitionError
from ..spec import AgentSpec, ClarifySpec, RouterSpec, StepSpec
from ..spec import RetrySpec
from ..steps import Step, _options

__all__ = ["ClarifyAgent", "LLMResult", "RefinireAgent", "RouterAgent", "UnknownOptionError"]


class LLMResult(BaseModel):
    """Refinire's generation result: ``content``, ``success``, ``metadata``, score and attempts.

    Our agents put the generated text itself in ``ctx.result`` (and the evaluation in
    ``ctx.evaluation_result``); this type is here for code that builds or checks one.
    """

    content: Any = None
    """The generated output."""
    success: bool = True
    """Whether the generation succeeded."""
    metadata: dict[str, Any] = {}
    """Free facts about the call (model, usage, ...)."""
    evaluation_score: float | None = None
    """The evaluation's score, 0-100, when the output was evaluated."""
    attempts: int = 1
    """How many generations it took."""


class UnknownOptionError(FlowDefinitionError, TypeError):
    """An agent was given a keyword (or config key) it does not know: a typo would otherwise be
    dropped silently. A ``FlowDefinitionError`` and, like Python's own, a ``TypeError``."""


def _refuse_unknown(agent: str, name: Any, given: Iterable[str], known: Iterable[str],
                    what: str = "keyword") -> None:
    known = list(known)
    unknown = [k for k in given if k not in known]
    if not unknown:
        return
    named = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), known, n=1)
        named.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    plural = "s" if len(unknown) > 1 else ""
    raise UnknownOptionError(
        f"{agent} {name!r}: unknown {what}{plural} {', '.join(named)}. Known {what}s: {', '.join(known)}.")


def _keywords(cls: type) -> list[str]:
    params = inspect.signature(cls.__init__).parameters.values()
    return [p.name for p in params if p.name != "self"
            and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


class RefinireAgent(Step):
    """Generate → evaluate → regenerate with feedback, bounded by ``max_retries``.

    An LLM step whose every model call is its own Temporal activity, so a crash never repeats a
    finished (paid-for) call. The input is ``str(data)``; the output is the generated text (with an
    evaluation, the best-scoring generation), also appended to ``ctx.messages``. With
    ``evaluation_instructions`` each generation is scored 0-100 and ``ctx.evaluation_result`` is
    ``{"score", "passed", "feedback", "threshold", "attempt", "attempts", "history"}``. Token usage
    of every call is in ``ctx.usage``. Building one needs no API key; running one needs
    ``OPENAI_API_KEY`` (or ``OPENAI_BASE_URL``) on the worker.

    Args:
        name: The step's name, shown in histories and sent as ``X-Refinire-Step``. Renaming a
            branch agent breaks runs in flight inside its parallel block.
        generation_instructions: The system message of each generation.
        evaluation_instructions: What the evaluator scores; ``None`` generates once, unevaluated.
        model: The model name sent with each call.
        threshold: The score (0-100) a generation needs to pass.
        max_retries: Regenerations at most after the first, while the score is below
            ``threshold`` (model calls that fail are retried per ``retry``, separately).
        temperature: Sampling temperature sent with each call; ``None`` sends none.
        max_tokens: Cap on generated tokens per call; ``None`` sends none.
        timeout: Seconds one model call (one HTTP request) may take; a slower call fails with
            ``APITimeoutError`` and is retried per ``retry``. ``None``: the ``openai`` client's
            default (600 s). This is what ``timeout`` means throughout the API.
        next_step: The key of the step that follows; ``None`` takes the implicit rule.
        retry: Attempts (``int``) or a ``RetrySpec`` for each model call; ``None`` takes the flow's,
            else 5 attempts from 1 s (HTTP 408/409/429/5xx and timeouts are retried, honouring
            Retry-After; other 4xx are not).
        heartbeat: Seconds without a heartbeat after which a model call counts as lost (a dead
            worker is noticed this fast); ``None`` takes the flow's, else 10 s.
        step_timeout: Seconds one attempt of one model-call activity may run before Temporal ends
            it and retries (start-to-close); ``None`` takes the flow's, else 600 s.

    Raises:
        UnknownOptionError: A keyword it does not know (a ``FlowDefinitionError`` and a
            ``TypeError``), naming the likely fix and the known keywords.

    Example:
        RefinireAgent("writer", generation_instructions="Write a helpful answer",
                      evaluation_instructions="Score accuracy and clarity from 0-100",
                      model="gpt-4o-mini", threshold=85, max_retries=3, timeout=30)
    """

    def __init__(
        self,
        name: str,
        generation_instructions: str = "",
        evaluation_instructions: str | None = None,
        *,
        model: str = "gpt-4o-mini",
        threshold: float = 85.0,
        max_retries: int = 3,
        temperature: float | None = None,
        max_tokens: int | None = None,
        timeout: float | None = None,
        next_step: str | None = None,
        retry: RetrySpec | int | None = None,
        heartbeat: float | None = None,
        step_timeout: float | None = None,
        **unknown: Any,
    ) -> None:
        _refuse_unknown("RefinireAgent", name, unknown, _keywords(RefinireAgent))
        super().__init__(name, next_step)
        self.generation_instructions = generation_instructions
        self.evaluation_instructions = evaluation_instructions
        self.model = model
        self.threshold = float(threshold)
        self.max_retries = int(max_retries)
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.options = _options(retry, step_timeout, None, heartbeat, f"{type(self).__name__} {name!r}")

    def _spec(self, key: str, next_key: str | None) -> StepSpec:
        return AgentSpec(
            key=key, name=self.name, next=next_key, options=self.options, model=self.model,
            generation_instructions=self.generation_instructions,
            evaluation_instructions=self.evaluation_instructions, threshold=self.threshold,
            max_retries=self.max_retries, temperature=self.temperature, max_tokens=self.max_tokens,
            timeout_s=self.timeout,
        )

    async def run_async(self, user_input: Any, ctx: Context | None = None) -> Context:
        """Run on its own, in this process, as Refinire does: no Temporal server needed.

        The same loop and model calls as inside a durable flow (generate, evaluate, regenerate
        with feedback; the step's retry policy), then ``next_step`` or finish. Leaves ``result``,
        ``evaluation_result``, the assistant message and ``usage`` in ``ctx``. A call that still
        fails after its retries leaves ``result`` None, ``ctx.error`` and a system message
        "RefinireAgent <name> execution error: ..." (Refinire's behaviour; a durable run fails).

        Args:
            user_input: The input; ``None`` uses ``ctx.last_user_input``.
            ctx: The context to update; a new one when omitted.

        Returns:
            The context.
        """
        from client.api import run_step_standalone

        return await run_step_standalone(self, user_input, ctx)


class RouterAgent(Step):
    """Classifies its input and routes to ``routes[category]``; data passes through unchanged.

    The decision is made in an activity (a model call, or your rules) and recorded in the history
    like a condition's, so a replayed run takes the same path. It is also in
    ``shared_state["<name>_classification"]``, ``shared_state["<name>_next_step"]`` and
    ``ctx.routing_result`` (``classification``, ``next_step``, ``matched_by``, ``reply``).

    Args:
        config: A dict or a pydantic model (such as ``RouterConfig``) with the keys below; keyword
            arguments are merged over it.
        llm_pipeline: A ``RefinireAgent`` whose ``model`` is used when the config names none.
        **kwargs: Config keys (``CONFIG_KEYS``):

            - ``name``: The step's name (default ``"router"``).
            - ``routes``: Category → step key (required). Renaming a target key breaks runs in
              flight that take that route.
            - ``classifier_type``: ``"llm"`` (the model's reply is matched exactly, then ignoring
              case, then as a substring) or ``"rule"``.
            - ``generation_instructions`` / ``classification_prompt``: The classification prompt.
            - ``classification_examples``: Category → example inputs shown to the model.
            - ``classification_rules``: Category → ``fn(data, ctx) -> bool``; the first true wins
              (``"rule"``; runs in an activity).
            - ``default_route``: The category (or step key) when nothing matches; else the first.
            - ``model``: The model name (default ``"gpt-4o-mini"``).
            - ``temperature``: Sampling temperature sent with the call.
            - ``timeout``: Seconds the model call (one HTTP request) may take, as on
              ``RefinireAgent``.
            - ``retry``, ``heartbeat``, ``step_timeout``: Temporal options, as on
              ``RefinireAgent``.
            - ``store_classification_result``: Accepted for Refinire's ``RouterConfig``.

    Raises:
        FlowDefinitionError: No ``routes``, an unknown ``classifier_type``, or a ``"rule"``
            classifier without rules.
        UnknownOptionError: A config key it does not know, naming the likely fix and the known keys.

    Example:
        RouterAgent({"name": "content_router",
                     "routes": {"technical": "tech_specialist", "business": "business_specialist"},
                     "generation_instructions": "Classify ... Return only the category name.",
                     "default_route": "business", "model": "gpt-4o-mini"})
    """

    CONFIG_KEYS = ("name", "routes", "classifier_type", "generation_instructions", "model",
                   "default_route", "classification_rules", "classification_prompt",
                   "classification_examples", "store_classification_result", "temperature", "timeout",
                   "retry", "step_timeout", "heartbeat")
    """Every config key a ``RouterAgent`` takes: ours and Refinire's ``RouterConfig`` fields
    (``RouterAgent(RouterConfig(...))`` passes them all)."""

    def __init__(self, config: Mapping[str, Any] | BaseModel | None = None,
                 llm_pipeline: "RefinireAgent | None" = None, **kwargs: Any) -> None:
        cfg = dict(config.model_dump() if isinstance(config, BaseModel) else (config or {}))
        cfg.update(kwargs)
        if llm_pipeline is not None and not cfg.get("model"):
            cfg["model"] = getattr(llm_pipeline, "model", None)
        name = cfg.get("name") or "router"
        _refuse_unknown("RouterAgent", name, cfg, self.CONFIG_KEYS, "config key")
        routes = cfg.get("routes")
        if not isinstance(routes, Mapping) or not routes:
            raise FlowDefinitionError(
                f"RouterAgent {name!r} needs 'routes': a dict of category -> step key, got {routes!r}."
            )
        super().__init__(name, None)
        self.routes = {str(k): str(v) for k, v in routes.items()}
        self.classifier_type = cfg.get("classifier_type", "llm")
        if self.classifier_type not in ("llm", "rule"):
            raise FlowDefinitionError(
                f"RouterAgent {name!r}: classifier_type {self.classifier_type!r} is unknown; use 'llm' or 'rule'."
            )
        self.generation_instructions = (cfg.get("generation_instructions")
                                        or cfg.get("classification_prompt") or "")
        examples = cfg.get("classification_examples") or {}
        if examples:  # Refinire's RouterConfig: a few inputs per category, shown to the model
            shown = "\n".join(f"- {example!r} -> {category}" for category, items in examples.items()
                              for example in items)
            self.generation_instructions = f"{self.generation_instructions}\n\nExamples:\n{shown}".strip()
        self.model = cfg.get("model") or "gpt-4o-mini"
        self.default_route = cfg.get("default_route")
        self.classification_rules: dict[str, Callable[..., Any]] = dict(cfg.get("classification_rules") or {})
        self.temperature = cfg.get("temperature")
        self.timeout = cfg.get("timeout")
        self.options = _options(cfg.get("retry"), cfg.get("step_timeout"), None, cfg.get("heartbeat"),
                                f"{type(self).__name__} {name!r}")
        if self.classifier_type == "rule" and not self.classification_rules:
            raise FlowDefinitionError(
                f"RouterAgent {name!r}: a 'rule' classifier needs 'classification_rules' "
                "(category -> function(data, ctx) returning bool)."
            )

    def _branch_targets(self) -> list[str]:
        return list(dict.fromkeys(self.routes.values()))

    def _spec(self, key: str, next_key: str | None) -> StepSpec:
        return RouterSpec(
            key=key, name=self.name, options=self.options, routes=self.routes,
            classifier_type=self.classifier_type,
            generation_instructions=self.generation_instructions, model=self.model,
            default_route=self.default_route, temperature=self.temperature, timeout_s=self.timeout,
        )

    async def run_async(self, user_input: Any, ctx: Context | None = None) -> Context:
        """Classify and route on its own, in this process, as Refinire does: no server needed.

        Sets ``routing_result``, ``shared_state["<name>_classification"]`` and
        ``["<name>_next_step"]``, then ``ctx.goto`` to the chosen route's step. A classification
        that still fails after its retries takes the default route and stores
        ``shared_state["<name>_error"]`` (Refinire's behaviour; a durable run fails).

        Args:
            user_input: The input to classify; ``None`` uses ``ctx.last_user_input``.
            ctx: The context to update; a new one when omitted.

        Returns:
            The context.
        """
        from client.api import run_step_standalone

        return await run_step_standalone(self, user_input, ctx)


class ClarifyAgent(Step):
    """Judges whether a request is clear enough; sets ``ctx.clarification_result``; data passes through.

    The model scores the request's clarity 0-100; ``is_clear`` is ``score >= threshold``.
    ``ctx.clarification_result`` is ``{"is_clear", "clarification_question", "score",
    "threshold", "reason", "turns", "answers", "clarified_request", "timed_out"}``. With
    ``wait_for_answer=True`` an unclear request pauses a durable run until someone answers
    (``handle.answer(text)``, ``refinire-flow answer``, ``flow.feed``); each answer is judged
    again, up to 3 questions per visit.

    Args:
        name: The step's name, shown in histories and ``pending_question``.
        generation_instructions: How to phrase the clarification question.
        clarification_instructions: What makes a request clear enough.
        threshold: The clarity score (0-100) that counts as clear.
        model: The model name sent with each call.
        wait_for_answer: Pause the run on an unclear request until someone answers.
        answer_timeout: Seconds to wait for an answer; then the step finishes with
            ``is_clear=False`` and ``timed_out=True``. ``None`` waits indefinitely.
        temperature: Sampling temperature sent with each call; ``None`` sends none.
        timeout: Seconds one model call (one HTTP request) may take, as on ``RefinireAgent``.
        next_step: The key of the step that follows; ``None`` takes the implicit rule.
        retry: Attempts (``int``) or a ``RetrySpec`` for each model call; ``None`` takes the flow's,
            else 5 attempts from 1 s (HTTP 408/409/429/5xx and timeouts are retried, honouring
            Retry-After; other 4xx are not).
        heartbeat: Seconds without a heartbeat after which a model call counts as lost (a dead
            worker is noticed this fast); ``None`` takes the flow's, else 10 s.
        step_timeout: Seconds one attempt of one model-call activity may run before Temporal ends
            it and retries (start-to-close); ``None`` takes the flow's, else 600 s.

    Raises:
        UnknownOptionError: A keyword it does not know, naming the likely fix and the known ones.

    Example:
        ClarifyAgent("requirement_clarifier",
                     generation_instructions="Generate questions to clarify user requirements",
                     clarification_instructions="Determine if requirements are sufficiently clear",
                     threshold=80.0, wait_for_answer=True, answer_timeout=3600)
    """

    def __init__(
        self,
        name: str,
        generation_instructions: str = "",
        clarification_instructions: str = "",
        threshold: float = 80.0,
        model: str = "gpt-4o-mini",
        *,
        wait_for_answer: bool = False,
        answer_timeout: float | None = None,
        temperature: float | None = None,
        timeout: float | None = None,
        next_step: str | None = None,
        retry: RetrySpec | int | None = None,
        heartbeat: float | None = None,
        step_timeout: float | None = None,
        **unknown: Any,
    ) -> None:
        _refuse_unknown("ClarifyAgent", name, unknown, _keywords(ClarifyAgent))
        super().__init__(name, next_step)
        self.options = _options(retry, step_timeout, None, heartbeat, f"{type(self).__name__} {name!r}")
        self.generation_instructions = generation_instructions
        self.clarification_instructions = clarification_instructions
        self.threshold = float(threshold)
        self.model = model
        self.wait_for_answer = wait_for_answer
        self.answer_timeout = answer_timeout
        self.temperature = temperature
        self.timeout = timeout

    def _spec(self, key: str, next_key: str | None) -> StepSpec:
        return ClarifySpec(
            key=key, name=self.name, next=next_key, options=self.options,
            generation_instructions=self.generation_instructions,
            clarification_instructions=self.clarification_instructions, threshold=self.threshold,
            model=self.model, wait_for_answer=self.wait_for_answer,
            answer_timeout_s=self.answer_timeout, temperature=self.temperature, timeout_s=self.timeout,
        )

    async def run_async(self, user_input: Any, ctx: Context | None = None) -> Context:
        """Judge clarity on its own, in this process, as Refinire does: no server needed.

        Sets ``clarification_result``; the input passes through. With ``wait_for_answer=True`` an
        unclear request cannot wait for a person here: the question becomes the last assistant
        message and ``ctx.awaiting_prompt``, ``ctx.awaiting_user_input`` is set, and the step stays
        where it is; ``await agent.run_async(answer, ctx)`` continues the same clarification.

        Args:
            user_input: The request (or, while awaiting, the answer); ``None`` uses
                ``ctx.last_user_input`` (while awaiting: keeps waiting).
            ctx: The context to update; a new one when omitted.

        Returns:
            The context.
        """
        from client.api import run_step_standalone

        return await run_step_standalone(self, user_input, ctx)
