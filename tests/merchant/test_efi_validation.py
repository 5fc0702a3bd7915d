"""Every refusal of the Efí dialect is Efí's ``{nome, mensagem}``, never an OFB error body (live server)."""

import datetime as dt

import pytest

from merchant.models import Plan
from opusof.timeutil import business_date
from tests.merchant.conftest import EfiMerchant
from tests.merchant.test_efi_flow import PIX, plan_body

pytestmark = pytest.mark.django_db(transaction=True)


def _refusal(response, status: int, name: str) -> str:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"nome", "mensagem"}, response.text
    assert response.json()["nome"] == name
    return str(response.json()["mensagem"])


@pytest.mark.parametrize(
    ("start_days", "quantity", "kind", "fragment"),
    [
        (0, 3, "diaria", "D+1"),
        (1, 61, "diaria", "60"),
        (1, 25, "mensal", "24"),
        (400, 60, "semanal", "dois anos"),
    ],
)
def test_the_regulators_bounds_in_efi_words(efi: EfiMerchant, start_days, quantity, kind, fragment):
    body = plan_body(start=business_date() + dt.timedelta(days=start_days), quantity=quantity, kind=kind)
    assert fragment in _refusal(efi.http.post(PIX, json=body), 422, "recorrencia_invalida")
    assert not Plan.objects.exists()


def test_malformed_input_and_credentials(efi: EfiMerchant):
    start = business_date() + dt.timedelta(days=2)
    body = plan_body(start=start)
    del body["pagador"]["cpf"]
    assert "pagador.cpf" in _refusal(efi.http.post(PIX, json=body), 400, "json_invalido")
    body = plan_body(start=start)
    body["pagamento"]["valor"] = "9.9"
    assert "pagamento.valor" in _refusal(efi.http.post(PIX, json=body), 400, "json_invalido")
    body["pagamento"]["valor"] = "9.90"
    body["pagamento"]["recorrencia"]["tipo"] = "anual"
    _refusal(efi.http.post(PIX, json=body), 400, "json_invalido")
    body = plan_body(start=start)
    body["pagador"]["idParticipante"] = "desconhecido"
    assert "idParticipante" in _refusal(efi.http.post(PIX, json=body), 400, "json_invalido")
    body = plan_body(start=start)
    body["pagador"]["cpf"] = "١٢٣٤٥٦٧٨٩٠٩"  # Arabic-Indic digits: not a CPF
    assert "pagador.cpf" in _refusal(efi.http.post(PIX, json=body), 400, "json_invalido")
    today = business_date().isoformat()
    _refusal(efi.http.get(PIX, params={"inicio": today, "fim": today, "pagina": "²"}), 400, "json_invalido")
    raw = efi.http.post(PIX, content=b"{not json", headers={"content-type": "application/json"})
    _refusal(raw, 400, "json_invalido")
    _refusal(efi.http.get(PIX, params={"inicio": "2026-13-01", "fim": "2026-12-31"}), 400, "json_invalido")
    _refusal(
        efi.http.patch(f"{PIX}/urn:opusof:00000000-0000-0000-0000-000000000000/cancelar"),
        404,
        "pagamento_nao_encontrado",
    )
    _refusal(efi.http.get(PIX, headers={"authorization": "Bearer errado"}), 401, "nao_autorizado")
    _refusal(
        efi.http.post("/v1/oauth/token", json={"grant_type": "client_credentials"}, auth=("x", "y")),
        401,
        "nao_autorizado",
    )
    _refusal(efi.http.delete(PIX), 405, "metodo_nao_permitido")
    assert not Plan.objects.exists()
