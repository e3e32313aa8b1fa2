"""Recurring tasks: the RRULE subset the API accepts, and the due date of a task's next occurrence.

A rule is read here, strictly (`parse`), never by dateutil's `rrulestr`, which accepts far more than the contract
(DTSTART, BYSETPOS, HOURLY, lower-case names). Its occurrences are dates at one wall-clock time of day: the time of
day of the rule's start (the task's `due_at` read in its `time_zone`), since FREQ is DAILY or coarser and the
contract takes no BYHOUR/BYMINUTE/BYSECOND.

Why not simply `rrule(...).after(x)`: dateutil walks the rule one period at a time from its start, and a period with
no match yields nothing, so nothing can stop the walk but the year 9999. `FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30` is
2.9 million empty days (7.5 s, issue 22), and a task ten years overdue walks 3,650 instances before the one it
wants. `Pattern.first_after` instead finds the date itself, month by month inside a horizon of 100 years: a month
costs a lookup of its matching days (memoized by the month's shape: month, leap year, weekday of 1 January, 168
shapes in all), plus, for DAILY and WEEKLY with an INTERVAL, at most 21 checks of the days the interval allows.
So a search visits at most 1,201 months and checks at most 1,201 x 21 days, whatever the rule; MONTHLY and YEARLY
jump by their interval, so they visit fewer. dateutil then confirms the date it found on a rule started at that
date (one period of work): dateutil stays the authority on what RFC 5545 means, and this module only decides where
to look. tests/test_recurrence.py compares the two on every contract rule and a few hundred random ones.

Wall-clock time: an occurrence is a date at the start's time of day in the zone. A time that does not exist that
day (02:30 on the spring-forward day) is read with the offset before the gap, as RFC 5545 3.3.5 says for DATE-TIME,
so it lands an hour later (03:30 summer time) rather than being skipped (RFC 5545 3.3.10 would skip it: a daily
task would lose a day). The next task then reads 03:30 and keeps it, since a task keeps only its due_at. A time that
happens twice (the fall-back night) is its first instant (fold=0).
"""

import re
from bisect import bisect_left
from calendar import isleap, monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule as rr

MAX_LENGTH = 255
HORIZON_YEARS = 100  # "no occurrence in the next 100 years" (CONTRACT, Recurring tasks)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FREQUENCIES = {"DAILY": rr.DAILY, "WEEKLY": rr.WEEKLY, "MONTHLY": rr.MONTHLY, "YEARLY": rr.YEARLY}
PARTS = ("FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "COUNT", "UNTIL")

_NAME_VALUE = re.compile(r"([A-Za-z-]+)=(.*)", re.ASCII | re.DOTALL)
_NUMBER = re.compile(r"[+-]?[0-9]{1,4}", re.ASCII)
_BYDAY = re.compile(r"([+-]?[0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)", re.ASCII)
_UNTIL = re.compile(r"[0-9]{8}T[0-9]{6}Z", re.ASCII)


# Days in each month, and days of the year before it, for common and leap years (index 0 unused).
_LENGTHS = {leap: (0, *(monthrange(2000 if leap else 2001, month)[1] for month in range(1, 13))) for leap in (0, 1)}
_BEFORE = {leap: (0, *(sum(_LENGTHS[leap][1:month]) for month in range(1, 13))) for leap in (0, 1)}


class RuleError(ValueError):
    """A recurrence the API refuses; str(error) is the message the 422 shows for field `recurrence`."""


@dataclass(frozen=True)
class Rule:
    """A parsed `recurrence`, as written: no defaults filled in (they come from the rule's start, `Pattern`)."""

    freq: int  # dateutil's constant
    interval: int = 1
    weekdays: frozenset[int] = frozenset()  # BYDAY without an ordinal: 0 is Monday
    ordinals: frozenset[tuple[int, int]] = frozenset()  # BYDAY with one: (weekday, n), n in -53..-1, 1..53
    monthdays: frozenset[int] = frozenset()  # BYMONTHDAY: 1..31 and -31..-1
    months: frozenset[int] = frozenset()  # BYMONTH
    count: int | None = None
    until: datetime | None = None  # aware, UTC, inclusive


def parse(rule: str) -> Rule:
    """Read `rule` as the contract's RRULE subset, or raise RuleError saying what is wrong with it."""
    if not rule:
        raise RuleError("The rule is empty.")
    if len(rule) > MAX_LENGTH:
        raise RuleError(f"Ensure the rule has no more than {MAX_LENGTH} characters.")
    if rule[:6].upper() == "RRULE:":
        raise RuleError("Give the rule without the 'RRULE:' prefix.")
    parts: dict[str, str] = {}
    for part in rule.split(";"):
        match = _NAME_VALUE.fullmatch(part)
        if match is None:
            raise RuleError(f"'{part}' is not NAME=VALUE." if part else "The rule has an empty part.")
        name, value = match.groups()
        if name.upper() in PARTS and name != name.upper():
            raise RuleError(f"Write the part name '{name}' in upper case.")
        if name not in PARTS:
            raise RuleError(f"'{name}' is not supported; a rule takes only {', '.join(PARTS)}.")
        if name in parts:
            raise RuleError(f"{name} appears more than once.")
        parts[name] = value
    if "FREQ" not in parts:
        raise RuleError("The rule needs a FREQ.")
    if parts["FREQ"] not in FREQUENCIES:
        raise RuleError("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY.")
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleError("Give COUNT or UNTIL, not both (RFC 5545).")
    freq = FREQUENCIES[parts["FREQ"]]
    weekdays, ordinals = _byday(parts.get("BYDAY"), freq=freq, has_months="BYMONTH" in parts)
    return Rule(
        freq=freq,
        interval=_number(parts.get("INTERVAL", "1"), name="INTERVAL", low=1, high=1000),
        weekdays=weekdays,
        ordinals=ordinals,
        monthdays=_numbers(parts.get("BYMONTHDAY"), name="BYMONTHDAY", low=-31, high=31),
        months=_numbers(parts.get("BYMONTH"), name="BYMONTH", low=1, high=12),
        count=_number(parts["COUNT"], name="COUNT", low=1, high=1000) if "COUNT" in parts else None,
        until=_until(parts["UNTIL"]) if "UNTIL" in parts else None,
    )


def _number(value: str, *, name: str, low: int, high: int) -> int:
    # Only ASCII digits (int() would take '٣' and ' 3'), and a bounded number of them.
    if _NUMBER.fullmatch(value) is None or not (low <= int(value) <= high) or int(value) == 0:
        raise RuleError(f"{name} must be a whole number from {low} to {high}{' but not 0' if low < 0 else ''}.")
    return int(value)


def _numbers(value: str | None, *, name: str, low: int, high: int) -> frozenset[int]:
    if value is None:
        return frozenset()
    return frozenset(_number(item, name=name, low=low, high=high) for item in value.split(","))


def _byday(value: str | None, *, freq: int, has_months: bool) -> tuple[frozenset[int], frozenset[tuple[int, int]]]:
    if value is None:
        return frozenset(), frozenset()
    # An ordinal counts within the month (MONTHLY, or YEARLY with BYMONTH) or within the year (YEARLY alone).
    limit = 53 if freq == rr.YEARLY and not has_months else 5
    weekdays, ordinals = set(), set()
    for item in value.split(","):
        match = _BYDAY.fullmatch(item)
        if match is None:
            raise RuleError(
                f"BYDAY takes MO, TU, WE, TH, FR, SA, SU, with an ordinal such as 1MO or -1FR; not '{item}'."
            )
        ordinal, day = match.groups()
        if ordinal is None:
            weekdays.add(WEEKDAYS.index(day))
        elif freq not in (rr.MONTHLY, rr.YEARLY):
            raise RuleError("A BYDAY ordinal such as 1MO or -1FR needs FREQ=MONTHLY or FREQ=YEARLY.")
        elif not (1 <= abs(int(ordinal)) <= limit):
            raise RuleError(f"A BYDAY ordinal here must be from 1 to {limit} or -{limit} to -1.")
        else:
            ordinals.add((WEEKDAYS.index(day), int(ordinal)))
    if weekdays and ordinals:
        # dateutil keeps only the days that satisfy both (BYDAY=MO,-1FR would be "a Monday that is the last
        # Friday": never), where RFC 5545 means either: refuse rather than answer differently from the RFC.
        raise RuleError("BYDAY cannot mix days with an ordinal (-1FR) and days without one (MO).")
    return frozenset(weekdays), frozenset(ordinals)


def _until(value: str) -> datetime:
    try:
        if _UNTIL.fullmatch(value) is None:
            raise ValueError(value)
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise RuleError("UNTIL must be a UTC date and time such as 20271231T235959Z.") from None


@dataclass(frozen=True)
class _Days:
    """The day filters of a rule started at a given date, with the defaults dateutil takes from the start."""

    months: frozenset[int]
    monthdays: frozenset[int]
    weekdays: frozenset[int]
    ordinals: frozenset[tuple[int, int]]
    ordinals_in_year: bool


class Pattern:
    """A rule started at `start` (a naive wall-clock datetime): where its occurrences fall, found in bounded work.

    `steps` counts the months visited and the days checked by the last search (tests/bench assert on it)."""

    def __init__(self, rule: Rule, start: datetime):
        self.rule = rule
        self.start = start
        self.time_of_day = start.time().replace(fold=0)
        months, monthdays, weekdays = rule.months, rule.monthdays, rule.weekdays
        # dateutil's defaults (rrule.__init__): with no day part, the start's day stands in for it.
        if not (rule.weekdays or rule.ordinals or rule.monthdays):
            if rule.freq == rr.YEARLY:
                months, monthdays = months or frozenset({start.month}), frozenset({start.day})
            elif rule.freq == rr.MONTHLY:
                monthdays = frozenset({start.day})
            elif rule.freq == rr.WEEKLY:
                weekdays = frozenset({start.weekday()})
        self.days = _Days(months, monthdays, weekdays, rule.ordinals, rule.freq == rr.YEARLY and not rule.months)
        self.steps = 0
        self._shapes: dict[tuple[int, bool, int], tuple[int, ...]] = {}

    def first_after(self, moment: datetime) -> datetime | None:
        """The first occurrence later than `moment` (naive wall clock), within HORIZON_YEARS of it, or None."""
        try:
            first = moment.date() if moment.time() < self.time_of_day else moment.date() + timedelta(days=1)
        except OverflowError:  # after 9999-12-31
            return None
        found = self._first_date(first, _years_later(moment.date(), HORIZON_YEARS))
        if found is None:
            return None
        self._confirm(found)
        return datetime.combine(found, self.time_of_day)

    def _first_date(self, first: date, last: date) -> date | None:
        self.steps = 0
        ranged = self.rule.interval > 1 and self.rule.freq in (rr.DAILY, rr.WEEKLY)
        first_index, last_index = first.year * 12 + first.month, last.year * 12 + last.month
        for year, month, opening, days in self._months(first_index, last_index):
            self.steps += 1
            index = year * 12 + month
            low = first.day if index == first_index else 1
            high = last.day if index == last_index else 31
            if not days or days[-1] < low:
                continue
            if not ranged:
                day = days[bisect_left(days, low)]
                return date(year, month, day) if day <= high else None
            # Whichever is shorter: the matching days checked against the interval, or the days the interval
            # allows (at most 16 for DAILY, 21 for WEEKLY) checked against the matching ones.
            allowed = self._interval_days(opening, _LENGTHS[isleap(year)][month])
            candidates, others = (days, allowed) if len(days) <= len(allowed) else (allowed, days)
            for day in candidates:
                self.steps += 1
                if low <= day <= high and day in others:
                    return date(year, month, day)
        return None

    def _months(self, first_index: int, last_index: int):
        """(year, month, ordinal of its 1st, its matching days) from month index `first_index` (year * 12 + month)
        to `last_index`, in order: only the months BYMONTH (or YEARLY's default) keeps, and for MONTHLY and YEARLY
        only those the interval allows."""
        start, interval, freq = self.start, self.rule.interval, self.rule.freq
        months = sorted(self.days.months) or range(1, 13)
        year = (first_index - 1) // 12  # months count from 1: December is year * 12 + 12
        if freq == rr.YEARLY:
            year += (start.year - year) % interval
        start_index = start.year * 12 + start.month
        while year * 12 + 1 <= last_index:
            leap, new_year = isleap(year), date(year, 1, 1).toordinal()
            for month in months:
                index = year * 12 + month
                if index < first_index or (freq == rr.MONTHLY and (index - start_index) % interval):
                    continue
                if index > last_index:
                    return
                shape = (month, leap, new_year % 7)
                if (days := self._shapes.get(shape)) is None:
                    days = self._shapes[shape] = _month_days(self.days, month, leap, (new_year - 1) % 7)
                yield year, month, new_year + _BEFORE[leap][month], days
            year += interval if freq == rr.YEARLY else 1

    def _interval_days(self, opening: int, length: int) -> range | list[int]:
        """The days of the month starting at ordinal `opening` that DAILY or WEEKLY with an INTERVAL allows,
        counted from the start."""
        interval = self.rule.interval
        if self.rule.freq == rr.DAILY:
            return range(1 + (self.start.toordinal() - opening) % interval, length + 1, interval)
        # WEEKLY: weeks start on Monday (WKST's RFC default; date.fromordinal(1) is a Monday), so the days allowed
        # are whole weeks; with an interval of 2 or more at most three of them touch a month.
        week = (opening - 1) // 7
        week += ((self.start.toordinal() - 1) // 7 - week) % interval
        monday = week * 7 + 1 - opening + 1
        if monday + interval * 7 > length:
            return range(max(monday, 1), min(monday + 7, length + 1))
        return [day for day in range(max(monday, 1), length + 1) if (day - monday) // 7 % interval == 0]

    def _confirm(self, found: date) -> None:
        """Have dateutil agree that `found` is an occurrence: the rule started on that date (its interval counts
        from there, which the search already honoured) with every default made explicit, asked for that date."""
        moment = datetime.combine(found, self.time_of_day.replace(microsecond=0))
        days = self.days
        rule = rr.rrule(
            self.rule.freq,
            dtstart=moment,
            interval=self.rule.interval,
            wkst=rr.MO,
            until=moment,
            bymonth=tuple(days.months) or None,
            bymonthday=tuple(days.monthdays) or None,
            byweekday=tuple(days.weekdays) + tuple(rr.weekday(day, n) for day, n in days.ordinals) or None,
        )
        if rule.after(moment, inc=True) != moment:
            raise RuntimeError(f"dateutil disagrees that {found} is an occurrence of {self.rule}")


def _month_days(days: _Days, month: int, leap: bool, new_year_weekday: int) -> tuple[int, ...]:
    """The days of a month that a rule's day filters keep (ignoring its interval), for a month of this shape: the
    days BYMONTHDAY names, else those of BYDAY's weekdays, else all, each then checked against the other filters."""
    before, length = _BEFORE[leap][month], _LENGTHS[leap][month]
    first_weekday = (new_year_weekday + before) % 7
    if days.monthdays:
        candidates = sorted(
            {day if day > 0 else length + 1 + day for day in days.monthdays} & set(range(1, length + 1))
        )
    elif days.weekdays or days.ordinals:
        weekdays = days.weekdays or {weekday for weekday, _ in days.ordinals}
        candidates = sorted(
            day for weekday in weekdays for day in range(1 + (weekday - first_weekday) % 7, length + 1, 7)
        )
    else:
        candidates = range(1, length + 1)
    year_length = 366 if leap else 365
    kept = []
    for day in candidates:
        weekday = (first_weekday + day - 1) % 7
        if days.weekdays and weekday not in days.weekdays:
            continue
        if days.ordinals:
            # The how-manieth such weekday of the month (or year) this is, counted from its start and from its end.
            position, span = (before + day, year_length) if days.ordinals_in_year else (day, length)
            forward, backward = (position - 1) // 7 + 1, -((span - position) // 7 + 1)
            if (weekday, forward) not in days.ordinals and (weekday, backward) not in days.ordinals:
                continue
        kept.append(day)
    return tuple(kept)


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February, or past the year 9999
        return date.max if day.year + years > date.max.year else day.replace(year=day.year + years, day=28)


def _wall(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    # fold=0: in a gap the offset before it (02:30 becomes 03:30 summer time), in a fold the first instant.
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def validate(rule: str, *, due_at: datetime, time_zone: str) -> None:
    """Raise RuleError unless `rule` is in the contract's RRULE subset and has an occurrence after `due_at` within
    the next HORIZON_YEARS. COUNT and UNTIL end a series but never make a rule invalid: the last task of a series
    (or a rule whose UNTIL has passed) is still a task one may edit."""
    parsed = parse(rule)
    start = _wall(due_at, ZoneInfo(time_zone))
    if Pattern(parsed, start).first_after(start) is None:
        raise RuleError(f"The rule has no occurrence in the {HORIZON_YEARS} years after due_at.")


def next_due(
    *,
    rule: str,
    due_at: datetime,
    time_zone: str,
    repeat_from: str,
    completed_at: datetime,
    occurrence: int,
) -> datetime | None:
    """The due_at (aware, UTC) of the next occurrence of a task with this (validated) rule, completed at
    `completed_at`, or None when the rule has none left: COUNT reached (it counts our tasks), past UNTIL, or none
    within HORIZON_YEARS of the moment searched from."""
    parsed = parse(rule)
    if parsed.count is not None and occurrence + 1 > parsed.count:
        return None
    zone = ZoneInfo(time_zone)
    due_wall = _wall(due_at, zone)
    if repeat_from == "completion":
        # The rule restarted on the day of completion, at the due time of day: its interval and its defaults
        # (WEEKLY's weekday, MONTHLY's day) count from there.
        start = datetime.combine(_wall(completed_at, zone).date(), due_wall.time())
        pattern, moment, later_than = Pattern(parsed, start), start, completed_at
    else:
        pattern = Pattern(parsed, due_wall)
        moment, later_than = max(due_wall, _wall(completed_at, zone)), max(due_at, completed_at)
    # Wall clocks and instants disagree only within a fold (an hour or two); the next occurrence is a day later.
    for _ in range(2):
        wall = pattern.first_after(moment)
        if wall is None:
            return None
        due = _instant(wall, zone)
        if parsed.until is not None and due > parsed.until:
            return None
        if due > later_than:
            return due
        moment = wall
    raise RuntimeError(f"no occurrence of {rule} later than {later_than} two days running")
