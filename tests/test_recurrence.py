"""tasks/recurrence.py: the RRULE subset, each refusal's message, the next due date by every rule of the contract,
and the bounded work of the search (counted in steps, never timed; bench/recurrence.py times it)."""

import random
from datetime import datetime, timedelta

import pytest
from dateutil import rrule as rr

from tasks import recurrence
from tasks.recurrence import Pattern, RuleError, next_due, parse, validate

BERLIN = "Europe/Berlin"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def following(rule, due, *, zone="UTC", repeat_from="due", completed=None, occurrence=1):
    return next_due(
        rule=rule,
        due_at=at(due),
        time_zone=zone,
        repeat_from=repeat_from,
        completed_at=at(completed or due),
        occurrence=occurrence,
    )


# The contract's rules, one by one.


def test_berlin_keeps_nine_oclock_across_daylight_saving():
    # 2027-03-22 09:00 CET (UTC+1); on 2027-03-28 Berlin moves to CEST (UTC+2): still 09:00 on the wall.
    assert following("FREQ=WEEKLY;BYDAY=MO", "2027-03-22T08:00:00Z", zone=BERLIN) == at("2027-03-29T07:00:00Z")


def test_berlin_keeps_nine_oclock_back_to_winter_time():
    assert following("FREQ=DAILY", "2027-10-30T07:00:00Z", zone=BERLIN) == at("2027-10-31T08:00:00Z")


def test_last_friday_of_the_month():
    due = "2027-01-29T09:00:00Z"  # the last Friday of January 2027
    assert following("FREQ=MONTHLY;BYDAY=-1FR", due) == at("2027-02-26T09:00:00Z")
    assert following("FREQ=MONTHLY;BYDAY=-1FR", "2027-02-26T09:00:00Z") == at("2027-03-26T09:00:00Z")


def test_count_counts_our_tasks():
    rule = "FREQ=DAILY;COUNT=3"
    assert following(rule, "2027-01-01T09:00:00Z", occurrence=2) == at("2027-01-02T09:00:00Z")
    assert following(rule, "2027-01-02T09:00:00Z", occurrence=3) is None


def test_until_is_inclusive():
    rule = "FREQ=DAILY;UNTIL=20270103T090000Z"
    assert following(rule, "2027-01-02T09:00:00Z") == at("2027-01-03T09:00:00Z")
    assert following(rule, "2027-01-03T09:00:00Z") is None
    assert following("FREQ=DAILY;UNTIL=20270103T085959Z", "2027-01-02T09:00:00Z") is None


def test_missed_occurrences_are_skipped():
    # Due Monday 4 January, done Thursday 14th at noon: the Mondays and Wednesdays in between are skipped.
    rule = "FREQ=WEEKLY;BYDAY=MO,WE"
    assert following(rule, "2027-01-04T09:00:00Z", completed="2027-01-14T12:00:00Z") == at("2027-01-18T09:00:00Z")


def test_missed_occurrence_on_the_day_of_completion_before_its_time_is_kept():
    assert following("FREQ=DAILY", "2027-01-01T09:00:00Z", completed="2027-01-05T08:00:00Z") == at(
        "2027-01-05T09:00:00Z"
    )


def test_done_early_the_next_is_after_the_due_date():
    assert following("FREQ=DAILY", "2027-01-10T09:00:00Z", completed="2027-01-01T12:00:00Z") == at(
        "2027-01-11T09:00:00Z"
    )


def test_repeat_from_completion_restarts_on_the_day_it_was_done():
    # Due the 1st, done two days late (the 3rd, in the evening): three days after the 3rd, at the due time.
    rule = "FREQ=DAILY;INTERVAL=3"
    assert following(rule, "2027-01-01T09:00:00Z", repeat_from="completion", completed="2027-01-03T20:00:00Z") == (
        at("2027-01-06T09:00:00Z")
    )
    # From the due date instead: the 4th, the first of the rule's own days after the completion.
    assert following(rule, "2027-01-01T09:00:00Z", completed="2027-01-03T20:00:00Z") == at("2027-01-04T09:00:00Z")


def test_repeat_from_completion_reads_the_day_in_the_time_zone():
    # 23:30 UTC on the 3rd is 00:30 on the 4th in Berlin: the rule restarts on the 4th.
    assert following(
        "FREQ=DAILY;INTERVAL=3",
        "2027-01-01T08:00:00Z",
        zone=BERLIN,
        repeat_from="completion",
        completed="2027-01-03T23:30:00Z",
    ) == at("2027-01-07T08:00:00Z")


def test_repeat_from_completion_weekly_takes_the_weekday_of_completion():
    # "Every week" done on a Wednesday means next Wednesday, not the original Monday.
    due, done = "2027-01-04T09:00:00Z", "2027-01-06T15:00:00Z"
    assert following("FREQ=WEEKLY", due, repeat_from="completion", completed=done) == at("2027-01-13T09:00:00Z")


def test_monday_wednesday_friday():
    rule = "FREQ=WEEKLY;BYDAY=MO,WE,FR"
    assert following(rule, "2027-01-04T09:00:00Z") == at("2027-01-06T09:00:00Z")
    assert following(rule, "2027-01-06T09:00:00Z") == at("2027-01-08T09:00:00Z")
    assert following(rule, "2027-01-08T09:00:00Z") == at("2027-01-11T09:00:00Z")


def test_every_other_week_counts_weeks_from_the_due_date():
    rule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR"
    assert following(rule, "2027-01-04T09:00:00Z") == at("2027-01-08T09:00:00Z")
    assert following(rule, "2027-01-08T09:00:00Z") == at("2027-01-18T09:00:00Z")


def test_the_31st_skips_short_months():
    assert following("FREQ=MONTHLY;BYMONTHDAY=31", "2027-01-31T09:00:00Z") == at("2027-03-31T09:00:00Z")
    assert following("FREQ=MONTHLY", "2027-03-31T09:00:00Z") == at("2027-05-31T09:00:00Z")


def test_february_29th_comes_back_in_leap_years():
    rule = "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"
    assert following(rule, "2028-02-29T09:00:00Z") == at("2032-02-29T09:00:00Z")
    # 2100 is no leap year: eight years between two of them.
    assert following(rule, "2096-02-29T09:00:00Z") == at("2104-02-29T09:00:00Z")
    validate(rule, due_at=at("2027-01-01T09:00:00Z"), time_zone="UTC")


def test_microseconds_of_the_due_time_are_kept():
    assert following("FREQ=DAILY", "2027-01-01T09:00:00.123456Z") == at("2027-01-02T09:00:00.123456Z")


# Daylight saving's edges.


def test_a_wall_time_that_does_not_exist_is_read_with_the_offset_before_the_gap():
    # 02:30 on 2027-03-28 does not exist in Berlin (02:00 CET jumps to 03:00 CEST): 01:30Z, which reads 03:30.
    assert following("FREQ=DAILY", "2027-03-27T01:30:00Z", zone=BERLIN) == at("2027-03-28T01:30:00Z")
    # A task keeps only its due_at, which now reads 03:30: the series keeps 03:30 from there on (a limitation: to
    # go back to 02:30 the series would have to keep its wall time of day).
    assert following("FREQ=DAILY", "2027-03-28T01:30:00Z", zone=BERLIN) == at("2027-03-29T01:30:00Z")


def test_a_wall_time_that_happens_twice_is_its_first_instant():
    # 02:30 on 2027-10-31 happens twice in Berlin (CEST, then CET): the first, 00:30Z.
    assert following("FREQ=DAILY", "2027-10-30T00:30:00Z", zone=BERLIN) == at("2027-10-31T00:30:00Z")


def test_the_next_is_later_than_a_completion_in_the_second_pass_of_a_fold():
    # Due 02:10 (first pass, 00:10Z) every day; done at 02:20 on the second pass (01:20Z), i.e. after 02:10 too,
    # even though 02:10 < 02:20 on the wall either way: the next is the day after.
    due = "2027-10-31T00:10:00Z"
    assert following("FREQ=DAILY", due, zone=BERLIN, completed="2027-10-31T01:20:00Z") == at("2027-11-01T01:10:00Z")


def test_a_completion_within_the_fold_before_the_due_time_on_the_wall_but_after_it_in_time():
    # Daily at 02:50 wall time; the 31st's is 00:50Z (first pass). Done at 01:05Z = 02:05 second pass: the wall
    # reads before 02:50, but the occurrence at 00:50Z is in the past: the next is 1 November.
    due = "2027-10-30T00:50:00Z"
    assert following("FREQ=DAILY", due, zone=BERLIN, completed="2027-10-31T01:05:00Z") == at("2027-11-01T01:50:00Z")


# The subset: what is accepted, what is refused and with which message.


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE,FR",
        "FREQ=MONTHLY;BYDAY=+1MO;COUNT=10",
        "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
        "FREQ=YEARLY;BYDAY=-53SU",
        "FREQ=MONTHLY;BYMONTHDAY=1,-1;UNTIL=20271231T235959Z",
        "INTERVAL=1000;FREQ=DAILY",
        "FREQ=DAILY;COUNT=1",
        "FREQ=DAILY;UNTIL=20000101T000000Z",  # ended before it began: still a rule (the task is its only one)
        "FREQ=DAILY;BYDAY=SA,SU;BYMONTH=1;BYMONTHDAY=1," + ",".join(map(str, range(2, 32))),
    ],
)
def test_accepted(rule):
    validate(rule, due_at=at("2027-01-01T09:00:00Z"), time_zone=BERLIN)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("", "The rule is empty."),
        ("FREQ=DAILY;" + "BYMONTHDAY=1," * 21 + "1", "Ensure the rule has no more than 255 characters."),
        ("RRULE:FREQ=DAILY", "Give the rule without the 'RRULE:' prefix."),
        ("rrule:FREQ=DAILY", "Give the rule without the 'RRULE:' prefix."),
        ("freq=DAILY", "Write the part name 'freq' in upper case."),
        ("FREQ=DAILY;Count=2", "Write the part name 'Count' in upper case."),
        ("FREQ=DAILY;", "The rule has an empty part."),
        ("FREQ=DAILY;;COUNT=2", "The rule has an empty part."),
        ("FREQ", "'FREQ' is not NAME=VALUE."),
        (" FREQ=DAILY", "' FREQ=DAILY' is not NAME=VALUE."),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ appears more than once."),
        ("FREQ=DAILY;COUNT=2;COUNT=2", "COUNT appears more than once."),
        ("COUNT=2", "The rule needs a FREQ."),
        ("FREQ=HOURLY", "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY."),
        ("FREQ=MINUTELY", "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY."),
        ("FREQ=SECONDLY", "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY."),
        ("FREQ=daily", "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY."),
        ("FREQ=FORTNIGHTLY", "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY."),
    ]
    + [
        (f"FREQ=DAILY;{part}=1", f"'{part}' is not supported; a rule takes only {', '.join(recurrence.PARTS)}.")
        for part in ("DTSTART", "WKST", "BYSETPOS", "BYHOUR", "BYMINUTE", "BYSECOND", "BYYEARDAY", "BYWEEKNO", "X-A")
    ]
    + [
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL must be a whole number from 1 to 1000."),
        ("FREQ=DAILY;INTERVAL=1001", "INTERVAL must be a whole number from 1 to 1000."),
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL must be a whole number from 1 to 1000."),
        ("FREQ=DAILY;INTERVAL=", "INTERVAL must be a whole number from 1 to 1000."),
        ("FREQ=DAILY;INTERVAL=1.5", "INTERVAL must be a whole number from 1 to 1000."),
        ("FREQ=DAILY;INTERVAL=٣", "INTERVAL must be a whole number from 1 to 1000."),
        ("FREQ=DAILY;INTERVAL=00001", "INTERVAL must be a whole number from 1 to 1000."),
        ("FREQ=DAILY;COUNT=0", "COUNT must be a whole number from 1 to 1000."),
        ("FREQ=DAILY;COUNT=1001", "COUNT must be a whole number from 1 to 1000."),
        ("FREQ=DAILY;BYMONTH=13", "BYMONTH must be a whole number from 1 to 12."),
        ("FREQ=DAILY;BYMONTH=0", "BYMONTH must be a whole number from 1 to 12."),
        ("FREQ=DAILY;BYMONTH=1,,2", "BYMONTH must be a whole number from 1 to 12."),
        ("FREQ=DAILY;BYMONTHDAY=32", "BYMONTHDAY must be a whole number from -31 to 31 but not 0."),
        ("FREQ=DAILY;BYMONTHDAY=0", "BYMONTHDAY must be a whole number from -31 to 31 but not 0."),
        ("FREQ=DAILY;BYMONTHDAY=-32", "BYMONTHDAY must be a whole number from -31 to 31 but not 0."),
        (
            "FREQ=DAILY;BYDAY=mo",
            "BYDAY takes MO, TU, WE, TH, FR, SA, SU, with an ordinal such as 1MO or -1FR; not 'mo'.",
        ),
        (
            "FREQ=DAILY;BYDAY=XX",
            "BYDAY takes MO, TU, WE, TH, FR, SA, SU, with an ordinal such as 1MO or -1FR; not 'XX'.",
        ),
        ("FREQ=DAILY;BYDAY=", "BYDAY takes MO, TU, WE, TH, FR, SA, SU, with an ordinal such as 1MO or -1FR; not ''."),
        ("FREQ=WEEKLY;BYDAY=1MO", "A BYDAY ordinal such as 1MO or -1FR needs FREQ=MONTHLY or FREQ=YEARLY."),
        ("FREQ=DAILY;BYDAY=-1FR", "A BYDAY ordinal such as 1MO or -1FR needs FREQ=MONTHLY or FREQ=YEARLY."),
        ("FREQ=MONTHLY;BYDAY=0MO", "A BYDAY ordinal here must be from 1 to 5 or -5 to -1."),
        ("FREQ=MONTHLY;BYDAY=6MO", "A BYDAY ordinal here must be from 1 to 5 or -5 to -1."),
        ("FREQ=YEARLY;BYMONTH=3;BYDAY=-6MO", "A BYDAY ordinal here must be from 1 to 5 or -5 to -1."),
        ("FREQ=YEARLY;BYDAY=54MO", "A BYDAY ordinal here must be from 1 to 53 or -53 to -1."),
        ("FREQ=MONTHLY;BYDAY=MO,-1FR", "BYDAY cannot mix days with an ordinal (-1FR) and days without one (MO)."),
        ("FREQ=DAILY;UNTIL=20271231", "UNTIL must be a UTC date and time such as 20271231T235959Z."),
        ("FREQ=DAILY;UNTIL=20271231T235959", "UNTIL must be a UTC date and time such as 20271231T235959Z."),
        ("FREQ=DAILY;UNTIL=20270231T000000Z", "UNTIL must be a UTC date and time such as 20271231T235959Z."),
        ("FREQ=DAILY;UNTIL=2027-12-31T23:59:59Z", "UNTIL must be a UTC date and time such as 20271231T235959Z."),
        ("FREQ=DAILY;COUNT=2;UNTIL=20271231T235959Z", "Give COUNT or UNTIL, not both (RFC 5545)."),
        # Parts that are fine alone but have no day together.
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "The rule has no occurrence in the 100 years after due_at."),
        ("FREQ=DAILY;BYMONTHDAY=31;BYMONTH=4,6,9,11", "The rule has no occurrence in the 100 years after due_at."),
        ("FREQ=YEARLY;BYMONTH=2;BYDAY=5MO;BYMONTHDAY=1", "The rule has no occurrence in the 100 years after due_at."),
        # Every 1000 years: the next is in 3027.
        ("FREQ=YEARLY;INTERVAL=1000", "The rule has no occurrence in the 100 years after due_at."),
    ],
)
def test_refused_with_its_message(rule, message):
    with pytest.raises(RuleError) as refusal:
        validate(rule, due_at=at("2027-01-01T09:00:00Z"), time_zone=BERLIN)
    assert str(refusal.value) == message


def test_the_horizon_is_a_hundred_years_after_the_due_date():
    # Every 1000 years on 29 February, due in January of a leap year: that February is within reach; due in
    # March, the next is a thousand years away.
    rule = "FREQ=YEARLY;INTERVAL=1000;BYMONTH=2;BYMONTHDAY=29"
    validate(rule, due_at=at("2028-01-10T09:00:00Z"), time_zone="UTC")
    with pytest.raises(RuleError):
        validate(rule, due_at=at("2028-03-10T09:00:00Z"), time_zone="UTC")
    # Monday 29 February: 2072, then 2112 (2100 is no leap year), 40 years later, inside the horizon.
    assert following("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", "2072-02-29T09:00:00Z") == at(
        "2112-02-29T09:00:00Z"
    )


def test_near_the_end_of_the_calendar_there_is_simply_no_next():
    assert following("FREQ=YEARLY", "9999-06-01T09:00:00Z") is None
    assert following("FREQ=DAILY", "9999-12-31T09:00:00Z") is None


# Bounded work: steps (months visited plus days checked), deterministic, never timed.

# A search visits at most the 1,201 months of its horizon, and checks at most 21 days in each (DAILY or WEEKLY
# with an INTERVAL; the module docstring has the argument).
MAX_STEPS = 1201 * (1 + 21)

ADVERSARIAL = [
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=DAILY;BYMONTHDAY=31;BYMONTH=4,6,9,11",
    "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=DAILY;INTERVAL=1000;BYMONTHDAY=13;BYDAY=FR",
    "FREQ=WEEKLY;INTERVAL=1000;BYMONTHDAY=15",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYMONTHDAY=31;BYMONTH=1,3",
    "FREQ=DAILY;INTERVAL=2;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO",
    "FREQ=MONTHLY;INTERVAL=1000;BYDAY=5FR",
    "FREQ=YEARLY;INTERVAL=7;BYDAY=53MO",
]


@pytest.mark.parametrize("rule", ADVERSARIAL)
def test_adversarial_rules_are_answered_in_bounded_steps(rule):
    start = datetime(2027, 3, 22, 9)
    pattern = Pattern(parse(rule), start)
    pattern.first_after(start)
    assert 0 < pattern.steps <= MAX_STEPS


def test_no_occurrence_at_all_visits_only_the_months_bymonth_keeps():
    pattern = Pattern(parse("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"), datetime(2027, 3, 22, 9))
    assert pattern.first_after(datetime(2027, 3, 22, 9)) is None
    assert pattern.steps == 100  # one February a year


def test_ten_years_overdue_does_not_walk_the_missed_days():
    pattern = Pattern(parse("FREQ=DAILY"), datetime(2017, 1, 1, 9))
    assert pattern.first_after(datetime(2027, 1, 1, 12)) == datetime(2027, 1, 2, 9)
    assert pattern.steps == 1


def test_a_thousand_day_interval_checks_a_few_days_a_month():
    pattern = Pattern(parse("FREQ=DAILY;INTERVAL=1000"), datetime(2027, 1, 1, 9))
    assert pattern.first_after(datetime(2027, 1, 1, 9)) == datetime(2029, 9, 27, 9)  # 1 January + 1000 days
    assert pattern.steps <= 33 * 2  # 33 months, one day the interval allows in each at most


def test_dateutil_alone_would_walk_every_missed_day():
    # What the search replaces: dateutil's after() walks from the start, one instance per missed day.
    walked = 0
    for instance in rr.rrule(rr.DAILY, dtstart=datetime(2017, 1, 1, 9)):
        walked += 1
        if instance > datetime(2027, 1, 1, 12):
            break
    assert walked == 3654


# The search against dateutil itself, on random rules of the subset.


def random_rule(chooser: random.Random) -> str:
    freq = chooser.choice(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"])
    parts = [f"FREQ={freq}"]
    if chooser.random() < 0.5:
        parts.append(f"INTERVAL={chooser.choice([2, 3, 5, 7, 10, 13, 52])}")
    has_months = chooser.random() < 0.3
    if has_months:
        parts.append("BYMONTH=" + ",".join(map(str, chooser.sample(range(1, 13), chooser.randint(1, 4)))))
    roll = chooser.random()
    if roll < 0.3:
        parts.append("BYDAY=" + ",".join(chooser.sample(recurrence.WEEKDAYS, chooser.randint(1, 3))))
    elif roll < 0.5 and freq in ("MONTHLY", "YEARLY"):
        limit = 53 if freq == "YEARLY" and not has_months else 5
        ordinal = chooser.choice([1, 2, -1, -2, limit, -limit])
        parts.append(f"BYDAY={ordinal}{chooser.choice(recurrence.WEEKDAYS)}")
    if chooser.random() < 0.3:
        days = chooser.sample([*range(1, 32), *range(-31, 0)], chooser.randint(1, 3))
        parts.append("BYMONTHDAY=" + ",".join(map(str, days)))
    return ";".join(parts)


def test_the_search_finds_what_dateutil_finds():
    chooser = random.Random(22)  # noqa: S311 (seeded test data, not a secret)
    compared = 0
    while compared < 300:
        rule = random_rule(chooser)
        start = datetime(2027, 1, 1, 9) + timedelta(days=chooser.randint(0, 3000))
        moment = start + timedelta(days=chooser.randint(0, 400), hours=chooser.randint(0, 23))
        found = Pattern(parse(rule), start).first_after(moment)
        if found is None:
            continue  # dateutil cannot be asked: an empty rule keeps it busy until the year 9999
        parsed = parse(rule)
        expected = rr.rrule(
            parsed.freq,
            dtstart=start,
            interval=parsed.interval,
            wkst=rr.MO,
            bymonth=tuple(parsed.months) or None,
            bymonthday=tuple(parsed.monthdays) or None,
            byweekday=tuple(parsed.weekdays) + tuple(rr.weekday(day, n) for day, n in parsed.ordinals) or None,
        ).after(moment)
        assert found == expected, rule
        compared += 1


def test_a_date_dateutil_does_not_confirm_is_an_error(monkeypatch):
    # The search says where to look; dateutil must agree on the date, else a loud error rather than a wrong task.
    monkeypatch.setattr(recurrence, "_month_days", lambda *args: (1,))
    with pytest.raises(RuntimeError, match="dateutil disagrees"):
        Pattern(parse("FREQ=MONTHLY;BYMONTHDAY=2"), datetime(2027, 1, 2, 9)).first_after(datetime(2027, 1, 2, 9))
