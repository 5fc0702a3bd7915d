"""Choice labels of the admin (applied by opusof/admin_labels.py): by value, and by field where one value means
different things."""

from opusof.customer_labels import ACCOUNT_TYPE, CONSENT_STATUS, ENROLLMENT_STATUS, PAYMENT_STATUS, RECURRING_PRODUCT

# Choice labels by value, for every choice field of the apps above whose values are not regulated codes.
CHOICE_LABELS = {
    **{code: f"{label} ({code})" for code, label in PAYMENT_STATUS.items()},
    **{code: f"{label} ({code})" for code, label in CONSENT_STATUS.items()},
    **{code: f"{label} ({code})" for code, label in ACCOUNT_TYPE.items()},
    **RECURRING_PRODUCT,
    "ACTIVE": "Ativo",
    "INACTIVE": "Inativo",
    "USED": "Usado",
    "STATIC": "Estático",
    "DYNAMIC": "Dinâmico",
    "DEBIT": "Débito",
    "CREDIT": "Crédito",
    "CPF": "CPF",
    "CNPJ": "CNPJ",
    "PHONE": "Telefone",
    "EMAIL": "E-mail",
    "EVP": "Aleatória (EVP)",
    "MANU": "Dados da conta (MANU)",
    "DICT": "Chave Pix (DICT)",
    "QRDN": "QR Code dinâmico (QRDN)",
    "QRES": "QR Code estático (QRES)",
    "INIC": "Iniciado pelo recebedor (INIC)",
    "OK": "Respondida",
    "UNAVAILABLE": "Indisponível (tempo esgotado, conexão, 5xx)",
    "CIRCUIT_OPEN": "Não enviada: circuito aberto",
    "PENDING": "Pendente",
    "INDIVIDUAL": "Pessoa física",
    "BUSINESS": "Pessoa jurídica",
    "DELIVERED": "Entregue",
    "FAILED": "Falhou",
    "RETRY": "Falha temporária (nova tentativa)",
    "REGISTRATION": "Registro",
    "AUTHENTICATION": "Autenticação",
    "INICIADORA": "Iniciadora",
    "DETENTORA": "Detentora",
    "USUARIO": "Usuário",
    "HYBRID_FLOW": "Redirecionamento (HYBRID_FLOW)",
    "CIBA_FLOW": "CIBA (CIBA_FLOW)",
    "FIDO_FLOW": "Sem redirecionamento (FIDO_FLOW)",
    "PAYMENT_CONSENT": "consentimento (pagamentos v4)",
    "PIX_PAYMENT": "pagamento Pix (pagamentos v4)",
    "RECURRING_CONSENT": "consentimento recorrente (pagamentos automáticos v2)",
    "RECURRING_PAYMENT": "pagamento recorrente (pagamentos automáticos v2)",
    "ENROLLMENT": "vínculo (vínculos v2)",
}
# The same value means different things in these fields: (app_label, model, field) → {value: label}.
FIELD_CHOICE_LABELS = {
    ("enrollments", "enrollment", "status"): {code: f"{label} ({code})" for code, label in ENROLLMENT_STATUS.items()},
    ("initiator", "initiatorenrollment", "status"): {
        code: f"{label} ({code})" for code, label in ENROLLMENT_STATUS.items()
    },
    ("connectors", "connectorcall", "outcome"): {"REJECTED": "Recusada (erro de negócio)"},
    ("merchant", "refund", "status"): {
        "CREATED": "Registrada, aguardando o banco (CREATED)",
        "PROCESSING": "Em processamento no banco (PROCESSING)",
        "REFUNDED": "Devolvida (REFUNDED)",
        "REJECTED": "Não realizada (REJECTED)",
    },
    ("connectors", "sandboxpixrefund", "status"): {
        "EM_PROCESSAMENTO": "Em processamento",
        "DEVOLVIDO": "Devolvido",
        "NAO_REALIZADO": "Não realizado",
    },
    ("outbox", "webhookdelivery", "outcome"): {"FAILED": "Falha final (4xx, tentativas esgotadas, URI removida)"},
}
