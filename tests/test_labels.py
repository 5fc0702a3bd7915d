"""One pt-BR vocabulary for the customer pages' filter (opusof/customer_labels.py) and the admin's names
(opusof/labels.py)."""

from django.apps import apps
from django.template import Context, Template

from opusof import admin_labels
from payments.models import PixPayment


def test_every_model_and_field_of_opusof_has_a_ptbr_name():
    assert admin_labels.unlabelled() == [], "add them to opusof/labels.py (MODEL_NAMES / FIELD_NAMES)"


def test_admin_names_are_ptbr():
    assert apps.get_model("authserver", "ClientAuthSettings")._meta.verbose_name_plural == "autenticações de clientes"
    assert PixPayment._meta.get_field("status").verbose_name == "situação"
    assert PixPayment(status="ACSC").get_status_display() == "Pago (ACSC)"
    assert PixPayment(rejection_reason="SALDO_INSUFICIENTE").get_rejection_reason_display() == "SALDO_INSUFICIENTE"
    assert apps.get_app_config("payments").verbose_name == "Pagamentos Pix (pagamentos v4)"


def test_template_filter_speaks_portuguese():
    template = Template(
        '{% load labels %}{{ s|pt_label:"payment_status" }}|{{ c|pt_label:"consent_status" }}|'
        '{{ a|pt_label:"account_type" }}|{{ b|pt_label:"account_type" }}|{{ u|pt_label:"payment_status" }}'
    )
    rendered = template.render(Context({"s": "SCHD", "c": "AUTHORISED", "a": "CACC", "b": "SVGS", "u": "NEW"}))
    assert rendered == "Agendado|Autorizado|Conta corrente|Poupança|NEW"
