"""The version table in the code and its rendering in docs/spec-versions.md stay one and the same."""

from pathlib import Path

from opusof.spec_versions import CHOICES, markdown_table

DOC = Path(__file__).resolve().parents[2] / "docs" / "spec-versions.md"


def test_the_docs_render_the_table_of_the_code() -> None:
    assert markdown_table() in DOC.read_text(encoding="utf-8")


def test_every_choice_names_a_unique_key_and_where_it_lives() -> None:
    keys = [row.key for row in CHOICES]

    assert len(keys) == len(set(keys))
    assert all(row.where and row.follows and row.behaviour for row in CHOICES)
