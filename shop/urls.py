from django.urls import path

from shop import views

app_name = "shop"

urlpatterns = [
    path("", views.index, name="index"),
    path("assinar/<slug:slug>", views.subscribe, name="subscribe"),
    path("retorno", views.back_from_bank, name="back"),
    path("recibo/<uuid:plan_id>", views.receipt, name="receipt"),
    path("recibo/<uuid:plan_id>/proximo-mes", views.next_month, name="next-month"),
    path("recibo/<uuid:plan_id>/cancelar/<str:end_to_end_id>", views.cancel_parcel, name="cancel-parcel"),
]
