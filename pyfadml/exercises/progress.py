"""A student's progress through the exercises, as one JSON text (the page keeps it in the browser's local
storage; natively, keep it in a file).

``status`` maps an exercise key to ``"pass"`` (solved) or ``"fail"`` (tried, not solved yet); ``codes`` maps
it to the student's own code; ``current`` is the exercise open last. The rules: once solved, an exercise
stays solved (:func:`record`, :func:`merge`); what is being worked on now wins over what was saved.

>>> from pyfadml.exercises import check, get
>>> status, codes = {}, {}
>>> record(status, codes, "sigmoid", check("sigmoid", get("sigmoid").solution), get("sigmoid").solution)
>>> status
{'sigmoid': 'pass'}
>>> load(dump(status, codes, "sigmoid"))[0]
{'sigmoid': 'pass'}
"""
from __future__ import annotations

import json

from pyfadml.exercises.catalogue import EXERCISES

VERSION = 1
MAX_CODE_CHARS = 20_000         # a draft longer than this is not kept (local storage is small)


def record(status: dict[str, str], codes: dict[str, str], key: str, result, code: str) -> None:
    """Note a check of ``code`` for exercise ``key`` (``result``: its :class:`~pyfadml.exercises.CheckResult`)."""
    if result.passed:
        status[key] = "pass"
    else:
        status.setdefault(key, "fail")          # once solved, it stays solved
    codes[key] = code


def dump(status: dict[str, str], codes: dict[str, str], current: str) -> str:
    """The JSON text of the progress: solved/tried per exercise, each draft, the open exercise."""
    return json.dumps({"v": VERSION, "status": status, "current": current,
                       "code": {k: v for k, v in codes.items() if len(v) <= MAX_CODE_CHARS}}, sort_keys=True)


def load(text: str) -> tuple[dict[str, str], dict[str, str], str | None]:
    """``(status, codes, current)`` from :func:`dump`'s JSON; anything malformed is dropped, never raised."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return {}, {}, None
    if not isinstance(data, dict) or data.get("v") != VERSION:
        return {}, {}, None
    keys = {e.key for e in EXERCISES}
    status = data.get("status") if isinstance(data.get("status"), dict) else {}
    codes = data.get("code") if isinstance(data.get("code"), dict) else {}
    current = data.get("current") if data.get("current") in keys else None
    return ({k: v for k, v in status.items() if k in keys and v in ("pass", "fail")},
            {k: v for k, v in codes.items() if k in keys and isinstance(v, str) and len(v) <= MAX_CODE_CHARS},
            current)


def merge(status: dict[str, str], codes: dict[str, str], saved_status: dict[str, str],
          saved_codes: dict[str, str]) -> None:
    """Add saved progress to the progress of now: a pass is never lost, drafts of now win over saved ones."""
    for key, state in saved_status.items():
        if state == "pass" or key not in status:
            status[key] = state
    for key, code in saved_codes.items():
        codes.setdefault(key, code)
