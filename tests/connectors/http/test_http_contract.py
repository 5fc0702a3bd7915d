"""The mapping layer (connectors.http.contract), both ways, checked against the Opus route contract's own schemas and
examples (connectors/http/spec/pt-br-paymentIntegration-v5.0.0-rc.1-2.2.0.yml)."""

import copy
import datetime as dt
from dataclasses import replace
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator

from connectors.http.contract import wire
from connectors.http.contract.discovery import (
    discovered_accounts_from_response,
    discovery_consent_from_request,
    discovery_params_from_request,
    discovery_request,
    discovery_response,
)
from connectors.http.contract.errors import error_body, errors_from_body
from connectors.http.contract.lookup import (
    PaymentLookup,
    cancellation_request,
    find_request,
    payment_ids_from_request,
    payment_lookup_from_request,
)
from connectors.http.contract.payment import (
    PaymentView,
    initiation_from_request,
    initiation_request,
    payment_response,
    status_from_response,
)
from connectors.http.contract.validation import (
    RecurringValidation,
    payment_data_from_validation_request,
    recurring_validation_from_request,
    validation_request,
    validation_response,
    validation_result_from_response,
)
from connectors.http.contract.wire import ContractError, account_body, request_meta
from connectors.interfaces import (
    AccountRef,
    AccountType,
    AutomaticConfiguration,
    BankPaymentStatus,
    ConsentInfo,
    Creditor,
    DiscoveredAccount,
    FirstPayment,
    PaymentContext,
    PaymentData,
    PaymentInitiation,
    PaymentStatusResult,
    PeriodicLimit,
    RecurringTerms,
    SweepingConfiguration,
    ValidationIssue,
    ValidationResult,
)

SPEC = Path(wire.__file__).resolve().parents[1] / "spec" / "pt-br-paymentIntegration-v5.0.0-rc.1-2.2.0.yml"
# Required by the spec, left out when the caller gives no consent (PaymentData.consent) or initiator; discovery never
# knows a payment consent's creditor and payment.
GAPS = {"tpp", "externalId", "creationDateTime", "expirationDateTime", "cnpjInitiator", "creditor", "payment"}
META = request_meta("0b5b1c1e-7f0e-4c4e-9c43-2f5f4e0a9d11", "opusof")
DEBTOR = AccountRef(ispb="99999004", issuer="0001", number="10000001", account_type=AccountType.CACC)
CREDITOR = AccountRef(ispb="12345678", issuer="0001", number="90000001", account_type=AccountType.CACC)


@cache
def spec() -> dict[str, Any]:
    with SPEC.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.load(handle, Loader=yaml.CSafeLoader)
    return loaded


@cache
def _relaxed(relax: frozenset[str]) -> dict[str, Any]:
    return relaxed_components_uncached(relax)


def relaxed_components(relax: set[str]) -> dict[str, Any]:
    return _relaxed(frozenset(relax))


def relaxed_components_uncached(relax: frozenset[str]) -> dict[str, Any]:
    components = copy.deepcopy(spec()["components"])

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            # With required fields relaxed, oneOf branches (payment / recurring / enrollment consent) overlap.
            if "oneOf" in node:
                node["anyOf"] = node.pop("oneOf")
            if isinstance(node.get("required"), list):
                node["required"] = [name for name in node["required"] if name not in relax]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(components)
    return components


def assert_valid(body: Any, schema_name: str, *, relax: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    # Always relaxed at least from oneOf to anyOf: the spec's oneOf branches overlap (SALDO_INSUFICIENTE is in both
    # CodePaymentStage and CodeConsentStage), so a strict oneOf rejects bodies the spec's own text allows.
    components = relaxed_components(set(relax))
    schema = {**components["schemas"][schema_name], "components": components}
    errors = sorted(OAS30Validator(schema).iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]


def example(name: str) -> Any:
    return copy.deepcopy(spec()["components"]["examples"][name]["value"])


def payment_data(**overrides: Any) -> PaymentData:
    fields: dict[str, Any] = {
        "amount": Decimal("875.60"),
        "local_instrument": "DICT",
        "creditor_account": CREDITOR,
        "creditor_document": "12345678000195",
        "creditor_name": "Loja Exemplo Comercio Ltda",
        "customer_document": "12345678909",
        "debtor_account": DEBTOR,
        "proxy": "shop@example.com",
    }
    return PaymentData(**{**fields, **overrides})


def test_request_meta_uses_the_interaction_id_or_a_fresh_uuid():
    assert request_meta("0B5B1C1E-7F0E-4C4E-9C43-2F5F4E0A9D11", "b")["correlationId"] == (
        "0b5b1c1e-7f0e-4c4e-9c43-2f5f4e0a9d11"
    )
    fresh = request_meta("not-a-uuid", "b")
    assert fresh["correlationId"] != "not-a-uuid" and len(fresh["correlationId"]) == 36
    assert_valid(fresh, "RequestMeta")


@pytest.mark.parametrize(
    "data",
    [
        payment_data(),
        payment_data(payment_date=dt.date(2030, 1, 2), business_document="11222333000181"),
        payment_data(local_instrument="MANU", proxy=None, debtor_account=None, transaction_identification="TX1"),
    ],
    ids=["immediate-dict", "scheduled-business", "manu-without-debtor"],
)
def test_validation_request_round_trips_and_follows_the_spec(data):
    body = validation_request(data, meta=META)
    assert_valid(body, "PaymentValidation", relax={"tpp"})
    assert payment_data_from_validation_request(body) == data


def test_validation_answers_both_ways():
    assert validation_response(ValidationResult()) == (200, {})
    status, body = validation_response(
        ValidationResult((ValidationIssue("SALDO_INSUFICIENTE", "sem saldo"), ValidationIssue("QRCODE_INVALIDO", "x")))
    )
    assert status == 422
    # ErrorPaymentValidation itself has additionalProperties: false and no properties (it rejects any body), so
    # the body is checked against its business-error branch.
    assert_valid(body, "ResponseErrorValidatePaymentData")
    parsed = validation_result_from_response(status, body)
    assert [(i.code, i.detail) for i in parsed.issues] == [
        ("SALDO_INSUFICIENTE", "sem saldo"),
        ("QRCODE_INVALIDO", "x"),
    ]
    assert validation_result_from_response(200, {}).ok


def test_discovery_both_ways():
    body = discovery_request(customer_document="12345678909", business_document="11222333000181", meta=META)
    assert_valid(body, "DiscoveryAccountsPayment", relax=GAPS)
    assert discovery_params_from_request(body) == ("12345678909", "11222333000181")
    accounts = [
        DiscoveredAccount(DEBTOR, "Ana Souza", "12345678909", may_pay=True),
        DiscoveredAccount(CREDITOR, "Ana Souza", "12345678909", may_pay=False),
    ]
    answer = discovery_response(accounts)
    assert_valid(answer, "ResponseDiscoveryAccountsPayment")
    # Only payable accounts travel (spec FAQ); what travels comes back as it was.
    assert discovered_accounts_from_response(answer) == [accounts[0]]


def test_discovery_response_of_the_spec_example_shape():
    answer = {
        "data": {
            "resources": [
                {
                    "resourceName": [{"key": "agencia", "value": "0001"}],
                    "resourceLegacyId": [{"key": "id", "value": "1"}],
                    "authorizers": [{"cpf": "12345678909", "name": "Ana"}],
                    "debtorAccount": {
                        "ispb": "99999004",
                        "issuer": "0001",
                        "number": "10000001",
                        "accountType": "CACC",
                    },
                }
            ]
        }
    }
    assert_valid(answer, "ResponseDiscoveryAccountsPayment")
    [found] = discovered_accounts_from_response(answer)
    assert (found.account, found.holder_name, found.holder_document, found.may_pay) == (
        DEBTOR,
        "Ana",
        "12345678909",
        True,
    )


@pytest.mark.parametrize("scheduled", [False, True])
def test_initiation_round_trips_and_follows_the_spec(scheduled):
    data = payment_data(payment_date=dt.date(2030, 1, 2) if scheduled else None, transaction_identification="TX9")
    initiation = PaymentInitiation(
        payment_id="pay-1",
        end_to_end_id="E12345678202506231400abcdefghijk",
        idempotency_key="pay-1",
        data=data,
        remittance_information="nota 35",
    )
    body = initiation_request(initiation, meta=META)
    assert_valid(body, "CreatePixPayment", relax=GAPS)
    assert body["idempotencyKey"] == "pay-1"
    assert initiation_from_request(body) == initiation


def test_initiation_parsed_from_the_spec_example():
    initiation = initiation_from_request(example("SimpleScheduledPFDictPaymentRequest"))
    assert initiation.data.payment_date is not None
    assert initiation.data.local_instrument == "DICT"
    assert initiation.idempotency_key
    immediate = initiation_from_request(example("ImmediatePFDictPaymentRequest"))
    assert immediate.data.amount == Decimal("875.60")
    assert immediate.data.customer_document == "03795696046"
    assert immediate.data.debtor_account == AccountRef("11703662", "50001", AccountType.TRAN, "0001")
    assert immediate.data.payment_date is None
    assert immediate.end_to_end_id == "E44471172202506231400JCCosta"


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("ImmediatePFDictPaymentResponse", BankPaymentStatus.PDNG),  # RCVD: received, not decided
        ("SimpleScheduledPFDictPaymentResponse", BankPaymentStatus.SCHD),
        ("ImmediatePFDictFindResponse", BankPaymentStatus.ACSC),
        ("SimpleScheduledPFDictCancellationResponse", BankPaymentStatus.CANC),
    ],
)
def test_status_parsed_from_the_spec_examples(name, status):
    result = status_from_response(example(name))
    assert result.status == status
    assert result.bank_reference.startswith(("instantPaymentId=", "scheduledPaymentId="))


def test_payment_response_both_ways():
    view = PaymentView(
        payment_id="pay-1",
        end_to_end_id="E12345678202506231400abcdefghijk",
        amount=Decimal("10.00"),
        currency="BRL",
        local_instrument="DICT",
        creditor_account=CREDITOR,
        debtor_account=DEBTOR,
        created_at=dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC),
        proxy="shop@example.com",
        bank_id="7",
    )
    rejected = PaymentStatusResult(BankPaymentStatus.RJCT, rejection_code="SALDO_INSUFICIENTE", rejection_detail="x")
    body = payment_response(view, rejected, now=dt.datetime(2026, 1, 1, 12, 1, tzinfo=dt.UTC))
    assert_valid(body, "ResponseCreatePixPayment", relax={"cnpjInitiator"})
    assert_valid(body, "ResponseFindPixPayment", relax={"cnpjInitiator"})
    parsed = status_from_response(body)
    assert (parsed.status, parsed.rejection_code, parsed.rejection_detail) == (
        BankPaymentStatus.RJCT,
        "SALDO_INSUFICIENTE",
        "x",
    )
    settled_at = dt.datetime(2026, 1, 1, 12, 0, 5, tzinfo=dt.UTC)
    settled = status_from_response(
        payment_response(view, PaymentStatusResult(BankPaymentStatus.ACSC, settled_at=settled_at), now=settled_at)
    )
    assert settled.settled_at == settled_at
    assert settled.bank_reference == "opusofPaymentId=pay-1;bankPaymentId=7"


def test_find_and_cancellation_requests_carry_our_ids():
    find = find_request(payment_id="pay-1", end_to_end_id="E1", meta=META)
    cancel = cancellation_request(payment_id="pay-1", end_to_end_id="E1", meta=META)
    # A caller holding only the payment's ids (no PaymentContext): the consent's people and the canceller are unknown.
    assert_valid(find, "FindPixPayment", relax=GAPS | {"loggedUser"})
    assert_valid(cancel, "CancellationPixPayment", relax=GAPS | {"loggedUser", "cancellation"})
    assert cancel["requestBody"]["data"]["status"] == "CANC"
    assert payment_ids_from_request(find) == payment_ids_from_request(cancel) == ("pay-1", "E1")


def test_error_body_both_ways():
    body = error_body([("PAGAMENTO_NAO_PERMITE_CANCELAMENTO", "já liquidado")])
    assert_valid(body, "ErrorFindAndCancellationPixPayment")
    assert errors_from_body(body) == [("PAGAMENTO_NAO_PERMITE_CANCELAMENTO", "já liquidado")]
    assert_valid(error_body([("SALDO_INSUFICIENTE", "sem saldo")]), "ErrorCreatePixPayment")


@pytest.mark.parametrize(
    "body",
    [{}, {"data": {}}, {"data": {"status": "XXXX"}}, {"errors": []}],
)
def test_malformed_bodies_raise_contract_error(body):
    with pytest.raises(ContractError):
        status_from_response(body) if "errors" not in body else errors_from_body(body)


# --- consent fields, cnpjInitiator, loggedUser and cancelledBy ------------------------------------------------------

CREATED = dt.datetime(2026, 5, 4, 10, 30, tzinfo=dt.UTC)
EXPIRES = dt.datetime(2026, 5, 4, 11, 30, tzinfo=dt.UTC)
CONSENT = ConsentInfo(
    consent_id="urn:opusof:c-1", tpp_name="Iniciadora Exemplo", created_at=CREATED, expires_at=EXPIRES
)
AUTOMATIC = AutomaticConfiguration(
    contract_id="CONTRATO123",
    interval="MENSAL",
    contract_debtor_name="Ana Souza",
    contract_debtor_document="12345678909",
    is_retry_accepted=True,
    reference_start_date=dt.date(2026, 5, 4),
    maximum_variable_amount=Decimal("500.00"),
    minimum_variable_amount=Decimal("10.00"),
    first_payment=FirstPayment(
        date=dt.date(2026, 5, 5), amount=Decimal("30.00"), creditor_account=CREDITOR, remittance_information="adesão"
    ),
)
SWEEPING = SweepingConfiguration(
    total_allowed_amount=Decimal("1000.00"),
    transaction_limit=Decimal("100.00"),
    periodic_limits=(
        PeriodicLimit("day", quantity_limit=2),
        PeriodicLimit("month", transaction_limit=Decimal("900.00")),
    ),
)
MERCHANT = Creditor("12345678000195", "Loja Exemplo Comercio Ltda")


def recurring_consent(configuration=AUTOMATIC, start_at: dt.datetime | None = None, **overrides: Any) -> ConsentInfo:
    terms = RecurringTerms((MERCHANT,), configuration, start_at=start_at, additional_information="academia")
    fields: dict[str, Any] = {"consent_id": "urn:opusof:rc-1", "tpp_name": "Iniciadora Exemplo"}
    fields |= {"created_at": CREATED, "expires_at": None, "recurring": terms}
    return ConsentInfo(**{**fields, **overrides})


def recurring_payment_data(consent: ConsentInfo | None = None, **overrides: Any) -> PaymentData:
    fields: dict[str, Any] = {
        "amount": Decimal("120.00"),
        "local_instrument": "MANU",
        "creditor_account": CREDITOR,
        "creditor_document": MERCHANT.document,
        "creditor_name": MERCHANT.name,
        "customer_document": "12345678909",
        "debtor_account": DEBTOR,
        "payment_date": dt.date(2026, 5, 7),
        "consent": consent or recurring_consent(),
        "cnpj_initiator": "50685362000135",
        "transaction_identification": None,
        "proxy": None,
    }
    return PaymentData(**{**fields, **overrides})


def test_payment_consent_fields_travel_and_the_spec_needs_nothing_more():
    data = payment_data(consent=CONSENT, cnpj_initiator="50685362000135")
    initiation = PaymentInitiation("pay-1", "E12345678202506231400abcdefghijk", "pay-1", data, "nota 35")
    body = initiation_request(initiation, meta=META)
    # Nothing relaxed: tpp, externalId, creationDateTime, expirationDateTime and cnpjInitiator are all there now.
    assert_valid(body, "CreatePixPayment")
    assert body["consent"]["tpp"] == {"name": "Iniciadora Exemplo"}
    assert (body["consent"]["creationDateTime"], body["consent"]["expirationDateTime"]) == (
        "2026-05-04T10:30:00Z",
        "2026-05-04T11:30:00Z",
    )
    assert body["requestBody"]["data"]["cnpjInitiator"] == "50685362000135"
    assert initiation_from_request(body) == initiation


def test_validation_carries_tpp_external_id_and_initiator_but_no_times():
    data = payment_data(consent=CONSENT, cnpj_initiator="50685362000135")
    body = validation_request(data, meta=META)
    assert_valid(body, "PaymentValidation")
    assert body["requestBody"]["data"]["externalId"] == "urn:opusof:c-1"
    # ValidatePaymentConsentPaymentValidation has no creationDateTime / expirationDateTime.
    expected = PaymentData(**{**data.__dict__, "consent": ConsentInfo("urn:opusof:c-1", "Iniciadora Exemplo")})
    assert payment_data_from_validation_request(body) == expected


def test_status_and_cancel_carry_the_consent_logged_user_and_who_cancelled():
    context = PaymentContext(payment_data(consent=CONSENT), cancelled_by="98765432100")
    find = find_request(payment_id="pay-1", end_to_end_id="E1", meta=META, context=context)
    cancel = cancellation_request(payment_id="pay-1", end_to_end_id="E1", meta=META, context=context)
    assert_valid(find, "FindPixPayment")
    assert_valid(cancel, "CancellationPixPayment")
    assert cancel["requestBody"]["data"] == {
        "status": "CANC",
        "cancellation": {"cancelledBy": {"document": {"identification": "98765432100", "rel": "CPF"}}},
    }
    looked_up = payment_lookup_from_request(cancel)
    assert looked_up == PaymentLookup(
        payment_id="pay-1",
        end_to_end_id="E1",
        consent=CONSENT,
        customer_document="12345678909",
        debtor_account=DEBTOR,
        cancelled_by="98765432100",
    )
    assert payment_lookup_from_request(find) == replace(looked_up, cancelled_by=None)


# --- the recurring variant (PAYMENT_RECURRING_CONSENT) --------------------------------------------------------------


@pytest.mark.parametrize("configuration", [AUTOMATIC, SWEEPING], ids=["automatic", "sweeping"])
def test_recurring_initiation_round_trips_and_follows_the_spec(configuration):
    consent = recurring_consent(configuration, start_at=dt.datetime(2026, 5, 4, 12, tzinfo=dt.UTC))
    initiation = PaymentInitiation(
        payment_id="rp-2",
        end_to_end_id="E12345678202605071400abcdefghijk",
        idempotency_key="rp-2",
        data=recurring_payment_data(consent),
        remittance_information="Mensalidade",
        original_recurring_payment_id="rp-1",
        payment_reference="M05-2026",
        authorisation_flow="HYBRID_FLOW",
        ibge_town_code="5300108",
    )
    body = initiation_request(initiation, meta=META)
    assert_valid(body, "CreatePixPayment")
    assert_valid(body["consent"], "ConsentRecurringPayment")
    assert body["paymentType"] == "PAYMENT_RECURRING_CONSENT"
    data = body["requestBody"]["data"]
    assert data["recurringConsentId"] == "urn:opusof:rc-1"
    assert data["originalRecurringPaymentId"] == [{"key": "recurringPaymentId", "value": "rp-1"}]
    assert (data["date"], data["paymentReference"]) == ("2026-05-07", "M05-2026")
    assert data["document"] == {"identification": MERCHANT.document, "rel": "CNPJ"}
    assert initiation_from_request(body) == initiation


def test_recurring_configuration_travels_as_the_contract_spells_it():
    block = initiation_request(PaymentInitiation("rp-1", "E1", "rp-1", recurring_payment_data()), meta=META)["consent"][
        "recurringConfiguration"
    ]["automatic"]
    assert block == {
        "contractId": "CONTRATO123",
        "interval": "MENSAL",
        "contractDebtor": {"name": "Ana Souza", "document": {"identification": "12345678909", "rel": "CPF"}},
        "isRetryAccepted": True,
        "useOverdraftLimit": True,
        "referenceStartDate": "2026-05-04",
        "maximumVariableAmount": "500.00",
        "minimumVariableAmount": "10.00",
        "firstPayment": {
            "type": "PIX",
            "date": "2026-05-05",
            "currency": "BRL",
            "amount": "30.00",
            "creditorAccount": account_body(CREDITOR),
            "remittanceInformation": "adesão",
        },
    }


def test_recurring_validation_round_trips_and_follows_the_spec():
    data = recurring_payment_data()
    terms = recurring_consent().recurring
    assert terms is not None
    body = validation_request(data, meta=META)
    assert_valid(body, "PaymentValidation")
    assert body["requestBody"]["paymentType"] == "PAYMENT_RECURRING_CONSENT"
    assert "amount" not in body["requestBody"]["data"]["payment"]  # a recurring consent has no amount of its own
    assert recurring_validation_from_request(body) == RecurringValidation(
        customer_document="12345678909",
        business_document=None,
        debtor_account=DEBTOR,
        # ValidatePaymentRecurringConsent has neither the consent's times nor its additionalInformation.
        consent=replace(recurring_consent(), created_at=None, recurring=replace(terms, additional_information=None)),
        cnpj_initiator="50685362000135",
    )


def test_recurring_discovery_round_trips_and_follows_the_spec():
    consent = recurring_consent(SWEEPING, expires_at=EXPIRES)
    body = discovery_request(
        customer_document="12345678909", business_document="11222333000181", meta=META, consent=consent
    )
    assert_valid(body, "DiscoveryAccountsPayment")
    assert body["paymentType"] == "PAYMENT_RECURRING_CONSENT"
    assert discovery_params_from_request(body) == ("12345678909", "11222333000181")
    assert discovery_consent_from_request(body) == consent


def test_recurring_status_and_cancel_round_trip_and_follow_the_spec():
    context = PaymentContext(recurring_payment_data(), cancelled_by="98765432100")
    find = find_request(payment_id="rp-1", end_to_end_id="E1", meta=META, context=context)
    cancel = cancellation_request(payment_id="rp-1", end_to_end_id="E1", meta=META, context=context)
    assert_valid(find, "FindPixPayment")
    assert_valid(cancel, "CancellationPixPayment")
    # EnumRecurringPaymentCancellationStatusType: a recurring cancellation asks for REJECTED.
    assert cancel["requestBody"]["data"]["status"] == "REJECTED"
    assert payment_lookup_from_request(cancel) == PaymentLookup(
        payment_id="rp-1",
        end_to_end_id="E1",
        recurring=True,
        consent=recurring_consent(),
        customer_document="12345678909",
        debtor_account=DEBTOR,
        cancelled_by="98765432100",
    )
    # A receiver (CNPJ) may cancel a recurring payment; PatchPixRecurringPaymentData's identification allows a CNPJ
    # but its rel pattern ([A-Z]{3}) cannot spell CNPJ: we send the regulator's value, CNPJ.
    by_receiver = PaymentContext(recurring_payment_data(), cancelled_by=MERCHANT.document)
    cancel = cancellation_request(payment_id="rp-1", end_to_end_id="E1", meta=META, context=by_receiver)
    assert cancel["requestBody"]["data"]["cancellation"]["cancelledBy"]["document"] == {
        "identification": MERCHANT.document,
        "rel": "CNPJ",
    }
    assert payment_lookup_from_request(cancel).cancelled_by == MERCHANT.document


@pytest.mark.parametrize(
    "name",
    [
        "AutomaticPixWithFirstScheduledPaymentPFPaymentRequest",
        "AutomaticPixWithFirstImmediatePaymentPFPaymentRequest",
        "SweepingPFDictPaymentRequest",
    ],
)
def test_recurring_initiations_parsed_from_the_spec_examples(name):
    # (The two AutomaticPixWithoutFirstPayment*PaymentRequest examples nest requestBody inside consent: malformed.)
    body = example(name)
    initiation = initiation_from_request(body)
    consent = initiation.data.consent
    assert consent is not None and consent.recurring is not None
    assert consent.consent_id == body["requestBody"]["data"]["recurringConsentId"]
    assert initiation.data.amount == Decimal(body["requestBody"]["data"]["payment"]["amount"])
    assert initiation.data.payment_date == dt.date.fromisoformat(body["requestBody"]["data"]["date"])
