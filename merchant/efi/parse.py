"""The Efí create body (POST /v1/pagamentos-recorrentes/pix) read into the domain's PlanRequest; every problem is
an InvalidRequest naming the Efí field, rendered ``{nome, mensagem}``."""

import datetime as dt
import hashlib
import json
import re
from decimal import Decimal
from typing import Any

from merchant.errors import InvalidRequest
from merchant.models import Recurrence
from merchant.services.plans import Beneficiary, PlanRequest

RECURRENCES = {
    "diaria": Recurrence.DAILY,
    "semanal": Recurrence.WEEKLY,
    "mensal": Recurrence.MONTHLY,
    "personalizada": Recurrence.CUSTOM,
}
ACCOUNT_TYPES = ("CACC", "SVGS", "TRAN", "SLRY")
AMOUNT = re.compile(r"^[0-9]{1,15}\.[0-9]{2}$")


def request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _object(parent: Any, name: str, path: str) -> dict[str, Any]:
    value = parent.get(name) if isinstance(parent, dict) else None
    if not isinstance(value, dict):
        raise InvalidRequest(f"{path} é obrigatório e deve ser um objeto.", field=path)
    return value


def _text(
    parent: dict[str, Any], name: str, path: str, *, pattern: str = "", max_length: int = 140, required: bool = True
) -> str:
    value = parent.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise InvalidRequest(f"{path} é obrigatório (texto de até {max_length} caracteres).", field=path)
    if pattern and not re.fullmatch(pattern, value):
        raise InvalidRequest(f"{path} em formato inválido.", field=path)
    return value


def _date(value: Any, path: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else _bad_date(path)
    except ValueError:
        return _bad_date(path)


def _bad_date(path: str) -> dt.date:
    raise InvalidRequest(f"{path} deve ser uma data AAAA-MM-DD.", field=path)


def plan_request(body: Any) -> PlanRequest:
    if not isinstance(body, dict):
        raise InvalidRequest("O corpo deve ser um objeto JSON.")
    payer = _object(body, "pagador", "pagador")
    account = _object(_object(body, "favorecido", "favorecido"), "contaBanco", "favorecido.contaBanco")
    payment = _object(body, "pagamento", "pagamento")
    recurrence = _object(payment, "recorrencia", "pagamento.recorrencia")
    kind = recurrence.get("tipo")
    if kind not in RECURRENCES:
        raise InvalidRequest(
            "pagamento.recorrencia.tipo deve ser diaria, semanal, mensal ou personalizada.",
            field="pagamento.recorrencia.tipo",
        )
    amount_text = _text(payment, "valor", "pagamento.valor", max_length=20)
    if not AMOUNT.match(amount_text) or Decimal(amount_text) <= 0:
        raise InvalidRequest(
            'pagamento.valor deve ser um valor positivo com duas casas (ex.: "9.90").', field="pagamento.valor"
        )
    account_type = _text(account, "tipoConta", "favorecido.contaBanco.tipoConta", max_length=4)
    if account_type not in ACCOUNT_TYPES:
        raise InvalidRequest(
            "favorecido.contaBanco.tipoConta deve ser CACC, SVGS, TRAN ou SLRY.",
            field="favorecido.contaBanco.tipoConta",
        )
    start: dt.date | None = None
    quantity = 0
    dates: list[dt.date] = []
    if RECURRENCES[kind] == Recurrence.CUSTOM:
        raw = recurrence.get("datas")
        if not isinstance(raw, list) or not raw:
            raise InvalidRequest(
                "pagamento.recorrencia.datas é obrigatório na recorrência personalizada.",
                field="pagamento.recorrencia.datas",
            )
        dates = [_date(v, "pagamento.recorrencia.datas") for v in raw]
        quantity = len(dates)
    else:
        start = _date(recurrence.get("dataInicio"), "pagamento.recorrencia.dataInicio")
        raw_quantity = recurrence.get("quantidade")
        if not isinstance(raw_quantity, int) or isinstance(raw_quantity, bool) or raw_quantity < 1:
            raise InvalidRequest(
                "pagamento.recorrencia.quantidade deve ser um inteiro positivo.",
                field="pagamento.recorrencia.quantidade",
            )
        quantity = raw_quantity
    return PlanRequest(
        authorisation_server_id=_text(payer, "idParticipante", "pagador.idParticipante", max_length=40),
        payer_cpf=_text(payer, "cpf", "pagador.cpf", pattern=r"[0-9]{11}", max_length=11),
        payer_cnpj=_text(payer, "cnpj", "pagador.cnpj", pattern=r"[0-9]{14}", max_length=14, required=False),
        beneficiary=Beneficiary(
            name=_text(account, "nome", "favorecido.contaBanco.nome"),
            document=_text(
                account, "documento", "favorecido.contaBanco.documento", pattern=r"[0-9]{11}|[0-9]{14}", max_length=14
            ),
            ispb=_text(account, "codigoBanco", "favorecido.contaBanco.codigoBanco", pattern=r"[0-9]{8}", max_length=8),
            issuer=_text(account, "agencia", "favorecido.contaBanco.agencia", pattern=r"[0-9]{1,4}", max_length=4),
            number=_text(account, "conta", "favorecido.contaBanco.conta", pattern=r"[0-9]{1,20}", max_length=20),
            account_type=account_type,
        ),
        amount=Decimal(amount_text),
        recurrence=RECURRENCES[kind],
        start=start,
        quantity=quantity,
        dates=dates,
        description=_text(payment, "infoPagador", "pagamento.infoPagador", required=False),
        own_id=_text(payment, "idProprio", "pagamento.idProprio", max_length=64, required=False),
        ibge_town_code=_text(
            payment, "codigoCidadeIBGE", "pagamento.codigoCidadeIBGE", pattern=r"[0-9]{7}", max_length=7, required=False
        ),
    )
