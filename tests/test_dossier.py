"""Dossier IDs become key prefixes: only safe ones are accepted, with a clear reason."""

from __future__ import annotations

import pytest

from pipeline.dossier import PORTAL_CODE, InvalidDossierId, check_dossier_id, document_id, stack_id


@pytest.mark.parametrize("good", ["000.00.22.H26-250305-0001", "HS-2019-0042", "archive_1998.12"])
def test_safe_ids_are_accepted(good):
    assert check_dossier_id(good) == good


@pytest.mark.parametrize("bad, why", [
    ("", "empty"),
    ("../etc/passwd", "only letters"),
    ("a/b", "only letters"),
    ("000.00.22.H26 250305", "only letters"),
    ("a..b", "only letters"),
    (".hidden", "only letters"),
    ("hồ-sơ-1", "only letters"),
    ("x" * 65, "at most 64"),
])
def test_unsafe_ids_are_refused(bad, why):
    with pytest.raises(InvalidDossierId, match=why):
        check_dossier_id(bad)


def test_portal_code_is_recognised():
    assert PORTAL_CODE.fullmatch("000.00.22.H26-250305-0001")
    assert not PORTAL_CODE.fullmatch("HS-2019-0042")


def test_ids_are_stable_for_the_same_content():
    assert stack_id("ab" * 32) == stack_id("ab" * 32) != stack_id("cd" * 32)
    stack = stack_id("ab" * 32)
    assert document_id(stack, 0) == document_id(stack, 0) != document_id(stack, 1) != document_id(stack_id("cd" * 32), 1)
