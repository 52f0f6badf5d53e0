"""One student's visit to the exercises: what was checked, each draft, the code set aside for a moment.

The page's Exercises section (:mod:`pyfadml.app.exercises`) shows a :class:`Workbook`; the rules live here:
a check counts and is recorded (:func:`pyfadml.exercises.progress.record`: once solved, solved); the
template itself is no draft; "Show solution" and "Reset to template" set the student's own code aside, one
click away (:meth:`Workbook.back`); progress saved earlier in this browser is merged in, and reopens its
exercise only when nothing was done yet in this visit.

>>> book = Workbook()
>>> book.edited("relu", "# mine")
>>> book.replace("relu", "# mine", get("relu").solution)
>>> book.check("relu", get("relu").solution).passed, book.back("relu")
(True, '# mine')
"""
from __future__ import annotations

from pyfadml.exercises import progress
from pyfadml.exercises.checker import CheckResult, check, get

__all__ = ["Workbook"]


class Workbook:
    """``status`` and ``codes`` as in :mod:`~pyfadml.exercises.progress`, ``drafts`` (exercise -> the
    student's code set aside), ``results`` (exercise -> its last :class:`CheckResult`), ``checks`` (how many
    checks ran)."""

    def __init__(self):
        self.status: dict[str, str] = {}
        self.codes: dict[str, str] = {}
        self.drafts: dict[str, str] = {}
        self.results: dict[str, CheckResult] = {}
        self.checks = 0

    def code(self, key: str) -> str:
        """What exercise ``key``'s editor shows when opened: the student's code, else the template."""
        return self.codes.get(key, get(key).template)

    def check(self, key: str, code: str) -> CheckResult:
        """Grade ``code`` for exercise ``key`` (:func:`pyfadml.exercises.check`) and record it."""
        self.checks += 1
        result = self.results[key] = check(key, code)
        progress.record(self.status, self.codes, key, result, code)
        return result

    def edited(self, key: str, code: str) -> None:
        """Exercise ``key``'s editor now holds ``code`` (the template itself is no draft)."""
        if code == get(key).template:
            self.codes.pop(key, None)
        else:
            self.codes[key] = code

    def replace(self, key: str, mine: str, code: str) -> None:
        """``code`` (the solution or the template) replaces ``mine`` in the editor: the student's own code is
        set aside for :meth:`back` (the template or the solution are not worth keeping)."""
        ex = get(key)
        if mine not in (ex.template, ex.solution, code):
            self.drafts[key] = mine

    def back(self, key: str) -> str | None:
        """The student's code set aside for exercise ``key`` (and no longer aside), or None."""
        return self.drafts.pop(key, None)

    def dump(self, current: str) -> str:
        """:func:`~pyfadml.exercises.progress.dump` of this visit, ``current`` open."""
        return progress.dump(self.status, self.codes, current)

    def merge_saved(self, text: str) -> str | None:
        """Merge progress this browser saved (the JSON of :meth:`dump`; anything malformed counts as none):
        a pass is never lost, this visit's drafts win. Returns the exercise the saved progress had open when
        nothing was checked or written yet in this visit (the page reopens it), else None."""
        status, codes, current = progress.load(text)
        untouched = not self.codes and not self.results
        progress.merge(self.status, self.codes, status, codes)
        return current if untouched else None
