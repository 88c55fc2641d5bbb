"""``refinire.core.exceptions``: Refinire's import path for its exception types."""

from ..errors import (
    RefinireAPIError,
    RefinireAuthenticationError,
    RefinireConfigurationError,
    RefinireConnectionError,
    RefinireError,
    RefinireModelError,
    RefinireNetworkError,
    RefinireRateLimitError,
    RefinireTimeoutError,
    RefinireValidationError,
)

__all__ = [
    "RefinireAPIError",
    "RefinireAuthenticationError",
    "RefinireConfigurationError",
    "RefinireConnectionError",
    "RefinireError",
    "RefinireModelError",
    "RefinireNetworkError",
    "RefinireRateLimitError",
    "RefinireTimeoutError",
    "RefinireValidationError",
]
