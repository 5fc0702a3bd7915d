"""factory-boy factories: domain state a test needs but is not about (``sandbox``: the sandbox bank's customers,
accounts and payments; ``holder``: consents and payments in a given status)."""
