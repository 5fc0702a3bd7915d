"""What the tests share, imported by name (never from a conftest):

- ``tpp``: a registered TPP and its signing key (``TppActor``); ``oauth_tpp``: the same TPP on the authorisation
  server (PAR, the customer's pages, tokens).
- ``payments_v4``, ``automatic_payments_v2``, ``enrollments_v2``: each regulated API driven as a TPP would, every
  response checked against the regulator's file through ``spec``.
- ``payment_bodies``, ``recurring_bodies``: request bodies, valid by default, around the sandbox bank's demo data.
- ``fido_authenticator``: a software FIDO2 authenticator; ``browser``: headless Chromium and local pages.
- ``celery_workers``, ``processes``: real Celery workers and other processes on the test's own database and Redis
  database; ``webhook_receiver``: a TPP's webhook endpoint; ``due_payments_seed``: thousands of due payments.

Domain rows a test needs but is not about come from the factory-boy factories in tests/factories/.
"""
