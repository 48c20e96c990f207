"""One rule for solvers that take their settings either as keywords or as one frozen object."""

from __future__ import annotations

__all__ = ["resolve_settings"]


def resolve_settings(cls, settings, **keywords):
    """The settings of one call: ``settings`` (an instance of ``cls``) or ``cls(**keywords)``.

    Keywords that are None take the class's default.  Passing ``settings`` together with any
    keyword is a ValueError (one source of truth per call); a ``settings`` of another type a TypeError.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class S:
    ...     n: int = 1
    >>> resolve_settings(S, None, n=None), resolve_settings(S, None, n=3), resolve_settings(S, S(2))
    (S(n=1), S(n=3), S(n=2))
    """
    given = {k: v for k, v in keywords.items() if v is not None}
    if settings is None:
        return cls(**given)
    if not isinstance(settings, cls):
        raise TypeError(f"settings must be a {cls.__name__}; got {type(settings).__name__}")
    if given:
        raise ValueError(f"pass either settings= or the keywords {sorted(given)}, not both")
    return settings
