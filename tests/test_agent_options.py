"""Agents refuse keywords and config keys they do not know (a typo is never dropped silently).
Layer 1: no server needed."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from refinire import ClarifyAgent, FlowDefinitionError, RefinireAgent, RouterAgent
from refinire.agents import UnknownOptionError


def test_a_misspelt_refinire_agent_keyword_names_it_the_likely_fix_and_the_known_ones():
    with pytest.raises(TypeError) as err:
        RefinireAgent(name="writer", generation_instructions="Write", model="m", temprature=0.2)
    assert isinstance(err.value, FlowDefinitionError) and isinstance(err.value, UnknownOptionError)
    message = str(err.value)
    assert message.startswith("RefinireAgent 'writer': unknown keyword 'temprature' "
                              "(did you mean 'temperature'?). Known keywords: name, ")
    for known in ("generation_instructions", "evaluation_instructions", "threshold", "max_retries",
                  "temperature", "max_tokens", "retry", "step_timeout"):
        assert known in message


def test_several_unknown_keywords_are_all_named():
    with pytest.raises(FlowDefinitionError, match=r"^RefinireAgent 'a': unknown keywords 'tools', "
                                                  r"'session_history'\. Known keywords: name, "):
        RefinireAgent("a", "x", tools=[], session_history=None)


def test_clarify_agent_refuses_unknown_keywords():
    with pytest.raises(UnknownOptionError, match=r"ClarifyAgent 'c': unknown keyword 'wait_for_answr' "
                                                 r"\(did you mean 'wait_for_answer'\?\)\. Known keywords: "):
        ClarifyAgent("c", "Ask", "Clear?", wait_for_answr=True)


def test_router_agent_refuses_unknown_config_keys_in_the_dict_the_keywords_and_a_model():
    routes = {"tech": "tech", "biz": "biz"}
    with pytest.raises(UnknownOptionError) as err:
        RouterAgent({"name": "content_router", "routes": routes, "clasifier_type": "rule"})
    assert str(err.value) == (
        "RouterAgent 'content_router': unknown config key 'clasifier_type' (did you mean "
        "'classifier_type'?). Known config keys: name, routes, classifier_type, "
        "generation_instructions, model, default_route, classification_rules, classification_prompt, "
        "classification_examples, store_classification_result, temperature, timeout, retry, "
        "step_timeout, heartbeat.")
    with pytest.raises(UnknownOptionError, match="unknown config key 'default'"):
        RouterAgent({"name": "r", "routes": routes}, default="biz")

    class Config(BaseModel):
        name: str = "modelled"
        routes: dict
        description: str = "extra"

    with pytest.raises(UnknownOptionError, match="RouterAgent 'modelled': unknown config key 'description'"):
        RouterAgent(Config(routes=routes))


def test_every_known_keyword_still_builds():
    RefinireAgent("w", "Write", "Score", model="m", threshold=80, max_retries=2, temperature=0.2,
                  max_tokens=100, timeout=5, next_step=None, retry=2, heartbeat=1, step_timeout=30)
    ClarifyAgent(name="c", generation_instructions="g", clarification_instructions="c", threshold=80.0,
                 model="m", wait_for_answer=True, answer_timeout=10, temperature=0.1, timeout=5, retry=2)
    RouterAgent({"name": "r", "routes": {"a": "x"}, "classifier_type": "llm", "generation_instructions": "g",
                 "model": "m", "default_route": "a", "temperature": 0, "timeout": 5, "retry": 2,
                 "step_timeout": 30, "heartbeat": 1})
