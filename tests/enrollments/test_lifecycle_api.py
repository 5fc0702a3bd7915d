"""Enrollment lifecycle over the API: risk signals, cancellation (reject/revoke) with the spec's reasons and 422
codes, timeouts of each waiting state (lazy on read and the beat sweep), idempotency, the journey's service."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from enrollments.errors import AccountInvalid, EnrollmentStatusNotAllowed
from enrollments.models import Enrollment, EnrollmentStatusChange
from enrollments.services import enrollment_authorise
from enrollments.tasks import expire_due_enrollments
from opusof.ofb import account_from_wire
from tests.support.enrollments_v2 import API, EnrollmentsV2, enrollment_data, own_account
from tests.support.payment_bodies import ANA_CPF, BRUNO_ACCOUNT, BRUNO_CPF


def _code(body: dict) -> str:
    return str(body["errors"][0]["code"])


def _past_deadline(enrollment_id: str) -> None:
    Enrollment.objects.filter(enrollment_id=enrollment_id).update(deadline_at=timezone.now() - dt.timedelta(seconds=1))


# --- creation -------------------------------------------------------------------------------------------------------


def test_creation_without_debtor_account_leaves_it_to_the_bank(v2: EnrollmentsV2) -> None:
    response, body = v2.post_enrollment(enrollment_data())
    assert response.status_code == 201
    assert "debtorAccount" not in body["data"]
    enrollment_id = body["data"]["enrollmentId"]
    v2.post_risk_signals(enrollment_id)
    v2.approve(enrollment_id)
    assert v2.get(enrollment_id)["debtorAccount"]["number"] == own_account()["number"]


def test_creation_with_an_account_of_someone_else_is_conta_invalida(v2: EnrollmentsV2) -> None:
    bruno = {**BRUNO_ACCOUNT, "ispb": own_account()["ispb"]}
    response, body = v2.post_enrollment(enrollment_data(debtor=bruno))
    assert response.status_code == 422
    assert _code(body) == "CONTA_INVALIDA"
    assert not Enrollment.objects.exists()


def test_creation_with_an_account_of_another_bank_is_conta_invalida(v2: EnrollmentsV2) -> None:
    response, body = v2.post_enrollment(enrollment_data(debtor={**own_account(), "ispb": "12345678"}))
    assert response.status_code == 422
    assert _code(body) == "CONTA_INVALIDA"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"permissions": ["PAYMENTS_INITIATE"]}, "PARAMETRO_NAO_INFORMADO"),
        # enrollments-2.1.0.yml line 636: "ou contêm valores não suportados para esta operação"
        ({**enrollment_data(), "permissions": ["ACCOUNTS_READ"]}, "PERMISSOES_INVALIDAS"),
        ({**enrollment_data(), "permissions": ["PAYMENTS_INITIATE", "ACCOUNTS_READ"]}, "PERMISSOES_INVALIDAS"),
        ({**enrollment_data(), "permissions": [7]}, "PARAMETRO_INVALIDO"),
        ({**enrollment_data(), "enrollmentName": "x" * 141}, "PARAMETRO_INVALIDO"),
        # debtorAccount.issuer: "Preenchimento obrigatório para ... CACC e SVGS" (yml line 1566)
        (
            enrollment_data(debtor={k: v for k, v in own_account().items() if k != "issuer"}),
            "PARAMETRO_NAO_INFORMADO",
        ),
    ],
)
def test_creation_body_errors_are_422(v2: EnrollmentsV2, data: dict, code: str) -> None:
    response, body = v2.post_enrollment(data)
    assert response.status_code == 422
    assert _code(body) == code


def test_creation_is_idempotent(v2: EnrollmentsV2) -> None:
    data = enrollment_data(debtor=own_account())
    first, first_body = v2.post_enrollment(data, idempotency_key="enrollment-key-1")
    again, again_body = v2.post_enrollment(data, idempotency_key="enrollment-key-1")
    other, other_body = v2.post_enrollment(enrollment_data(), idempotency_key="enrollment-key-1")

    assert first.status_code == again.status_code == 201
    assert again_body["data"] == first_body["data"]
    assert Enrollment.objects.count() == 1
    assert other.status_code == 422
    assert _code(other_body) == "ERRO_IDEMPOTENCIA"


def test_client_credentials_token_without_payments_scope_is_forbidden(v2: EnrollmentsV2) -> None:
    from opusof.tokens import access_token_mint

    token = access_token_mint(client=v2.tpp.client, grant_type="client_credentials", scopes=["openid"])
    response = v2.tpp.post(f"{API}/enrollments", {"data": enrollment_data()}, token=token)
    assert response.status_code == 403
    v2.checked(response, "enrollments", "post")


# --- risk signals and the bank's approval ---------------------------------------------------------------------------


def test_risk_signals_twice_is_status_vinculo_invalido(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.create()
    assert v2.post_risk_signals(enrollment_id)[0].status_code == 204
    response, body = v2.post_risk_signals(enrollment_id)
    assert response.status_code == 422
    assert _code(body) == "STATUS_VINCULO_INVALIDO"


def test_risk_signals_missing_a_required_signal_is_parametro_nao_informado(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.create()
    response = v2.tpp.post(
        f"{API}/enrollments/{enrollment_id}/risk-signals", {"data": {"deviceId": "x"}}, token=v2.token
    )
    body = v2.checked(response, "risk-signals", "post")
    assert response.status_code == 422
    assert _code(body) == "PARAMETRO_NAO_INFORMADO"
    assert v2.get(enrollment_id)["status"] == "AWAITING_RISK_SIGNALS"


def test_bank_approval_of_another_account_than_the_tpp_fixed_is_refused(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.create()
    v2.post_risk_signals(enrollment_id)
    with pytest.raises(AccountInvalid):
        enrollment_authorise(
            enrollment_id=enrollment_id,
            debtor_account=account_from_wire({**own_account(), "number": "10000002", "accountType": "SVGS"}),
            actor="customer:test",
            transaction_limit=Decimal("100.00"),
        )
    assert v2.get(enrollment_id)["status"] == "AWAITING_ACCOUNT_HOLDER_VALIDATION"


def test_bank_approval_by_another_customer_is_refused(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.create()
    v2.post_risk_signals(enrollment_id)
    with pytest.raises(AccountInvalid):
        enrollment_authorise(
            enrollment_id=enrollment_id,
            debtor_account=account_from_wire(own_account()),
            actor="customer:test",
            transaction_limit=Decimal("100.00"),
            customer_document=BRUNO_CPF,
        )


def test_bank_approval_before_risk_signals_is_refused(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.create()
    with pytest.raises(EnrollmentStatusNotAllowed):
        v2.approve(enrollment_id)
    assert v2.get(enrollment_id)["status"] == "AWAITING_RISK_SIGNALS"


# --- cancellation (PATCH) -------------------------------------------------------------------------------------------


def test_rejection_of_a_waiting_enrollment(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.create()
    response, _ = v2.patch(
        enrollment_id,
        {
            "reason": {"rejectionReason": "REJEITADO_MANUALMENTE"},
            "cancelledBy": {"document": {"identification": ANA_CPF, "rel": "CPF"}},
        },
    )
    assert response.status_code == 204
    data = v2.get(enrollment_id)
    assert data["status"] == "REJECTED"
    assert data["cancellation"]["reason"] == {"rejectionReason": "REJEITADO_MANUALMENTE"}
    assert data["cancellation"]["cancelledFrom"] == "INICIADORA"
    assert data["cancellation"]["cancelledBy"]["document"]["identification"] == ANA_CPF


def test_revocation_of_an_authorised_enrollment(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.authorised()
    response, _ = v2.patch(
        enrollment_id,
        {"reason": {"revocationReason": "REVOGADO_OUTRO"}, "additionalInformation": "Contrato encerrado"},
    )
    assert response.status_code == 204
    data = v2.get(enrollment_id)
    assert data["status"] == "REVOKED"
    assert data["cancellation"]["reason"] == {"revocationReason": "REVOGADO_OUTRO"}
    assert data["cancellation"]["additionalInformation"] == "Contrato encerrado"
    assert data["debtorAccount"]["number"] == own_account()["number"]  # required in REVOKED


@pytest.mark.parametrize(
    ("authorised", "reason", "code"),
    [
        (True, {"rejectionReason": "REJEITADO_MANUALMENTE"}, "MOTIVO_REVOGACAO"),
        (False, {"revocationReason": "REVOGADO_MANUALMENTE"}, "MOTIVO_REJEICAO"),
        (True, {"revocationReason": "REVOGADO_OUTRO"}, "REVOGADO_OUTRO_SEM_DETALHES"),
        (False, {"rejectionReason": "REJEITADO_OUTRO"}, "REJEITADO_OUTRO_SEM_DETALHES"),
    ],
)
def test_cancellation_reason_must_fit_the_status(v2: EnrollmentsV2, authorised: bool, reason: dict, code: str) -> None:
    enrollment_id = v2.authorised() if authorised else v2.create()
    before = v2.get(enrollment_id)["status"]
    response, body = v2.patch(enrollment_id, {"reason": reason})
    assert response.status_code == 422
    assert _code(body) == code
    assert v2.get(enrollment_id)["status"] == before


def test_cancelling_a_cancelled_enrollment_is_status_invalido(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.create()
    v2.patch(enrollment_id, {"reason": {"rejectionReason": "REJEITADO_MANUALMENTE"}})
    response, body = v2.patch(enrollment_id, {"reason": {"rejectionReason": "REJEITADO_MANUALMENTE"}})
    assert response.status_code == 422
    assert _code(body) == "STATUS_INVALIDO"


def test_cancellation_without_reason_is_parametro_nao_informado(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.create()
    response, body = v2.patch(enrollment_id, {"additionalInformation": "sem motivo"})
    assert response.status_code == 422
    assert _code(body) == "PARAMETRO_NAO_INFORMADO"


# --- timeouts -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "reason"),
    [
        (0, "REJEITADO_TEMPO_EXPIRADO_RISK_SIGNALS"),
        (1, "REJEITADO_TEMPO_EXPIRADO_ACCOUNT_HOLDER_VALIDATION"),
        (2, "REJEITADO_TEMPO_EXPIRADO_ENROLLMENT"),
    ],
)
def test_each_waiting_state_expires_on_read(v2: EnrollmentsV2, steps: int, reason: str) -> None:
    enrollment_id = v2.create()
    if steps >= 1:
        v2.post_risk_signals(enrollment_id)
    if steps >= 2:
        v2.approve(enrollment_id)
    _past_deadline(enrollment_id)

    data = v2.get(enrollment_id)

    assert data["status"] == "REJECTED"
    assert data["cancellation"]["reason"] == {"rejectionReason": reason}
    assert data["cancellation"]["cancelledFrom"] == "DETENTORA"
    change = EnrollmentStatusChange.objects.filter(enrollment__enrollment_id=enrollment_id).last()
    assert change is not None and change.actor == "system:expiry" and change.reason == reason


def test_deadlines_follow_the_state_timeouts(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.create()
    enrollment = Enrollment.objects.get(enrollment_id=enrollment_id)
    assert enrollment.deadline_at is not None
    assert enrollment.deadline_at - enrollment.status_updated_at == dt.timedelta(minutes=5)
    v2.post_risk_signals(enrollment_id)
    enrollment.refresh_from_db()
    assert enrollment.deadline_at is not None
    assert enrollment.deadline_at - enrollment.status_updated_at == dt.timedelta(minutes=15)


def test_expired_risk_signals_are_refused(v2: EnrollmentsV2) -> None:
    enrollment_id = v2.create()
    _past_deadline(enrollment_id)
    response, body = v2.post_risk_signals(enrollment_id)
    assert response.status_code == 422
    assert _code(body) == "STATUS_VINCULO_INVALIDO"
    assert Enrollment.objects.get(enrollment_id=enrollment_id).status == "REJECTED"


def test_beat_sweep_expires_due_enrollments_only(v2: EnrollmentsV2) -> None:
    due = v2.create()
    fresh = v2.create()
    authorised = v2.authorised()
    _past_deadline(due)
    Enrollment.objects.filter(enrollment_id=authorised).update(deadline_at=None)

    assert expire_due_enrollments() == 1
    assert expire_due_enrollments() == 0

    statuses = dict(Enrollment.objects.values_list("enrollment_id", "status"))
    assert statuses == {due: "REJECTED", fresh: "AWAITING_RISK_SIGNALS", authorised: "AUTHORISED"}
