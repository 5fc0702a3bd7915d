"""Every model change has its migration: a label or choice changed by one app's work (opusof/labels.py applies names
across apps) must not leave another app's schema state behind."""

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_lacks_a_migration():
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:
        pytest.fail(f"makemigrations --check exited {exc.code}:\n{out.getvalue()}")
    assert "No changes detected" in out.getvalue()
