"""The one FAPI client of the initiator gateway: every call to a holder goes through here (discovery, DCR/DCM,
private_key_jwt, PAR with a signed request object + PKCE + nonce, tokens, JWS request bodies, verification of the
holder's signed answers, x-fapi-interaction-id, x-idempotency-key, explicit timeouts, optional mutual TLS)."""
