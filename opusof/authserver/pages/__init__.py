"""The bank customer's pages: log in, review what a TPP asks to be authorised, choose the debtor account, approve or
deny, then back to the TPP (``login``, ``review``); and "Minhas autorizações" (``my_authorisations``: consents and
scheduled payments, with cancellation; recurring consents, with revocation; enrollments; business consents awaiting
the customer as a co-approver). What each kind of authorisation shows and does is its journey
(opusof.authserver.journeys); the pages read the apps through their selectors and write through their services.

Session cookie + CSRF on every form; X-Frame-Options/CSP frame-ancestors against clickjacking; the only external
redirect goes to a redirect URI the TPP registered and pushed in its signed request (no open redirect).
"""
