"""Writes on recurring consents and recurring payments (automatic payments v2), one module per idea:

- ``consents``: creation, the customer's authorisation and co-approval, rejection, the connector's view of a consent;
- ``amendments``: what changes an authorised consent (revocation, edition) and withdraws the charges it no longer
  covers;
- ``charges``: recurring payments through the one Pix payment lifecycle (``payments.lifecycle``): record, initiate,
  poll;
- ``cancellation``: cancelling a charge (PATCH /pix/recurring-payments) and the holder's withdrawals.

Every status change goes through ``opusof.transitions.transition``; expiry is ``recurring.expiry``.
"""
