"""``{% load labels %}`` then ``{{ payment.status|pt_label:"payment_status" }}``: the pt-BR word for a code
(vocabularies in opusof/labels.py)."""

from django import template

from opusof import labels

register = template.Library()


@register.filter
def pt_label(value: object, vocabulary: str) -> str:
    return labels.pt_label(value, vocabulary)
