"""kopf's ``Memo``: a dict with attribute access, for what handlers keep between calls."""

from __future__ import annotations

from typing import Any


class Memo(dict[str, Any]):
    """A dict with attribute access, shared by all handlers of an operator (kopf's memo)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None
