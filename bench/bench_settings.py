"""Local settings plus the bench's reference endpoint (never part of the product's URLs)."""

from opusof.settings.local import *  # noqa: F403

ROOT_URLCONF = "bench_urls"
