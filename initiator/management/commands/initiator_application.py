"""Registers one of the company's applications with the gateway and prints its credential (shown once).

    manage.py initiator_application --name "App" --fqdn app.bank.example --redirect-identifier app \
        --callback https://app.bank.example/retorno [--webhook-url https://internal/hook] [--update-registrations]

Its redirect URI (https://<fqdn>/opus-open-finance/payments/redirect-uri/<identifier>) must reach each holder in
our software statement: ``--update-registrations`` runs DCM at every holder we are registered with."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from initiator.selectors import registrations
from initiator.services.applications import application_create
from initiator.services.consents import HOLDER_FAILURES
from initiator.services.registration import redirect_uri_for, registration_update


class Command(BaseCommand):
    help = "Register an application with the initiator gateway and print its id and credential."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--fqdn", required=True)
        parser.add_argument("--redirect-identifier", required=True)
        parser.add_argument("--callback", action="append", required=True, help="callbackApplicationUri (repeatable)")
        parser.add_argument("--webhook-url", default="")
        parser.add_argument("--update-registrations", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        application, credential = application_create(
            name=options["name"],
            fqdn=options["fqdn"],
            redirect_identifier=options["redirect_identifier"],
            callback_uris=options["callback"],
            webhook_url=options["webhook_url"],
        )
        self.stdout.write(f"applicationId {application.pk}")
        self.stdout.write(f"credential    {credential}")
        self.stdout.write(f"redirect URI  {redirect_uri_for(application)}")
        if options["update_registrations"]:
            for registration in registrations():
                try:
                    registration_update(registration=registration, version=registration.dcm_version)
                except HOLDER_FAILURES as exc:
                    raise CommandError(f"DCM at {registration.participant}: {exc}") from exc
                self.stdout.write(f"DCM at {registration.participant}: {registration.dcm_status}")
