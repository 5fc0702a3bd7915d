"""The demo shop's tests run the holder's and the gateway's tasks where they are enqueued, as the merchant's do."""

from tests.initiator.conftest import eager_celery

__all__ = ["eager_celery"]
