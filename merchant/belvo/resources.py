"""Belvo's resources around a payment intent: customers and beneficiary bank accounts (registered once, then named
by id in intents), and the payer institutions (the gateway's directory)."""

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from initiator.selectors import participants
from merchant.belvo import parse, render
from merchant.belvo.views import BelvoApi, page_of
from merchant.errors import NotFound
from merchant.models import BeneficiaryAccount, Customer
from merchant.services.registry import beneficiary_find, beneficiary_register, customer_find, customer_register


class BelvoCustomersApi(BelvoApi):
    def post(self, request: Request) -> Response:
        merchant = self.merchant(request)
        customer, created = customer_register(merchant=merchant, **parse.customer_fields(request.data, "body"))
        return Response(render.customer_json(customer), status=201 if created else 200)

    def get(self, request: Request) -> Response:
        merchant = self.merchant(request)
        page = page_of(request, list(Customer.objects.filter(merchant=merchant)), "/payments/br/customers/")
        page["results"] = [render.customer_json(c) for c in page["results"]]
        return Response(page)


class BelvoCustomerApi(BelvoApi):
    def get(self, request: Request, customer_id: str) -> Response:
        customer = customer_find(merchant=self.merchant(request), customer_id=customer_id)
        if customer is None:
            raise NotFound("Customer not found.")
        return Response(render.customer_json(customer))


class BelvoBankAccountsApi(BelvoApi):
    def post(self, request: Request) -> Response:
        merchant = self.merchant(request)
        account, created = beneficiary_register(merchant=merchant, beneficiary=parse.beneficiary(request.data, "body"))
        return Response(render.account_json(account), status=201 if created else 200)

    def get(self, request: Request) -> Response:
        merchant = self.merchant(request)
        accounts = list(BeneficiaryAccount.objects.filter(merchant=merchant))
        page = page_of(request, accounts, "/payments/br/bank-accounts/")
        page["results"] = [render.account_json(a) for a in page["results"]]
        return Response(page)


class BelvoBankAccountApi(BelvoApi):
    def get(self, request: Request, account_id: str) -> Response:
        account = beneficiary_find(merchant=self.merchant(request), account_id=account_id)
        if account is None:
            raise NotFound("Bank account not found.")
        return Response(render.account_json(account))


def _institution(participant: Any) -> dict[str, Any]:
    return {
        "id": participant.authorisation_server_id,
        "name": participant.friendly_name,
        "display_name": participant.friendly_name,
        "legal_entity_name": participant.organisation_name,
        "cnpj": participant.registration_number,
        "description": participant.description,
        "logo": participant.logo_uri or None,
        "country_code": "BR",
        "status": "healthy",
    }


class BelvoInstitutionsApi(BelvoApi):
    def get(self, request: Request) -> Response:
        self.merchant(request)
        page = page_of(request, participants(family_type="payments-pix"), "/payments/br/institutions/")
        page["results"] = [_institution(p) for p in page["results"]]
        return Response(page)


class BelvoInstitutionApi(BelvoApi):
    def get(self, request: Request, institution_id: str) -> Response:
        self.merchant(request)
        for participant in participants(family_type="payments-pix"):
            if participant.authorisation_server_id == institution_id:
                return Response(_institution(participant))
        raise NotFound("Institution not found.")
