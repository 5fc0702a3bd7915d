"""What differs between the two regulated APIs a gateway consent can live in at a holder — payments v4 and
automatic payments v2 (Pix Automático, sweeping): the Directory families and major version, the OAuth scopes, the
consent body's required fields and the names of the ids. Everything else (PAR, return paths, token custody,
record-before-effect, tracking) is shared."""

from dataclasses import dataclass

from initiator.models import ConsentProduct
from initiator.services import participants as directory


@dataclass(frozen=True)
class Product:
    consents_family: str
    pix_family: str
    major: str
    scope: str  # client_credentials scope and the fixed part of the authorisation scope
    consent_scope_prefix: str  # dynamic scope of the authorisation (payments v4 "consent:", AP v2 "recurring-consent:")
    consent_fields: tuple[str, ...]
    consent_id_name: str  # the id's name in the gateway's answer to the application
    payment_id_name: str  # the payment id's name in the holder's payment answers


PRODUCTS = {
    ConsentProduct.PAYMENTS: Product(
        consents_family=directory.CONSENTS_FAMILY,
        pix_family=directory.PIX_FAMILY,
        major="4",
        scope="payments",
        consent_scope_prefix="consent:",
        consent_fields=("loggedUser", "creditor", "payment"),
        consent_id_name="consentId",
        payment_id_name="paymentId",
    ),
    # automatic-payments-2.0.0.yml: scope recurring-payments, dynamic scope recurring-consent:{recurringConsentId},
    # the consent requires loggedUser, creditors and recurringConfiguration.
    ConsentProduct.AUTOMATIC_PAYMENTS: Product(
        consents_family=directory.RECURRING_CONSENTS_FAMILY,
        pix_family=directory.RECURRING_PIX_FAMILY,
        major="2",
        scope="recurring-payments",
        consent_scope_prefix="recurring-consent:",
        consent_fields=("loggedUser", "creditors", "recurringConfiguration"),
        consent_id_name="recurringConsentId",
        payment_id_name="recurringPaymentId",
    ),
}


def product_of(product: str) -> Product:
    return PRODUCTS[ConsentProduct(product)]
