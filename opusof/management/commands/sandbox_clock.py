"""The sandbox business clock from the terminal (docs/sandbox.md):

    manage.py sandbox_clock show
    manage.py sandbox_clock advance 30d        # also 1m, 2w, 12h, P1M, P30D, or a bare number of days
    manage.py sandbox_clock reset

``advance`` then runs the due sweeps here (``opusof.clock.run_sweeps``), so the moved-to day's scheduled payments
are executed when the command returns, whether or not a worker and beat are running. Refused in production.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from opusof import clock
from opusof.sandbox_clock import clock_state


class Command(BaseCommand):
    help = "Shows, moves forward (then runs the due sweeps) or resets the sandbox business clock."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["show", "advance", "reset"])
        parser.add_argument("duration", nargs="?", default="", help="for advance: 30d, 1m, 2w, 12h, P1M, P30D")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "advance":
                if not options["duration"]:
                    raise CommandError("advance needs a duration, e.g. `sandbox_clock advance 30d`.")
                clock.advance(clock.parse_advance(options["duration"]), by="manage.py")
                for task, outcome in clock.run_sweeps().items():
                    self.stdout.write(f"  {task}: {outcome}")
            elif action == "reset":
                clock.reset(by="manage.py")
        except clock.ClockRefused as exc:
            raise CommandError(str(exc)) from exc
        state = clock_state()
        self.stdout.write(
            f"business now {state['now']} (today {state['today']} in Sao Paulo), "
            f"{state['offsetDays']} days {state['offsetSeconds'] % 86400} s ahead of real time {state['realNow']}"
        )
