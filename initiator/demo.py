"""The gateway's part of ``manage.py load_demo``: the participants directory (our own holder) and a demo application
with its credential in var/initiator/ (idempotent). The registration at our holder (DCR over HTTP) happens on the
first consent, once the web server is up."""

import json
import secrets
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from initiator.models import Application
from initiator.services.applications import application_create
from initiator.services.participants import OWN_AUTHORISATION_SERVER_ID, participants_refresh

DEMO_APPLICATION_ID = uuid.UUID("3f0e9d8c-7b6a-4c5d-8e9f-0a1b2c3d4e5f")
DEMO_REDIRECT_IDENTIFIER = "app-demo"
DEMO_CALLBACK = "https://app-demo.example.com/pagamento/retorno"


def load_initiator_demo() -> dict[str, Any]:
    listed = participants_refresh()
    folder = Path(settings.VAR_DIR) / "initiator"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    credential_file = folder / "application.json"
    stored = json.loads(credential_file.read_text(encoding="utf-8")) if credential_file.exists() else {}
    application = Application.objects.filter(pk=DEMO_APPLICATION_ID).first()
    state = "already there"
    if application is None or not stored.get("credential"):
        Application.objects.filter(pk=DEMO_APPLICATION_ID).delete()
        application, credential = application_create(
            application_id=DEMO_APPLICATION_ID,
            name="Aplicativo demo",
            fqdn=urlsplit(settings.INITIATOR_BASE_URL).netloc,
            redirect_identifier=DEMO_REDIRECT_IDENTIFIER,
            callback_uris=[DEMO_CALLBACK],
            credential=secrets.token_urlsafe(32),
        )
        stored = {
            "applicationId": str(application.pk),
            "credential": credential,
            "authorisationServerId": OWN_AUTHORISATION_SERVER_ID,
            "callbackApplicationUri": DEMO_CALLBACK,
        }
        credential_file.write_text(json.dumps(stored, indent=2) + "\n", encoding="utf-8")
        credential_file.chmod(0o600)
        state = "created"
    return {"participants": listed, "application": stored, "state": state, "file": str(credential_file)}
