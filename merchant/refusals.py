"""The one translation of a payer's bank refusal into the merchant's words (docs/merchant.md, "Holder refusals").

The payer's bank says why in OFB codes: a 422 on the consent or payments creation (payments v4
``EnumErrorsCreatePayment``, the consent's ``422`` codes), a payment's ``rejectionReason`` (``EnumRejectionReasonType``)
or a consent's ``rejection.reason`` (``EnumConsentRejectionReasonType``). The code stays in the history for staff;
the merchant reads Efí's status ``rejeitado`` with a pt-BR message, or Belvo's ``FAILED`` with a ``failure_code``.
Pure: renderers call it inside the domain's transactions."""

import re
from dataclasses import dataclass

EFI_STATUS = "rejeitado"
BELVO_STATUS = "FAILED"


@dataclass(frozen=True)
class Refusal:
    message: str  # pt-BR: Efí's ``mensagem``, Belvo's ``failure_message``
    belvo_code: str  # Belvo's ``failure_code``


_INFRASTRUCTURE = Refusal("Falha de infraestrutura ao liquidar o Pix; tente novamente.", "infrastructure_failure")

REFUSALS: dict[str, Refusal] = {
    # payments v4 rejectionReason (EnumRejectionReasonType) and 422 codes of the payments creation
    "SALDO_INSUFICIENTE": Refusal("Saldo insuficiente na conta do pagador.", "insufficient_funds"),
    "VALOR_ACIMA_LIMITE": Refusal("Valor acima do limite do pagador.", "amount_above_limit"),
    "VALOR_INVALIDO": Refusal("Valor recusado pela instituição do pagador.", "invalid_amount"),
    "COBRANCA_INVALIDA": Refusal("Cobrança inválida ou vencida.", "invalid_charge"),
    "NAO_INFORMADO": Refusal("A instituição do pagador recusou sem informar o motivo.", "payment_rejected"),
    "PAGAMENTO_DIVERGENTE_CONSENTIMENTO": Refusal(
        "Pagamento divergente do que o pagador autorizou.", "payment_consent_mismatch"
    ),
    "DETALHE_PAGAMENTO_INVALIDO": Refusal(
        "Dados do favorecido ou do pagamento recusados pela instituição do pagador.", "invalid_payment_details"
    ),
    "PAGAMENTO_RECUSADO_DETENTORA": Refusal("Pagamento recusado pela instituição do pagador.", "payment_rejected"),
    "PAGAMENTO_RECUSADO_SPI": Refusal("Pagamento recusado pelo SPI (Banco Central).", "payment_rejected_spi"),
    "FALHA_INFRAESTRUTURA": _INFRASTRUCTURE,
    "FALHA_INFRAESTRUTURA_SPI": _INFRASTRUCTURE,
    "FALHA_INFRAESTRUTURA_DICT": _INFRASTRUCTURE,
    "FALHA_INFRAESTRUTURA_ICP": _INFRASTRUCTURE,
    "FALHA_INFRAESTRUTURA_PSP_RECEBEDOR": _INFRASTRUCTURE,
    "FALHA_INFRAESTRUTURA_DETENTORA": _INFRASTRUCTURE,
    "CONTAS_ORIGEM_DESTINO_IGUAIS": Refusal("A conta do pagador é a própria conta favorecida.", "same_account"),
    "CONSENTIMENTO_INVALIDO": Refusal("A autorização do pagador não está mais válida.", "consent_invalid"),
    "PARAMETRO_NAO_INFORMADO": Refusal(
        "Parâmetros da recorrência recusados pela instituição do pagador.", "invalid_parameters"
    ),
    "PARAMETRO_INVALIDO": Refusal(
        "Parâmetros da recorrência recusados pela instituição do pagador.", "invalid_parameters"
    ),
    "FALHA_AGENDAMENTO_PAGAMENTOS": Refusal(
        "A instituição do pagador não conseguiu agendar as cobranças.", "scheduling_failed"
    ),
    # 422 codes of the consent creation (payments v4 POST /consents)
    "FORMA_PAGAMENTO_INVALIDA": Refusal(
        "Forma de pagamento não aceita pela instituição do pagador.", "invalid_payment_method"
    ),
    "DATA_PAGAMENTO_INVALIDA": Refusal("Datas da recorrência recusadas pela instituição do pagador.", "invalid_date"),
    # the consent's rejection.reason (EnumConsentRejectionReasonType)
    "TEMPO_EXPIRADO_AUTORIZACAO": Refusal("O pagador não autorizou a tempo.", "consent_expired"),
    "TEMPO_EXPIRADO_CONSUMO": Refusal("O pagador não concluiu o pagamento a tempo.", "consent_expired"),
    "REJEITADO_USUARIO": Refusal("O pagador recusou a autorização.", "consent_rejected"),
    "CONTA_NAO_PERMITE_PAGAMENTO": Refusal("A conta escolhida não permite este pagamento.", "account_not_allowed"),
    "QRCODE_INVALIDO": Refusal("QR Code recusado pela instituição do pagador.", "invalid_qr_code"),
    # the consent's status when it carries no reason
    "REJECTED": Refusal("A autorização do pagador foi rejeitada.", "consent_rejected"),
    "REVOKED": Refusal("O pagador revogou a autorização.", "consent_revoked"),
}

DEFAULT = Refusal("A instituição do pagador recusou a recorrência.", "payment_rejected")


def refusal(reasons: str) -> Refusal:
    """The first known code of a recorded reason (``"SALDO_INSUFICIENTE"``, ``"NAO_INFORMADO, PARAMETRO_INVALIDO"``,
    ``"consentimento REVOKED"``); an unknown or missing one is the generic refusal."""
    for code in re.findall(r"[A-Z][A-Z_]+", reasons):
        if code in REFUSALS:
            return REFUSALS[code]
    return DEFAULT


def refusal_message(reasons: str) -> str:
    return refusal(reasons).message
