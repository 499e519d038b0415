"""Protected figures remembered per release: a release never changes once published, so
what a view (``joinedup.views``) returned for it, at a tier and with the same choices, is
the answer for as long as that release is current.

:func:`per_release` wraps a ``current_*`` function. The key is the function, the release's
database file (path, modification time and size), ``partnership.yaml``'s modification
time and size (the disclosure policy and sharing agreements live there) and the
arguments; a call with an argument that is not a plain value (a configuration object, a
function other than the release opener) is not remembered. Errors are never remembered.
Each caller gets its own copy (unpickled from the bytes kept, several times faster
than a deep copy of the dicts and lists), so a page that adds to the dict changes nothing
here. Audit entries are written by the routes, per view, so remembering figures never
skips one.
"""

from __future__ import annotations

import copy
import functools
import pickle
import threading
from collections import OrderedDict
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from joinedup.config import CONFIG_FILE
from joinedup.errors import JoinedupError
from joinedup.release import open_current

__all__ = ["clear_memo", "file_key", "per_release"]

P = ParamSpec("P")
R = TypeVar("R")

#: Most results kept (least recently used go first).
CAPACITY = 512

_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_LOCK = threading.Lock()
_PLAIN = (str, int, float, bool, type(None), Enum)


def _plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, tuple | frozenset):
        return all(_plain(v) for v in value)
    return False


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def file_key(path: Path) -> tuple[str, int, int] | None:
    """A file as a cache key: its resolved path, modification time and size (None when
    it cannot be read). A release's database never changes once built."""
    found = _stat(path)
    return None if found is None else (str(path.resolve()), *found)


class _Pickled(bytes):
    """A remembered result kept as its pickle."""


def _keep(result: Any) -> Any:
    """What is remembered of ``result``: its pickle, else (a value that cannot be
    pickled) a deep copy."""
    try:
        return _Pickled(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    except (pickle.PicklingError, TypeError, AttributeError):
        return copy.deepcopy(result)


def _copy(kept: Any) -> Any:
    """A caller's own copy of a remembered result."""
    if isinstance(kept, _Pickled):
        return pickle.loads(kept)  # noqa: S301 (our own bytes, made in this process)
    return copy.deepcopy(kept)


def clear_memo() -> None:
    """Forget every remembered result."""
    with _LOCK:
        _CACHE.clear()


def per_release(fn: Callable[P, R]) -> Callable[P, R]:
    """Remember ``fn(partnership_dir, ...)``'s results per current release (see above)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if not args:
            return fn(*args, **kwargs)
        opener = kwargs.get("open_release")
        rest = {k: v for k, v in kwargs.items() if k != "open_release"}
        if not all(_plain(a) for a in args[1:]) or not all(_plain(v) for v in rest.values()):
            return fn(*args, **kwargs)
        base = Path(str(args[0]))
        try:
            if opener is None:
                handle = open_current(base)
            else:
                handle = opener(base)  # type: ignore[operator]
            db = Path(getattr(handle, "db_path"))  # noqa: B009 (not in ReleaseLike)
        except (JoinedupError, OSError, AttributeError):
            return fn(*args, **kwargs)  # its own error message for a missing release
        db_stat = _stat(db)
        if db_stat is None:
            return fn(*args, **kwargs)
        key = (
            fn.__module__,
            fn.__qualname__,
            str(db.resolve()),
            db_stat,
            _stat(base / CONFIG_FILE),
            tuple(str(a) if isinstance(a, Path) else a for a in args[1:]),
            tuple(sorted(rest.items())),
        )
        with _LOCK:
            kept = _CACHE.get(key)
            if kept is not None:
                _CACHE.move_to_end(key)
        if kept is not None:
            return _copy(kept)  # type: ignore[no-any-return]
        result = fn(*args, **kwargs)
        with _LOCK:
            _CACHE[key] = _keep(result)
            while len(_CACHE) > CAPACITY:
                _CACHE.popitem(last=False)
        return result

    return wrapper
