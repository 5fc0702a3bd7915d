from django.urls import path

from merchant.efi import refunds, substitution, views

urlpatterns = [
    path("v1/oauth/token", views.EfiTokenApi.as_view(), name="efi-token"),
    path("v1/pagamentos-recorrentes/pix", views.EfiRecurringPixApi.as_view(), name="efi-recurring-pix"),
    path(
        "v1/pagamentos-recorrentes/pix/<str:identifier>/cancelar",
        views.EfiRecurringPixCancelApi.as_view(),
        name="efi-recurring-pix-cancel",
    ),
    path(
        "v1/pagamentos-recorrentes/pix/<str:identifier>/substituir/<str:end_to_end_id>",
        substitution.EfiRecurringPixReplaceApi.as_view(),
        name="efi-recurring-pix-replace",
    ),
    path(
        "v1/pagamentos-recorrentes/pix/<str:identifier>/devolver",
        refunds.EfiRecurringPixRefundApi.as_view(),
        name="efi-recurring-pix-refund",
    ),
    path("v1/participantes", views.EfiParticipantsApi.as_view(), name="efi-participants"),
    path("v1/config", views.EfiConfigApi.as_view(), name="efi-config"),
]
