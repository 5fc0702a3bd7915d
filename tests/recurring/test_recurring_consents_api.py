"""POST/GET/PATCH /recurring-consents: every response validated against automatic-payments-2.0.0.yml."""

import datetime as dt

from opusof.ofb import account_from_wire
from opusof.timeutil import business_date
from recurring.models import RecurringConsent
from recurring.services.amendments import recurring_consent_revoke
from recurring.services.consents import recurring_consent_authorise, recurring_consent_reject
from tests.support.automatic_payments_v2 import error_codes
from tests.support.recurring_bodies import (
    ANA_ACCOUNT,
    BRUNO_ACCOUNT,
    RISK_SIGNALS_EDITION,
    automatic_consent,
    expiry,
    own,
    sweeping_consent,
)


def history(consent_id: str) -> list[tuple[str, str, str]]:
    consent = RecurringConsent.objects.get(recurring_consent_id=consent_id)
    return [(h.from_status, h.to_status, h.actor) for h in consent.history.all()]


# --- POST / GET ------------------------------------------------------------------------------------------------------


def test_sweeping_consent_created_then_authorised(ap2):
    periodic = {"day": {"quantityLimit": 3, "transactionLimit": "300.00"}}
    response, body = ap2.post_consent(sweeping_consent(total="1000.00", transaction="200.00", periodic=periodic))
    assert response.status_code == 201, body
    data = body["data"]
    assert data["status"] == "AWAITING_AUTHORISATION"
    assert data["recurringConfiguration"]["sweeping"]["totalAllowedAmount"] == "1000.00"
    assert data["recurringConfiguration"]["sweeping"]["useOverdraftLimit"] is True
    assert "startDateTime" in data["recurringConfiguration"]["sweeping"]
    assert body["links"]["self"].endswith(f"/recurring-consents/{data['recurringConsentId']}")

    recurring_consent_authorise(
        recurring_consent_id=data["recurringConsentId"],
        debtor_account=account_from_wire(own(ANA_ACCOUNT)),
        actor="customer:ana",
    )
    fetched = ap2.get_consent(data["recurringConsentId"])
    assert fetched["status"] == "AUTHORISED"
    assert fetched["debtorAccount"]["number"] == ANA_ACCOUNT["number"]
    assert "authorisedAtDateTime" in fetched
    assert [h[:2] for h in history(data["recurringConsentId"])] == [
        ("", "AWAITING_AUTHORISATION"),
        ("AWAITING_AUTHORISATION", "AUTHORISED"),
    ]


def test_automatic_consent_created_and_authorised(ap2):
    first = {
        "type": "PIX",
        "date": (business_date() + dt.timedelta(days=1)).isoformat(),
        "currency": "BRL",
        "amount": "50.00",
        "creditorAccount": {"ispb": "12345678", "issuer": "0001", "number": "90000001", "accountType": "CACC"},
    }
    response, body = ap2.post_consent(automatic_consent(first_payment=first, minimum="10.00"))
    assert response.status_code == 201, body
    data = body["data"]
    assert data["recurringConfiguration"]["automatic"]["maximumVariableAmount"] == "500.00"
    assert data["expirationDateTime"].endswith("T23:59:59Z")
    recurring_consent_authorise(
        recurring_consent_id=data["recurringConsentId"],
        debtor_account=account_from_wire(own(ANA_ACCOUNT)),
        actor="customer:ana",
    )
    fetched = ap2.get_consent(data["recurringConsentId"])
    assert fetched["status"] == "AUTHORISED"
    assert fetched["debtorAccount"]["ibgeTownCode"] == "3550308"


def test_multi_approval_goes_partially_accepted_with_due_date(ap2):
    consent_id = ap2.create_consent(sweeping_consent())
    recurring_consent_authorise(
        recurring_consent_id=consent_id,
        debtor_account=account_from_wire(own(ANA_ACCOUNT)),
        actor="customer:ana",
        approvals_required=2,
    )
    fetched = ap2.get_consent(consent_id)
    assert fetched["status"] == "PARTIALLY_ACCEPTED"
    assert fetched["approvalDueDate"] == business_date().isoformat()


def test_account_of_someone_else_rejects_the_consent(ap2):
    consent_id = ap2.create_consent(sweeping_consent())
    recurring_consent_authorise(
        recurring_consent_id=consent_id, debtor_account=account_from_wire(own(BRUNO_ACCOUNT)), actor="customer:ana"
    )
    fetched = ap2.get_consent(consent_id)
    assert fetched["status"] == "REJECTED"
    assert fetched["rejection"]["reason"]["code"] == "CONTA_NAO_PERMITE_PAGAMENTO"
    assert fetched["rejection"]["rejectedBy"] == "DETENTORA"


def test_customer_rejects_at_the_bank(ap2):
    consent_id = ap2.create_consent(automatic_consent())
    recurring_consent_reject(
        recurring_consent_id=consent_id,
        code="REJEITADO_USUARIO",
        detail="O usuário recusou.",
        rejected_by="USUARIO",
        rejected_from="DETENTORA",
        actor="customer:ana",
    )
    rejection = ap2.get_consent(consent_id)["rejection"]
    assert (rejection["rejectedBy"], rejection["rejectedFrom"], rejection["reason"]["code"]) == (
        "USUARIO",
        "DETENTORA",
        "REJEITADO_USUARIO",
    )


def test_unauthorised_consent_expires_on_read(ap2):
    consent_id = ap2.create_consent(sweeping_consent())
    RecurringConsent.objects.filter(recurring_consent_id=consent_id).update(
        authorisation_deadline=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    fetched = ap2.get_consent(consent_id)
    assert fetched["status"] == "REJECTED"
    assert fetched["rejection"]["reason"]["code"] == "TEMPO_EXPIRADO_AUTORIZACAO"


def test_other_tpp_cannot_read_the_consent(ap2, other_tpp):
    from opusof.tokens import access_token_mint

    consent_id = ap2.create_consent(sweeping_consent())
    token = access_token_mint(client=other_tpp.client, grant_type="client_credentials", scopes=["recurring-payments"])
    response = other_tpp.get(f"/open-banking/automatic-payments/v2/recurring-consents/{consent_id}", token=token)
    assert response.status_code == 404


def test_payments_scope_token_is_forbidden(ap2, client_credentials_token):
    ap2.token = client_credentials_token  # scope "payments" only
    response, body = ap2.post_consent(sweeping_consent())
    assert response.status_code == 403


# --- POST validation (one test per 422 code) -------------------------------------------------------------------------


def test_vrp_is_not_enabled(ap2):
    data = sweeping_consent()
    data["recurringConfiguration"] = {"vrp": {"transactionLimit": "10.00"}}
    response, body = ap2.post_consent(data)
    assert response.status_code == 422
    assert error_codes(body) == ["FUNCIONALIDADE_NAO_HABILITADA"]


def test_automatic_expiry_must_be_235959(ap2):
    data = automatic_consent(expiration=expiry().replace("23:59:59", "12:00:00"))
    response, body = ap2.post_consent(data)
    assert response.status_code == 422
    assert error_codes(body) == ["DETALHE_PAGAMENTO_INVALIDO"]


def test_automatic_needs_one_company_creditor(ap2):
    data = automatic_consent()
    data["creditors"] = [{"personType": "PESSOA_NATURAL", "cpfCnpj": "12345678909", "name": "Ana Souza"}]
    response, body = ap2.post_consent(data)
    assert response.status_code == 422
    assert error_codes(body) == ["DETALHE_PAGAMENTO_INVALIDO"]


def test_automatic_fixed_and_variable_amounts_are_exclusive(ap2):
    response, body = ap2.post_consent(automatic_consent(fixed="100.00", maximum="200.00"))
    assert response.status_code == 422
    assert error_codes(body) == ["DETALHE_PAGAMENTO_INVALIDO"]


def test_sweeping_creditor_must_be_the_customer(ap2):
    data = sweeping_consent()
    data["creditors"][0]["cpfCnpj"] = "98765432100"
    response, body = ap2.post_consent(data)
    assert response.status_code == 422
    assert error_codes(body) == ["DETALHE_PAGAMENTO_INVALIDO"]


def test_reference_start_date_in_the_past(ap2):
    data = automatic_consent(reference_start=business_date() - dt.timedelta(days=1))
    response, body = ap2.post_consent(data)
    assert response.status_code == 422
    assert error_codes(body) == ["DATA_PAGAMENTO_INVALIDA"]


def test_missing_required_field(ap2):
    data = sweeping_consent()
    del data["creditors"]
    response, body = ap2.post_consent(data)
    assert response.status_code == 422
    assert error_codes(body) == ["PARAMETRO_NAO_INFORMADO"]


def test_malformed_field(ap2):
    data = sweeping_consent(total="10")
    response, body = ap2.post_consent(data)
    assert response.status_code == 422
    assert error_codes(body) == ["PARAMETRO_INVALIDO"]


def test_idempotency_replay_and_conflict(ap2):
    data = sweeping_consent()
    first, body = ap2.post_consent(data, idempotency_key="same-key")
    again, replay = ap2.post_consent(data, idempotency_key="same-key")
    assert (first.status_code, again.status_code) == (201, 201)
    assert replay["data"] == body["data"]
    other, conflict = ap2.post_consent(sweeping_consent(total="5.00"), idempotency_key="same-key")
    assert other.status_code == 422
    assert error_codes(conflict) == ["ERRO_IDEMPOTENCIA"]
    assert RecurringConsent.objects.count() == 1


# --- PATCH: revoke / reject ------------------------------------------------------------------------------------------


def revocation(code: str = "REVOGADO_USUARIO") -> dict:
    return {
        "status": "REVOKED",
        "revocation": {"revokedBy": "USUARIO", "revokedFrom": "INICIADORA", "reason": {"code": code, "detail": "x"}},
    }


def rejection() -> dict:
    return {
        "status": "REJECTED",
        "rejection": {
            "rejectedBy": "USUARIO",
            "rejectedFrom": "INICIADORA",
            "reason": {"code": "REJEITADO_USUARIO", "detail": "Desistiu."},
        },
    }


def test_tpp_revokes_an_authorised_consent(ap2):
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    response, body = ap2.patch_consent(consent_id, revocation())
    assert response.status_code == 200, body
    assert body["data"]["status"] == "REVOKED"
    assert body["data"]["revocation"]["reason"]["code"] == "REVOGADO_USUARIO"
    assert body["data"]["revocation"]["revokedFrom"] == "INICIADORA"
    assert history(consent_id)[-1][:2] == ("AUTHORISED", "REVOKED")
    assert ap2.get_consent(consent_id)["status"] == "REVOKED"


def test_tpp_rejects_a_consent_awaiting_authorisation(ap2):
    consent_id = ap2.create_consent(sweeping_consent())
    response, body = ap2.patch_consent(consent_id, rejection())
    assert response.status_code == 200, body
    assert body["data"]["status"] == "REJECTED"
    assert body["data"]["rejection"]["rejectedFrom"] == "INICIADORA"


def test_rejected_consent_cannot_be_revoked(ap2):
    consent_id = ap2.create_consent(sweeping_consent())
    ap2.patch_consent(consent_id, rejection())
    response, body = ap2.patch_consent(consent_id, revocation())
    assert response.status_code == 422
    assert error_codes(body) == ["CONSENTIMENTO_NAO_PERMITE_CANCELAMENTO"]


def test_revocation_without_reason_is_parameter_missing(ap2):
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    body = revocation()
    del body["revocation"]["reason"]
    response, errors = ap2.patch_consent(consent_id, body)
    assert response.status_code == 422
    assert error_codes(errors) == ["PARAMETRO_NAO_INFORMADO"]


def test_revocation_with_unknown_reason_is_parameter_invalid(ap2):
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    response, errors = ap2.patch_consent(consent_id, revocation(code="QUALQUER"))
    assert response.status_code == 422
    assert error_codes(errors) == ["PARAMETRO_INVALIDO"]
    assert ap2.get_consent(consent_id)["status"] == "AUTHORISED"


def test_customer_and_staff_revocations_are_recorded(ap2):
    by_customer = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    recurring_consent_revoke(
        recurring_consent_id=by_customer,
        code="REVOGADO_USUARIO",
        detail="Revogado na área de gestão de consentimentos.",
        revoked_by="USUARIO",
        revoked_from="DETENTORA",
        actor="customer:ana",
    )
    revocation_block = ap2.get_consent(by_customer)["revocation"]
    assert (revocation_block["revokedBy"], revocation_block["revokedFrom"]) == ("USUARIO", "DETENTORA")
    assert history(by_customer)[-1] == ("AUTHORISED", "REVOKED", "customer:ana")


# --- PATCH: edition (Pix Automático) ---------------------------------------------------------------------------------


def edition(consent_data: dict, **changes) -> dict:
    data = {
        "creditors": [{"name": creditor["name"]} for creditor in consent_data["creditors"]],
        "loggedUser": consent_data["loggedUser"],
        "riskSignals": RISK_SIGNALS_EDITION,
        "expirationDateTime": consent_data["expirationDateTime"],
        "recurringConfiguration": {
            "automatic": {
                "maximumVariableAmount": consent_data["recurringConfiguration"]["automatic"]["maximumVariableAmount"]
            }
        },
    }
    data.update(changes)
    return data


def test_edit_maximum_amount_and_expiry(ap2):
    consent_data = automatic_consent()
    consent_id = ap2.authorised_consent(consent_data, debtor=own(ANA_ACCOUNT))
    new_expiry = expiry(days=30)
    body = edition(
        consent_data,
        expirationDateTime=new_expiry,
        recurringConfiguration={"automatic": {"maximumVariableAmount": "800.00"}},
        creditors=[{"name": "Loja Nova Ltda"}],
    )
    response, result = ap2.patch_consent(consent_id, body)
    assert response.status_code == 200, result
    data = result["data"]
    assert data["recurringConfiguration"]["automatic"]["maximumVariableAmount"] == "800.00"
    assert data["expirationDateTime"] == new_expiry
    assert data["creditors"][0]["name"] == "Loja Nova Ltda"
    assert data["creditors"][0]["cpfCnpj"] == consent_data["creditors"][0]["cpfCnpj"]
    assert "updatedAtDateTime" in data


def test_edit_without_risk_signals(ap2):
    consent_data = automatic_consent()
    consent_id = ap2.authorised_consent(consent_data, debtor=own(ANA_ACCOUNT))
    body = edition(consent_data, recurringConfiguration={"automatic": {"maximumVariableAmount": "400.00"}})
    del body["riskSignals"]
    response, result = ap2.patch_consent(consent_id, body)
    assert response.status_code == 422
    assert error_codes(result) == ["FALTAM_SINAIS_OBRIGATORIOS_PLATAFORMA"]


def test_a_name_only_edition_needs_neither_risk_signals_nor_logged_user(ap2):
    """yml lines 1539 and 2391: both are mandatory "exceto para o caso de edição exclusiva do campo
    /data/creditors/name"."""
    consent_data = automatic_consent()
    consent_id = ap2.authorised_consent(consent_data, debtor=own(ANA_ACCOUNT))
    body = edition(consent_data, creditors=[{"name": "Loja Nova"}])
    del body["riskSignals"]
    del body["loggedUser"]

    response, result = ap2.patch_consent(consent_id, body)

    assert response.status_code == 200, result
    assert result["data"]["creditors"][0]["name"] == "Loja Nova"


def test_edit_with_multiple_approvers_is_insufficient_permission(ap2):
    consent_data = automatic_consent()
    consent_id = ap2.authorised_consent(consent_data, debtor=own(ANA_ACCOUNT), approvals=2)
    response, result = ap2.patch_consent(consent_id, edition(consent_data))
    assert response.status_code == 422
    assert error_codes(result) == ["PERMISSAO_INSUFICIENTE"]


def test_edit_maximum_of_fixed_amount_consent_is_not_allowed(ap2):
    consent_data = automatic_consent(fixed="100.00", maximum=None)
    consent_id = ap2.authorised_consent(consent_data, debtor=own(ANA_ACCOUNT))
    body = edition({**consent_data, "recurringConfiguration": {"automatic": {"maximumVariableAmount": "100.00"}}})
    response, result = ap2.patch_consent(consent_id, body)
    assert response.status_code == 422
    assert error_codes(result) == ["CAMPO_NAO_PERMITIDO"]


def test_edit_of_sweeping_consent_is_not_allowed(ap2):
    consent_id = ap2.authorised_consent(sweeping_consent(), debtor=own(ANA_ACCOUNT))
    body = {"creditors": [{"name": "Ana"}], "riskSignals": RISK_SIGNALS_EDITION}
    response, result = ap2.patch_consent(consent_id, body)
    assert response.status_code == 422
    assert error_codes(result) == ["CAMPO_NAO_PERMITIDO"]


def test_edit_below_minimum_is_invalid_edition(ap2):
    consent_data = automatic_consent(minimum="50.00")
    consent_id = ap2.authorised_consent(consent_data, debtor=own(ANA_ACCOUNT))
    body = edition(consent_data, recurringConfiguration={"automatic": {"maximumVariableAmount": "10.00"}})
    response, result = ap2.patch_consent(consent_id, body)
    assert response.status_code == 422
    assert error_codes(result) == ["DETALHE_EDICAO_INVALIDO"]


def test_edit_expiry_not_at_235959_is_invalid_edition(ap2):
    consent_data = automatic_consent()
    consent_id = ap2.authorised_consent(consent_data, debtor=own(ANA_ACCOUNT))
    body = edition(consent_data, expirationDateTime=expiry(days=10).replace("23:59:59", "10:00:00"))
    response, result = ap2.patch_consent(consent_id, body)
    assert response.status_code == 422
    assert error_codes(result) == ["DETALHE_EDICAO_INVALIDO"]


def test_name_only_edit_needs_no_logged_user(ap2):
    consent_data = automatic_consent(maximum=None, fixed="100.00")
    consent_id = ap2.authorised_consent(consent_data, debtor=own(ANA_ACCOUNT))
    body = {
        "creditors": [{"name": "Loja Renomeada Ltda"}],
        "riskSignals": RISK_SIGNALS_EDITION,
        "expirationDateTime": consent_data["expirationDateTime"],
    }
    response, result = ap2.patch_consent(consent_id, body)
    assert response.status_code == 200, result
    assert result["data"]["creditors"][0]["name"] == "Loja Renomeada Ltda"
    assert result["data"]["recurringConfiguration"]["automatic"]["fixedAmount"] == "100.00"


def test_edit_by_another_user_is_insufficient_permission(ap2):
    consent_data = automatic_consent()
    consent_id = ap2.authorised_consent(consent_data, debtor=own(ANA_ACCOUNT))
    body = edition(consent_data, loggedUser={"document": {"identification": "98765432100", "rel": "CPF"}})
    body["recurringConfiguration"] = {"automatic": {"maximumVariableAmount": "900.00"}}
    response, result = ap2.patch_consent(consent_id, body)
    assert (response.status_code, error_codes(result)) == (422, ["PERMISSAO_INSUFICIENTE"])
    assert ap2.get_consent(consent_id)["recurringConfiguration"]["automatic"]["maximumVariableAmount"] == "500.00"
