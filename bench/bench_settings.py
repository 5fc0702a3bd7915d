"""Local settings plus the bench's reference endpoint and its statement counter (never part of the product)."""

from opusof.settings.local import *  # noqa: F403
from opusof.settings.local import MIDDLEWARE

ROOT_URLCONF = "bench_urls"
MIDDLEWARE = ["bench_middleware.StatementCounter", *MIDDLEWARE]
