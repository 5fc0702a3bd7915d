"""The production connector: opusof's connector interfaces over the Opus connector routes (HTTP + JSON).

Select it per capability, e.g. ``OPUSOF_CONNECTOR_INITIATE=connectors.http.HttpBank``, with
``OPUSOF_CONNECTOR_HTTP_BASE_URL`` pointing at the bank's back-end (README, "Connecting a bank").
"""

from connectors.http.client import HttpBank

__all__ = ["HttpBank"]
