"""Microseconds per `tasks.recurrence.validate` and `next_due` on adversarial and ordinary rules (the project's
interpreter; no Django, no database).

Prints JSON lines {"rule", "validate_us", "next_due_us", "steps"}: the median over ROUNDS of the mean of LOOPS calls,
each call with a new rule object (the search's month memo lives in its Pattern, so every call pays for it, as an
attacker sending fresh rules would); `steps` is the search's count of months visited and days checked for validate.
`next_due` is measured on a task due 2017-01-02 and completed 2027-03-22 (ten years overdue), repeat_from "due".
"""

import contextlib
import json
import statistics
import sys
import timeit
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tasks.recurrence import Pattern, RuleError, next_due, parse, validate  # noqa: E402

LOOPS = 20
ROUNDS = 7
DUE = datetime(2027, 3, 22, 8, tzinfo=UTC)
OVERDUE = datetime(2017, 1, 2, 8, tzinfo=UTC)
RULES = [
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",  # dateutil's naive search: 7.5 s (issue 22)
    "FREQ=DAILY;BYMONTHDAY=31;BYMONTH=4,6,9,11",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO",
    "FREQ=DAILY;INTERVAL=1000;BYMONTHDAY=13;BYDAY=FR",
    "FREQ=WEEKLY;INTERVAL=1000;BYMONTHDAY=15",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYMONTHDAY=31;BYMONTH=1,3",
    "FREQ=MONTHLY;INTERVAL=1000;BYDAY=5FR",
    "FREQ=YEARLY;INTERVAL=1000",
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=MO,WE,FR",
    "FREQ=MONTHLY;BYDAY=-1FR",
]


def median_us(func) -> float:
    return statistics.median(timeit.repeat(func, number=LOOPS, repeat=ROUNDS)) / LOOPS * 1e6


def main() -> None:
    for rule in RULES:

        def check(rule=rule):
            with contextlib.suppress(RuleError):
                validate(rule, due_at=DUE, time_zone="Europe/Berlin")

        def following(rule=rule):
            next_due(
                rule=rule,
                due_at=OVERDUE,
                time_zone="Europe/Berlin",
                repeat_from="due",
                completed_at=DUE,
                occurrence=1,
            )

        pattern = Pattern(parse(rule), DUE.astimezone(ZoneInfo("Europe/Berlin")).replace(tzinfo=None))
        pattern.first_after(pattern.start)
        row = {"rule": rule, "validate_us": round(median_us(check)), "next_due_us": round(median_us(following))}
        print(json.dumps(row | {"steps": pattern.steps}))


if __name__ == "__main__":
    main()
