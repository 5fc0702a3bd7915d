"""Registers a merchant (and its gateway application); prints its client id and secret (the secret only once)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from merchant.errors import MerchantError
from merchant.services.merchants import merchant_create


class Command(BaseCommand):
    help = "Cria um lojista das APIs Pix (Efí/Belvo) e imprime client_id e client_secret."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--redirect-url", required=True)
        parser.add_argument("--webhook-url", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            merchant, secret = merchant_create(
                name=options["name"], redirect_url=options["redirect_url"], webhook_url=options["webhook_url"]
            )
        except MerchantError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"client_id={merchant.client_id}\nclient_secret={secret}\n")
