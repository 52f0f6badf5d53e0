"""pyfadml.exercises.workbook: the rules of one visit to the exercises, without a page."""
from __future__ import annotations

import doctest

import pyfadml.exercises.workbook as workbook_module
from pyfadml.exercises import get, progress
from pyfadml.exercises.workbook import Workbook


def test_doctest():
    assert doctest.testmod(workbook_module).failed == 0


def test_checks_count_and_a_pass_stays_a_pass():
    book = Workbook()
    assert book.code("tanh") == get("tanh").template
    assert not book.check("tanh", get("tanh").template).passed and book.status == {"tanh": "fail"}
    assert book.check("tanh", get("tanh").solution).passed
    assert not book.check("tanh", "# broken again").passed
    assert book.status == {"tanh": "pass"} and book.checks == 3
    assert book.results["tanh"].kind != "pass" and book.code("tanh") == "# broken again"


def test_the_template_is_no_draft_and_only_the_students_code_is_set_aside():
    book = Workbook()
    book.edited("relu", "# mine")
    assert book.code("relu") == "# mine"
    book.edited("relu", get("relu").template)
    assert "relu" not in book.codes
    book.replace("relu", get("relu").template, get("relu").solution)     # nothing of the student's to keep
    assert book.back("relu") is None
    book.replace("relu", "# mine", get("relu").solution)
    book.replace("relu", get("relu").solution, get("relu").template)     # the solution is not kept over it
    assert book.back("relu") == "# mine" and book.back("relu") is None


def test_saved_progress_merges_and_reopens_only_an_untouched_visit():
    saved = progress.dump({"tanh": "pass", "relu": "fail"}, {"relu": "# saved"}, "relu")
    fresh = Workbook()
    assert fresh.merge_saved(saved) == "relu"
    assert fresh.status == {"tanh": "pass", "relu": "fail"} and fresh.code("relu") == "# saved"
    busy = Workbook()
    busy.check("sigmoid", get("sigmoid").solution)
    assert busy.merge_saved(progress.dump({"sigmoid": "fail"}, {"sigmoid": "# old"}, "tanh")) is None
    assert busy.status == {"sigmoid": "pass"} and busy.code("sigmoid") == get("sigmoid").solution
    assert busy.merge_saved("not json") is None and busy.status == {"sigmoid": "pass"}
    assert '"current": "sigmoid"' in busy.dump("sigmoid")
