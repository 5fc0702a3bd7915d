"""The Opus connector route contract (``specs/opus/connectors/pt-br-paymentIntegration-v5.0.0-rc.1-2.2.0.yml``, the
Portuguese file winning where the English one differs) and its translation to and from opusof's dataclasses.

This package is the only place that knows the wire shape, one module a route (``validation``, ``discovery``,
``payment`` for ``initiate`` and the payment answer, ``lookup`` for ``status`` and ``cancel``) on what they share:
``wire`` (routes, constants, ``ContractError``, the small pieces), ``consent`` (the route's ``consent``) and
``errors`` (ResponseError). The HTTP connector (``connectors.http.client``) uses the ``*_request`` builders and the
``*_from_response`` parsers; the reference back-end (``connectors.reference``) uses the inverse pair
(``*_from_request`` and ``*_response``). ``tests/connectors/http/test_http_contract.py`` runs both ways.

Five routes, all ``POST`` with a body ``{"requestMeta": {"correlationId", "brandId"}, ...}`` (sent as a JWS,
``application/jwt``: ``connectors.http.signing``):

=============  =======================  ====================================================================
route          path                     opusof capability
=============  =======================  ====================================================================
``validate``   ``/payment-validation``  ValidatePaymentData (200 ``{}`` or 422 ``ErrorPaymentValidation``)
``discovery``  ``/account-discovery``   DiscoverAccounts (200 ``{"data": {"resources": [...]}}``)
``initiate``   ``/payments``            InitiatePayment (201 ``ResponseCreatePixPayment``, 422 on refusal)
``status``     ``/find``                GetPaymentStatus (200 ``ResponseFindPixPayment``)
``cancel``     ``/cancellation``        CancelPayment (200, or 422 ``PAGAMENTO_NAO_PERMITE_CANCELAMENTO``)
=============  =======================  ====================================================================

A sixth route, ``list`` (``/opusof/payment-listing``), is opusof's own extension for reconciliation; its wire shape
lives in ``connectors.http.listing``.

Every route has two variants, chosen by the consent the call is made under (``PaymentData.consent``):
``paymentType: PAYMENT_CONSENT`` (payments v4; ``consent`` is ConsentPayment with ``creditor`` and ``payment``) and
``PAYMENT_RECURRING_CONSENT`` (automatic payments v2; ``consent`` is ConsentRecurringPayment with ``creditors`` and
``recurringConfiguration``, the payment names its ``recurringConsentId`` and, for an extra-day retry, its
``originalRecurringPaymentId``). A field the caller could not give (no consent at hand, e.g. the status sweep) is
left out rather than invented.
"""
