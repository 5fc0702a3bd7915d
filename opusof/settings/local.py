"""Developer and demo runs: embedded defaults, debug on."""

from opusof.settings.base import *  # noqa: F403
from opusof.settings.env import env_bool

DEBUG = env_bool("DEBUG", True)
