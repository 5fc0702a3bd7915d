"""Puts the admin's pt-BR names (opusof/labels.py) on the loaded model classes, and lists what still has none."""

from django.apps import apps
from django.db import models

from opusof.choice_labels import CHOICE_LABELS, FIELD_CHOICE_LABELS
from opusof.labels import APP_NAMES, FIELD_NAMES, MODEL_NAMES

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
