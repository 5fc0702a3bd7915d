"""``{% load labels %}`` then ``{{ payment.status|pt_label:"payment_status" }}``: the pt-BR word for a code
(vocabularies in opusof/customer_labels.py)."""

from django import template

from opusof import customer_labels

register = template.Library()


@register.filter
def pt_label(value: object, vocabulary: str) -> str:
    return customer_labels.pt_label(value, vocabulary)
