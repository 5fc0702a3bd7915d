"""Staff see the authorisation server's records and can revoke refresh tokens; hashes are never shown."""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from opusof.authserver.models import RefreshToken


def test_admin_lists_and_revokes_refresh_tokens(admin_client, tpp):
    token = RefreshToken.objects.create(
        token_hash="f" * 64,
        client=tpp.client,
        scopes=["openid", "payments"],
        consent_id="urn:opusof:x",
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    for model in ("clientauthsettings", "pushedauthorisationrequest", "authorisationcode", "refreshtoken"):
        response = admin_client.get(reverse(f"admin:authserver_{model}_changelist"))
        assert response.status_code == 200, model
    detail = admin_client.get(reverse("admin:authserver_refreshtoken_change", args=[token.pk]))
    assert detail.status_code == 200
    assert "f" * 64 not in detail.content.decode()
    response = admin_client.post(
        reverse("admin:authserver_refreshtoken_changelist"),
        {"action": "revoke_refresh_tokens", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
