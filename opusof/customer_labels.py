"""The pt-BR words customers read for a code: statuses and account types on the customer pages (template filter
``pt_label`` in opusof/templatetags/labels.py) and on the staff dashboard. The admin shows the same words
(opusof/labels.py builds its choice labels from these), so the customer, the staff and the README say the same
thing."""

PAYMENT_STATUS = {
    "RCVD": "Recebido",
    "PDNG": "Em análise",
    "SCHD": "Agendado",
    "ACCP": "Em processamento",
    "ACPD": "Em processamento",
    "ACSC": "Pago",
    "RJCT": "Rejeitado",
    "CANC": "Cancelado",
}
CONSENT_STATUS = {
    "AWAITING_AUTHORISATION": "Aguardando autorização",
    "PARTIALLY_ACCEPTED": "Aguardando outras aprovações",
    "AUTHORISED": "Autorizado",
    "CONSUMED": "Utilizado",
    "REJECTED": "Rejeitado",
    "REVOKED": "Revogado",
}
ENROLLMENT_STATUS = {
    "AWAITING_RISK_SIGNALS": "Aguardando o aplicativo",
    "AWAITING_ACCOUNT_HOLDER_VALIDATION": "Aguardando sua autorização",
    "AWAITING_ENROLLMENT": "Aguardando o registro do dispositivo",
    "AUTHORISED": "Ativo",
    "REVOKED": "Revogado",
    "REJECTED": "Rejeitado",
}
ACCOUNT_TYPE = {
    "CACC": "Conta corrente",
    "SVGS": "Poupança",
    "TRAN": "Conta de pagamento",
    "SLRY": "Conta salário",
}
RECURRING_PRODUCT = {"automatic": "Pix Automático", "sweeping": "Transferências inteligentes", "vrp": "VRP"}

# The vocabularies the template filter knows: ``{{ payment.status|pt_label:"payment_status" }}``.
VOCABULARIES: dict[str, dict[str, str]] = {
    "payment_status": PAYMENT_STATUS,
    "consent_status": CONSENT_STATUS,
    "enrollment_status": ENROLLMENT_STATUS,
    "account_type": ACCOUNT_TYPE,
    "recurring_product": RECURRING_PRODUCT,
}


def pt_label(value: object, vocabulary: str) -> str:
    """The pt-BR word for ``value``; an unknown code is shown as it is rather than hidden."""
    code = str(getattr(value, "value", value))
    return VOCABULARIES[vocabulary].get(code, code)
