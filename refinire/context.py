"""The run's context: what every step sees, and what travels between the workflow and its activities.

It is a pydantic model so that it crosses Temporal's boundary as plain JSON; an attribute that is not
declared cannot be set, which catches typos in step code early.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Context", "Message"]


class Message(BaseModel):
    role: str
    content: str
    metadata: dict[str, Any] = Field(default_factory=dict)


class Context(BaseModel):
    model_config = ConfigDict(validate_assignment=False)

    result: Any = None
    shared_state: dict[str, Any] = Field(default_factory=dict)
    messages: list[Message] = Field(default_factory=list)
    last_user_input: str | None = None
    trace_id: str | None = None
    current_step: str | None = None
    next_label: str | None = None
    step_count: int = 0
    finished: bool = False
    evaluation_result: dict[str, Any] | None = None
    routing_result: dict[str, Any] | None = None
    clarification_result: dict[str, Any] | None = None
    span_history: list[dict[str, Any]] = Field(default_factory=list)
    usage: list[dict[str, Any]] = Field(default_factory=list)

    # Refinire-style messages ---------------------------------------------------------------
    def add_user_message(self, content: str) -> None:
        self.messages.append(Message(role="user", content=str(content)))
        self.last_user_input = str(content)

    def add_assistant_message(self, content: str) -> None:
        self.messages.append(Message(role="assistant", content=str(content)))

    def add_system_message(self, content: str) -> None:
        self.messages.append(Message(role="system", content=str(content)))

    # Routing from inside a step ------------------------------------------------------------
    def goto(self, label: str) -> None:
        self.next_label = label
        self.finished = False

    def finish(self) -> None:
        self.next_label = None
        self.finished = True

    def is_finished(self) -> bool:
        return self.finished

    @property
    def content(self) -> Any:
        if isinstance(self.result, str):
            return self.result
        return getattr(self.result, "content", None)

    @property
    def total_usage(self) -> dict[str, int]:
        """Token usage summed over every model call of the run."""
        totals = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        for entry in self.usage:
            for key in totals:
                totals[key] += int(entry.get(key) or 0)
        return totals

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Context":
        return cls.model_validate(data)
