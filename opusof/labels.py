"""Every pt-BR word people read for a code: statuses and account types on the customer pages (template filter
``pt_label`` in opusof/templatetags/labels.py) and, in the admin, model names, field names and choice labels
(:func:`apply_admin_labels`, run once the models are loaded). One place, so the customer, the staff and the
README say the same thing.

Regulated reason codes (``SALDO_INSUFICIENTE``, ``REJEITADO_USUARIO``...) are already Portuguese and are what staff
search for, so the admin shows them as they are.
"""

from django.apps import apps
from django.db import models

# --- what customers read ----------------------------------------------------------------------------------------------

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


# --- what staff read in the admin -------------------------------------------------------------------------------------

# (app_label, model name) → (singular, plural).
MODEL_NAMES: dict[tuple[str, str], tuple[str, str]] = {
    ("opusof", "tppclient"): ("iniciadora (cliente TPP)", "iniciadoras (clientes TPP)"),
    ("opusof", "accesstoken"): ("token de acesso", "tokens de acesso"),
    ("opusof", "idempotencyrecord"): ("registro de idempotência", "registros de idempotência"),
    ("authserver", "clientauthsettings"): (
        "autenticação de cliente",
        "autenticações de clientes",
    ),
    ("authserver", "pushedauthorisationrequest"): ("pedido de autorização (PAR)", "pedidos de autorização (PAR)"),
    ("authserver", "authorisationcode"): ("código de autorização", "códigos de autorização"),
    ("authserver", "refreshtoken"): ("token de renovação", "tokens de renovação"),
    ("connectors", "sandboxcustomer"): ("cliente do banco sandbox", "clientes do banco sandbox"),
    ("connectors", "sandboxaccount"): ("conta do banco sandbox", "contas do banco sandbox"),
    ("connectors", "sandboxpixkey"): ("chave Pix do banco sandbox", "chaves Pix do banco sandbox"),
    ("connectors", "sandboxqrcode"): ("QR Code do banco sandbox", "QR Codes do banco sandbox"),
    ("connectors", "sandboxpayment"): ("pagamento no banco sandbox", "pagamentos no banco sandbox"),
    ("connectors", "sandboxledgerentry"): ("lançamento do banco sandbox", "lançamentos do banco sandbox"),
    ("connectors", "connectorcall"): ("chamada ao conector", "chamadas ao conector"),
    ("consents", "paymentconsent"): ("consentimento de pagamento", "consentimentos de pagamento"),
    ("consents", "consentstatuschange"): ("mudança de situação do consentimento", "histórico de consentimentos"),
    ("payments", "pixpayment"): ("pagamento Pix", "pagamentos Pix"),
    ("payments", "paymentstatuschange"): ("mudança de situação do pagamento", "histórico de pagamentos"),
    ("recurring", "recurringconsent"): ("consentimento recorrente", "consentimentos recorrentes"),
    ("recurring", "recurringconsentstatuschange"): (
        "mudança de situação do consentimento recorrente",
        "histórico de consentimentos recorrentes",
    ),
    ("recurring", "recurringpayment"): ("pagamento recorrente", "pagamentos recorrentes"),
    ("recurring", "recurringpaymentstatuschange"): (
        "mudança de situação do pagamento recorrente",
        "histórico de pagamentos recorrentes",
    ),
    ("enrollments", "enrollment"): ("vínculo de dispositivo", "vínculos de dispositivo"),
    ("enrollments", "enrollmentstatuschange"): ("mudança de situação do vínculo", "histórico de vínculos"),
    ("enrollments", "fidocredential"): ("credencial FIDO", "credenciais FIDO"),
    ("enrollments", "fidochallenge"): ("desafio FIDO", "desafios FIDO"),
    ("enrollments", "enrollmentconsentauthorisation"): (
        "autorização de consentimento por vínculo",
        "autorizações de consentimento por vínculo",
    ),
    ("outbox", "outboxevent"): ("evento de webhook", "eventos de webhook"),
    ("outbox", "webhookdelivery"): ("entrega de webhook", "entregas de webhook"),
    ("payments", "paymentpollstate"): ("consulta de situação ao banco", "consultas de situação ao banco"),
    ("payments", "bankdiscrepancy"): ("divergência com o banco", "divergências com o banco"),
    ("opusof", "usedjti"): ("jti utilizado", "jtis utilizados"),
    ("initiator", "participant"): ("participante (detentora)", "participantes (detentoras)"),
    ("initiator", "holderregistration"): ("registro na detentora", "registros nas detentoras"),
    ("initiator", "application"): ("aplicação", "aplicações"),
    ("initiator", "initiatorconsent"): ("consentimento iniciado", "consentimentos iniciados"),
    ("initiator", "initiatorconsentstatuschange"): (
        "mudança de situação do consentimento iniciado",
        "histórico de consentimentos iniciados",
    ),
    ("initiator", "initiatorpayment"): ("pagamento iniciado", "pagamentos iniciados"),
    ("initiator", "initiatorpaymentstatuschange"): (
        "mudança de situação do pagamento iniciado",
        "histórico de pagamentos iniciados",
    ),
    ("initiator", "initiatorenrollment"): ("vínculo iniciado", "vínculos iniciados"),
    ("initiator", "initiatorenrollmentstatuschange"): (
        "mudança de situação do vínculo iniciado",
        "histórico de vínculos iniciados",
    ),
    ("initiator", "holdercall"): ("chamada à detentora", "chamadas às detentoras"),
    ("initiator", "applicationnotification"): ("notificação à aplicação", "notificações às aplicações"),
    ("merchant", "merchant"): ("lojista", "lojistas"),
    ("merchant", "merchanttoken"): ("token de acesso do lojista", "tokens de acesso dos lojistas"),
    ("merchant", "plan"): ("Pix recorrente do lojista", "Pix recorrentes dos lojistas"),
    ("merchant", "planstatuschange"): ("mudança de situação do Pix recorrente", "histórico de Pix recorrentes"),
    ("merchant", "parcel"): ("parcela", "parcelas"),
    ("merchant", "parcelstatuschange"): ("mudança de situação da parcela", "histórico de parcelas"),
    ("merchant", "merchantwebhook"): ("webhook ao lojista", "webhooks aos lojistas"),
    ("initiator", "scheduledcharge"): ("cobrança agendada", "cobranças agendadas"),
    ("initiator", "scheduledchargestatuschange"): (
        "mudança de situação da cobrança agendada",
        "histórico de cobranças agendadas",
    ),
}

APP_NAMES = {
    "opusof": "Plataforma",
    "authserver": "Servidor de autorização",
    "connectors": "Conectores e banco sandbox",
    "consents": "Consentimentos (pagamentos v4)",
    "payments": "Pagamentos Pix (pagamentos v4)",
    "recurring": "Pagamentos automáticos v2",
    "enrollments": "Vínculos de dispositivo v2",
    "outbox": "Webhooks e consultas ao banco",
    "initiator": "Iniciadora (gateway)",
    "merchant": "APIs Pix para lojistas (Efí, Belvo)",
}

# Field name → label, for every model of the apps above (a name means the same thing wherever it appears).
FIELD_NAMES = {
    "id": "ID",
    "reference": "referência",
    "due_date": "vencimento",
    "template": "modelo do pagamento",
    "send_from": "enviar a partir de",
    "original_payment_id": "pagamento original",
    "charge": "cobrança",
    "created_at": "criado em",
    "updated_at": "atualizado em",
    "client": "iniciadora",
    "status": "situação",
    "status_updated_at": "situação desde",
    "expires_at": "expira em",
    "consent_id": "ID do consentimento",
    "consent": "consentimento",
    "amount": "valor",
    "currency": "moeda",
    "from_status": "de",
    "to_status": "para",
    "actor": "autor",
    "reason": "motivo",
    "scopes": "escopos",
    "rejection_detail": "detalhe da rejeição",
    "rejection_reason": "motivo da rejeição",
    "rejection_code": "código da rejeição",
    "debtor_ispb": "ISPB do pagador",
    "debtor_issuer": "agência do pagador",
    "debtor_number": "conta do pagador",
    "debtor_account_type": "tipo de conta do pagador",
    "debtor_account": "conta do pagador",
    "creditor_ispb": "ISPB do recebedor",
    "creditor_issuer": "agência do recebedor",
    "creditor_number": "conta do recebedor",
    "creditor_account_type": "tipo de conta do recebedor",
    "creditor_account": "conta do recebedor",
    "creditor_document": "CPF/CNPJ do recebedor",
    "creditor_name": "nome do recebedor",
    "creditors": "recebedores",
    "local_instrument": "forma de iniciação",
    "proxy": "chave Pix",
    "cancelled_at": "cancelado em",
    "cancellation_reason": "motivo do cancelamento",
    "cancelled_from": "cancelado pela",
    "cancelled_by_document": "cancelado pelo documento",
    "cancelled_by_rel": "tipo do documento de quem cancelou",
    "payment": "pagamento",
    "payment_id": "ID do pagamento",
    "enrollment": "vínculo",
    "enrollment_id": "ID do vínculo",
    "enrollment_name": "nome do vínculo",
    "revoked_at": "revogado em",
    "used_at": "usado em",
    "kind": "tipo",
    "end_to_end_id": "endToEndId",
    "qr_code": "QR Code",
    "url": "URL",
    "logged_user_document": "CPF do usuário",
    "business_entity_document": "CNPJ da empresa",
    "request_data": "dados do pedido",
    "risk_signals": "sinais de risco",
    "name": "nome",
    "token_hash": "hash do token",
    "cert_thumbprint": "impressão do certificado",
    "key": "chave",
    "redirect_uri": "URI de retorno",
    "redirect_uris": "URIs de retorno",
    "state": "estado",
    "nonce": "nonce",
    "code_challenge": "desafio PKCE",
    "subject": "titular (sub)",
    "transaction_limit": "limite por transação",
    "daily_limit": "limite diário",
    "account": "conta",
    "idempotency_key": "chave de idempotência",
    "scheduled_date": "data agendada",
    "attempt": "tentativa",
    "attempts": "tentativas",
    "outcome": "resultado",
    "latency_ms": "latência (ms)",
    "pending_approvals": "aprovações pendentes",
    "remittance_information": "informação ao recebedor",
    "transaction_identification": "identificador da transação (txid)",
    "ibge_town_code": "código IBGE do município",
    "bank_reference": "referência do banco",
    "cnpj_initiator": "CNPJ da iniciadora",
    "authorisation_flow": "fluxo de autorização",
    "rp_id": "RP ID",
    "last_error": "último erro",
    "client_id": "client_id",
    "organisation_id": "ID da organização",
    "organisation_name": "nome da organização",
    "software_statement_id": "ID do software statement",
    "webhook_uris": "URIs de webhook",
    "jwks": "JWKS",
    "jwks_uri": "URI do JWKS",
    "roles": "papéis",
    "grant_type": "tipo de concessão",
    "endpoint": "operação",
    "data_hash": "hash dos dados",
    "response_status": "status HTTP da resposta",
    "response_body": "corpo da resposta",
    "token_endpoint_auth_method": "método de autenticação",
    "tls_client_auth_subject_dn": "DN do certificado (tls_client_auth)",
    "registration_access_token_hash": "hash do token de registro",
    "software_statement": "software statement",
    "metadata": "metadados",
    "request_uri": "request_uri",
    "response_type": "response_type",
    "response_mode": "response_mode",
    "code_hash": "hash do código",
    "auth_time": "autenticado em",
    "access_token": "token de acesso",
    "refresh_token": "token de renovação",
    "businesses": "empresas",
    "document": "CPF/CNPJ",
    "password": "senha",
    "authorised_people": "pessoas autorizadas",
    "ispb": "ISPB",
    "issuer": "agência",
    "number": "número",
    "account_type": "tipo de conta",
    "owner": "titular",
    "balance": "saldo",
    "may_pay": "pode pagar",
    "behaviour": "comportamento",
    "slow_seconds": "atraso (s)",
    "settle_delay_seconds": "liquida após (s)",
    "key_type": "tipo de chave",
    "txid": "txid",
    "payload": "conteúdo",
    "pix_key": "chave Pix",
    "location": "location",
    "settle_after": "liquida após",
    "settled_at": "liquidado em",
    "direction": "sentido",
    "balance_after": "saldo após",
    "route": "rota",
    "method": "método",
    "http_status": "status HTTP",
    "error_code": "código do erro",
    "error_detail": "detalhe do erro",
    "correlation_id": "correlationId",
    "payment_date": "data do pagamento",
    "schedule": "agendamento",
    "scheduled_dates": "datas agendadas",
    "batch_id": "lote",
    "recurring_consent_id": "ID do consentimento recorrente",
    "product": "produto",
    "authorised_at": "autorizado em",
    "authorisation_deadline": "prazo de autorização",
    "approval_due_date": "aprovar até",
    "approvals_required": "aprovações exigidas",
    "configuration": "configuração",
    "rejected_by": "rejeitado por",
    "rejected_from": "rejeitado pela",
    "rejected_at": "rejeitado em",
    "revoked_by": "revogado por",
    "revoked_from": "revogado pela",
    "revocation_code": "código da revogação",
    "revocation_detail": "detalhe da revogação",
    "recurring_payment_id": "ID do pagamento recorrente",
    "recurring_payment": "pagamento recorrente",
    "date": "data",
    "document_identification": "documento",
    "document_rel": "tipo do documento",
    "payment_reference": "referência do pagamento",
    "original_recurring_payment_id": "pagamento recorrente original",
    "deadline_at": "prazo",
    "permissions": "permissões",
    "customer_name": "nome do cliente",
    "user_handle": "user handle",
    "platform": "plataforma",
    "additional_information": "informação adicional",
    "credential_id": "ID da credencial",
    "public_key": "chave pública",
    "sign_count": "contador de assinaturas",
    "aaguid": "AAGUID",
    "attestation_format": "formato do atestado",
    "origin": "origem",
    "last_used_at": "último uso em",
    "purpose": "finalidade",
    "challenge": "desafio",
    "business_date": "data de negócio",
    "resource_id": "ID do recurso",
    "webhook_uri": "URI de webhook",
    "occurred_at": "ocorrido em",
    "next_attempt_at": "próxima tentativa em",
    "claimed_by": "reservado por",
    "claimed_until": "reservado até",
    "delivered_at": "entregue em",
    "event": "evento",
    "interaction_id": "x-fapi-interaction-id",
    "trigger": "origem do envio",
    "status_code": "status HTTP",
    "error": "erro",
    "next_poll_at": "próxima consulta em",
    "last_polled_at": "última consulta em",
    "needs_attention": "requer atenção",
    "flagged_at": "sinalizado em",
    "scope": "escopo",
    "jti": "jti",
    "request_key": "chave de idempotência do pedido",
    "bank_requested_at": "enviado ao banco em",
    "refused_at_creation": "recusado na criação",
    "cancel_request": "pedido de cancelamento",
    "cancel_requested_at": "cancelamento pedido em",
    "record": "registro",
    "our_status": "nossa situação",
    "bank_status": "situação no banco",
    "our_amount": "nosso valor",
    "bank_amount": "valor no banco",
    "detail": "detalhe",
    "found_at": "encontrada em",
    "checked_at": "verificada em",
    "resolved_at": "resolvida em",
    "resolution": "resolução",
    "authorisation_server_id": "ID do servidor de autorização",
    "registration_number": "CNPJ (registro)",
    "friendly_name": "nome",
    "logo_uri": "logotipo",
    "description": "descrição",
    "discovery_url": "URL de descoberta (OIDC)",
    "api_resources": "APIs servidas",
    "flags": "marcadores",
    "active": "ativo",
    "refreshed_at": "atualizado do diretório em",
    "participant": "participante",
    "registration_client_uri": "URI de gestão do registro (DCM)",
    "registration_access_token": "token de gestão do registro (DCM)",
    "dcm_version": "versão do registro",
    "dcm_status": "situação do registro",
    "registered_at": "registrado em",
    "fqdn": "FQDN",
    "redirect_identifier": "identificador de redirecionamento",
    "callback_uris": "URIs de retorno",
    "webhook_url": "URL de webhook",
    "external_client_id": "ID externo do cliente",
    "credential_hash": "hash da credencial",
    "application": "aplicação",
    "regulatory_version": "versão regulatória",
    "request_body": "corpo do pedido",
    "holder_data": "dados na detentora",
    "holder_read_at": "lido na detentora em",
    "callback_uri": "URI de retorno",
    "callback_url": "URL de retorno do pagador",
    "code_verifier": "code_verifier (PKCE)",
    "authorisation_url": "URL de autorização",
    "authorisation_result": "resultado da autorização",
    "access_token_expires_at": "token de acesso expira em",
    "poll_attempts": "consultas feitas",
    "request_hash": "hash do pedido",
    "holder_status_code": "status HTTP da detentora",
    "holder_body": "resposta da detentora",
    "create_answer": "resposta da criação",
    "operation": "operação",
    "last_status_code": "último status HTTP",
    "client_secret_hash": "hash do segredo do cliente",
    "redirect_url": "URL de retorno",
    "webhook_security": "segurança do webhook",
    "webhook_secret": "segredo do webhook (HMAC)",
    "merchant": "lojista",
    "dialect": "dialeto da API",
    "own_id": "identificador próprio",
    "payer_cpf": "CPF do pagador",
    "payer_cnpj": "CNPJ do pagador",
    "creditor": "favorecido",
    "recurrence": "recorrência",
    "plan": "Pix recorrente",
    "sequence": "parcela nº",
    "parcel": "parcela",
    "body": "corpo",
}

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
    ("outbox", "webhookdelivery", "outcome"): {"FAILED": "Falha final (4xx, tentativas esgotadas, URI removida)"},
}
LABELLED_APPS = frozenset(APP_NAMES)


def apply_admin_labels() -> None:
    """Names every model, field and choice of opusof's apps in pt-BR for the admin. Set on the loaded classes
    rather than written into each models.py, so the vocabulary stays here, and a field or model added on another
    branch takes its label from here too (tests/test_labels.py fails while one has none)."""
    for config in apps.get_app_configs():
        if config.label in APP_NAMES:
            config.verbose_name = APP_NAMES[config.label]
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label not in LABELLED_APPS:
            continue
        names = MODEL_NAMES.get((meta.app_label, meta.model_name or ""))
        if names is not None:
            meta.verbose_name, meta.verbose_name_plural = names
        for field in meta.get_fields():
            if not isinstance(field, models.Field):
                continue
            if field.name in FIELD_NAMES:
                field.verbose_name = FIELD_NAMES[field.name]
            if field.choices:
                overrides = FIELD_CHOICE_LABELS.get((meta.app_label, meta.model_name or "", field.name), {})
                field.choices = [
                    (value, overrides.get(str(value), CHOICE_LABELS.get(str(value), str(value))))
                    for value, _ in field.flatchoices
                ]


def unlabelled() -> list[str]:
    """Models, fields and choice values of opusof's apps the admin would show in English (tests/test_labels.py)."""
    missing = []
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label not in LABELLED_APPS:
            continue
        if (meta.app_label, meta.model_name) not in MODEL_NAMES:
            missing.append(f"model {meta.label}")
        for field in meta.get_fields():
            if isinstance(field, models.Field) and field.name not in FIELD_NAMES:
                missing.append(f"field {meta.label}.{field.name}")
    return missing
