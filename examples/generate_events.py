"""Write the demo's input files, and what the demo must show, from one fixed-seed scenario plan.

The demo is a small contact center: three days of history, agents closing some of its records,
then one busy day (2026-11-24, 08:00-18:00 UTC). This script writes, next to itself:

``events-history.jsonl``
    sessions of 2026-11-17 to 2026-11-23, one per end user and leaf queue, whose records the day
    will append to (left open), reopen (closed within the last 3 days) or not (closed earlier).
``closes.txt``
    ``RECORD-ID CLOSED-AT`` lines: the closes agents made after those sessions. The demo runs
    ``crmhub records close`` for each between the two replays. Local record ids are integers given
    in creation order, so the plan knows them.
``events.jsonl``
    the day: 200+ calls and chats in arrival order, including every case the record-creation rules
    distinguish (see ``SCENARIOS``), redelivered events and a few events that arrive late.
``expected-summary.json``
    outcomes per action for each replay and the records the local CRM must hold at the end, worked
    out from the plan below (each scenario states what each of its events must yield), never from
    running crmhub. ``tests/test_demo.py`` compares the real run with it.

The plan matches the settings in ``crmhub.toml`` here. Only ``random.Random(SEED)`` makes choices,
so running the script again writes byte-identical files.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEED = 20261124
HERE = Path(__file__).resolve().parent
DAY = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
DAY_END = datetime(2026, 11, 24, 18, 0, tzinfo=timezone.utc)
REOPEN_WINDOW = timedelta(days=3)  # append_to_closed_within_days in crmhub.toml
SHORT_ABANDON = timedelta(seconds=30)  # chat_short_abandon_seconds in crmhub.toml

# What an event must yield. RECORD is resolved to created/appended/reopened by ExpectedCrm.
RECORD, DEFER, SKIP, DUPLICATE = "record", "deferred", "skipped", "duplicate"
ACTIONS = ("created", "appended", "reopened", "deferred", "skipped", "duplicate", "queued", "failed")

# Title labels of the session types the plan uses (SPEC section 5); unknown types are their own label.
LABELS = {
    "Voice Inbound (IVR)": "IVR Call",
    "Voice Inbound (IVR via Mobile)": "IVR Call",
    "Voice Inbound (Mobile)": "Inbound Call (App)",
    "Voice Callback (Web)": "Inbound Call (Web)",
    "Voice Scheduled (Mobile)": "Scheduled Voice (App)",
    "Voice Inbound (Direct)": "Inbound Call (Direct)",
    "Voice Outbound": "Outbound Call",
    "Messaging Inbound (Mobile Chat)": "App Chat",
    "Messaging Inbound (Web Chat)": "Web Chat",
    "Messaging Inbound (SMS)": "SMS",
    "Messaging (WhatsApp)": "WhatsApp",
}
UNKNOWN_CALL_TYPE = "Voice Inbound (Kiosk)"
UNKNOWN_CHAT_TYPE = "Messaging Inbound (RCS)"
PLATFORM_TAG = "UJET"


@dataclass(frozen=True)
class Queue:
    id: str
    path: tuple[str, ...]

    @property
    def dialed_number(self) -> str:
        """The contact center's number for the top menu the queue is under."""
        return {"Support": "+18005550199", "Sales": "+18005550142", "Retention": "+18005550177"}[self.path[0]]

    @property
    def menu_path(self) -> str:
        return "/".join(self.path[1:])


QUEUES = {
    q.id: q
    for q in (
        Queue("q-refunds", ("Support", "Billing", "Refunds")),
        Queue("q-invoices", ("Support", "Billing", "Invoices")),
        Queue("q-internet", ("Support", "Technical", "Internet")),
        Queue("q-outages", ("Support", "Technical", "Outages")),
        Queue("q-devices", ("Support", "Technical", "Devices")),
        Queue("q-plans", ("Sales", "New Customers", "Plans")),
        Queue("q-upgrades", ("Sales", "Existing Customers", "Upgrades")),
        Queue("q-cancel", ("Retention", "Cancellations")),
        Queue("q-winback", ("Retention", "Win-back")),
    )
}
INBOUND_QUEUES = [q for q in QUEUES.values() if q.id != "q-winback"]
AGENTS = [
    {"id": f"a-{n:02d}", "email": f"{name}@acme.example"}
    for n, name in enumerate(
        ("sam", "priya", "lee", "maria", "tom", "aisha", "ken", "olga", "raj", "nina", "omar", "zoe"), start=1
    )
]
SMS_NUMBER, WHATSAPP_NUMBER = "+14155550000", "+14155550001"


@dataclass(frozen=True)
class Person:
    """An end user, and how the host identifies them: by ``id``, by phone only or by email only."""

    key: str  # who crmhub must take them for (SPEC section 3): written by the plan, not computed by crmhub
    style: str  # "id", "phone" or "email"
    name: str
    phone: str | None = None  # E.164
    phone_formats: tuple[str, ...] = ()  # how the host writes the phone, varying per session
    email_forms: tuple[str, ...] = ()  # how the host writes the email, varying per session
    language: str = "en"
    user_id: str | None = None

    def end_user(self, rng: random.Random, form: int | None = None) -> dict[str, str]:
        """The end_user object of one session; ``form`` picks how the phone or email is written."""
        if self.style == "id":
            return {"id": self.user_id, "phone": self.phone, "email": self.email_forms[0], "name": self.name}
        if self.style == "phone":
            formats = self.phone_formats
            return {"phone": formats[rng.randrange(len(formats)) if form is None else form]}
        forms = self.email_forms
        return {"email": forms[rng.randrange(len(forms)) if form is None else form], "name": self.name}


def us_phone_formats(line: str) -> tuple[str, ...]:
    """One US number as hosts write it: all normalise to ``+1415555LINE``."""
    return (f"+1415555{line}", f"+1 415-555-{line}", f"+1 (415) 555-{line}", f"1-415-555-{line}", f"+1.415.555.{line}")


def email_forms(address: str) -> tuple[str, ...]:
    local, domain = address.split("@")
    return (address, address.lower(), f"{local.title()}@{domain.title()}", address.upper())


FIRST = ("Ada", "Ben", "Carla", "Dev", "Elif", "Farid", "Gwen", "Hugo", "Ines", "Jon", "Kemal", "Lena", "Mateo",
         "Noor", "Otto", "Pia", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wes", "Xena", "Yuki", "Zane")
LAST = ("Lovelace", "Okafor", "Nguyen", "Silva", "Kowalski", "Haddad", "Moreau", "Rossi", "Tanaka", "Jensen")


def make_people(rng: random.Random) -> tuple[list[Person], list[Person], list[Person]]:
    """The day's regular end users: 30 app users (with an id), 22 callers known by phone only,
    10 web-chat guests known by email only."""

    def name() -> str:
        return f"{rng.choice(FIRST)} {rng.choice(LAST)}"

    def language() -> str:
        return "es" if rng.random() < 0.15 else "en"

    with_id = []
    for n in range(30):
        user_id, who = f"u-{200 + n}", name()
        address = f"{who.split()[0].lower()}.{n}@mail.example"
        line = f"{200 + n:04d}"
        with_id.append(Person(f"id:{user_id}", "id", who, phone=f"+1415555{line}", email_forms=(address,),
                              language=language(), user_id=user_id))
    by_phone = []
    for n in range(22):
        line = f"{300 + n:04d}"
        by_phone.append(Person(f"phone:+1415555{line}", "phone", name(), phone=f"+1415555{line}",
                               phone_formats=us_phone_formats(line), language=language()))
    by_email = []
    for n in range(10):
        who = name()
        address = f"{who.split()[0]}.{who.split()[1]}{n}@Mail.example"
        by_email.append(Person(f"email:{address.lower()}", "email", who, email_forms=email_forms(address),
                               language=language()))
    return with_id, by_phone, by_email


# --- sessions and their events -------------------------------------------------------------------


@dataclass
class Step:
    """One event of a session: when it happened, what it must yield, and when it arrives."""

    offset: float  # seconds after the session started (the event's `at`)
    type: str
    expect: str
    message_from: str | None = None
    late_by: float = 0  # seconds between `at` and arrival (an event that arrives out of order)
    short: bool | None = None
    queue: Queue | None = None  # a transfer: the session moves to another leaf queue
    full: bool = True  # whether the event carries all session keys or only id and channel


@dataclass
class Plan:
    """One session: who, where, when, and its events."""

    channel: str
    kind: str
    person: Person | None
    queue: Queue
    start: datetime
    session_type: str
    steps: list[Step]
    end_user: dict | None = None  # the end_user object the host sends; None: no end_user key at all
    agent: dict | None = None
    session_id: str = ""
    short_abandon: bool | None = None  # for abandoned chats: must the reason say "short"?

    @property
    def dialed_number(self) -> str | None:
        if self.session_type == "Voice Outbound":
            return self.person.phone if self.person else None
        if self.channel == "call":
            return self.queue.dialed_number
        return {"Messaging Inbound (SMS)": SMS_NUMBER, "Messaging (WhatsApp)": WHATSAPP_NUMBER}.get(self.session_type)


def call_steps(kind: str, rng: random.Random, wait: float | None = None) -> list[Step]:
    """Events of a call, with what each must yield under the demo settings (records at assignment,
    abandoned calls get records)."""
    wait = rng.randint(15, 200) if wait is None else wait
    ring = rng.randint(3, 12)
    talk = rng.randint(90, 900)
    if kind == "answered":
        return [Step(wait, "session.assigned", RECORD), Step(wait + ring, "session.connected", SKIP),
                Step(wait + ring + talk, "session.ended", SKIP)]
    if kind == "transferred":  # a second assignment to another leaf queue: same record, no second one
        return [Step(wait, "session.assigned", RECORD), Step(wait + ring, "session.connected", SKIP),
                Step(wait + ring + 120, "session.assigned", SKIP),  # random_day sets its queue
                Step(wait + ring + 130 + talk, "session.ended", SKIP)]
    if kind == "hangup_before_connect":  # the record was made at assignment; the caller then left
        return [Step(wait, "session.assigned", RECORD), Step(wait + ring, "session.abandoned", SKIP)]
    if kind == "abandoned_in_queue":  # rule 5: abandoned calls get records
        return [Step(wait, "session.abandoned", RECORD)]
    if kind == "connected_first":  # the assignment event arrives after the connection event
        return [Step(wait, "session.assigned", SKIP, late_by=ring + 2), Step(wait + ring, "session.connected", RECORD),
                Step(wait + ring + talk, "session.ended", SKIP)]
    if kind == "self_service":  # finished in the IVR, never assigned: no record
        return [Step(wait, "session.ended", SKIP)]
    if kind == "outbound":
        return [Step(0, "session.assigned", RECORD), Step(rng.randint(8, 30), "session.connected", SKIP),
                Step(40 + talk, "session.ended", SKIP)]
    raise ValueError(kind)


def chat_steps(kind: str, rng: random.Random) -> tuple[list[Step], bool | None]:
    """Events of a chat, with what each must yield under the demo settings (records once the
    consumer sent 2 messages; abandoned chats get one if the consumer sent at least 1), and for an
    abandoned chat whether it is short-abandoned."""
    wait = rng.randint(20, 180)

    def consumer(at: float, expect: str, **kw) -> Step:
        return Step(at, "session.message", expect, "end_user", full=False, **kw)

    def agent(at: float, expect: str) -> Step:
        return Step(at, "session.message", expect, "agent", full=False)

    greeting = Step(1, "session.message", DEFER, "system", full=False)  # system messages do not count
    if kind == "normal":
        return [greeting, consumer(4, DEFER), Step(wait, "session.assigned", DEFER), agent(wait + 15, DEFER),
                consumer(wait + 50, RECORD), agent(wait + 90, SKIP), consumer(wait + 140, SKIP),
                Step(wait + 200, "session.ended", SKIP)], None
    if kind == "texts_before_assignment":  # two texts while waiting: the record comes with the agent
        return [consumer(0, DEFER), consumer(20, DEFER), Step(wait + 20, "session.assigned", RECORD),
                agent(wait + 40, SKIP), Step(wait + 400, "session.ended", SKIP)], None
    if kind == "few_messages":  # rule 4: ended with 1 of 2 consumer messages
        return [greeting, Step(wait, "session.assigned", DEFER), agent(wait + 10, DEFER), consumer(wait + 40, DEFER),
                agent(wait + 70, DEFER), Step(wait + 130, "session.ended", SKIP)], None
    if kind == "silent":
        return [Step(wait, "session.assigned", DEFER), agent(wait + 10, DEFER),
                Step(wait + 300, "session.ended", SKIP)], None
    if kind == "abandoned_waiting":  # rule 6, min_messages 1
        return [consumer(5, DEFER), consumer(40, DEFER), Step(wait + 60, "session.abandoned", RECORD)], False
    if kind == "abandoned_waiting_silent":
        return [Step(wait + 60, "session.abandoned", SKIP)], False
    if kind == "short_abandoned":  # left within 30 s of started_at, after one message
        return [consumer(6, DEFER), Step(rng.randint(12, 28), "session.abandoned", RECORD)], True
    if kind == "short_abandoned_silent":
        return [Step(rng.randint(5, 25), "session.abandoned", SKIP)], True
    if kind == "flagged_short":  # the host says short, whatever the time
        return [consumer(10, DEFER), Step(95, "session.abandoned", RECORD, short=True)], True
    if kind == "flagged_short_silent":
        return [Step(70, "session.abandoned", SKIP, short=True)], True
    if kind == "flagged_not_short":  # quick, but the host says not short: its word wins
        return [consumer(4, DEFER), Step(12, "session.abandoned", RECORD, short=False)], False
    if kind == "abandoned_after_assignment":  # rule 6 decides, whatever rule 4 was waiting for
        return [Step(wait, "session.assigned", DEFER), agent(wait + 10, DEFER), consumer(wait + 30, DEFER),
                Step(wait + 240, "session.abandoned", RECORD)], False
    if kind == "abandoned_after_assignment_silent":
        return [Step(wait, "session.assigned", DEFER), agent(wait + 10, DEFER),
                Step(wait + 240, "session.abandoned", SKIP)], False
    if kind == "assignment_arrives_late":  # the assignment event arrives after the first message
        return [consumer(wait + 10, DEFER), Step(wait, "session.assigned", DEFER, late_by=25),
                agent(wait + 40, DEFER), consumer(wait + 70, RECORD), Step(wait + 300, "session.ended", SKIP)], None
    if kind == "message_after_end":  # a message that arrives after the end changes nothing
        return [Step(wait, "session.assigned", DEFER), consumer(wait + 20, DEFER), agent(wait + 50, DEFER),
                consumer(wait + 80, SKIP, late_by=60), Step(wait + 100, "session.ended", SKIP)], None
    raise ValueError(kind)


# How many of each the day has, besides the sessions of history end users (pinned below).
CALL_KINDS = {"answered": 74, "transferred": 4, "hangup_before_connect": 10, "abandoned_in_queue": 14,
              "connected_first": 4, "self_service": 6, "outbound": 10}
CHAT_KINDS = {"normal": 30, "texts_before_assignment": 8, "few_messages": 8, "silent": 4, "abandoned_waiting": 6,
              "abandoned_waiting_silent": 3, "short_abandoned": 4, "short_abandoned_silent": 4, "flagged_short": 2,
              "flagged_short_silent": 1, "flagged_not_short": 1, "abandoned_after_assignment": 4,
              "abandoned_after_assignment_silent": 2, "assignment_arrives_late": 3, "message_after_end": 2}
ANONYMOUS_FORMS = (None, {}, {"name": "Guest"})  # no end_user key, an empty one, a name only
REDELIVERIES = 8


def call_type(person: Person | None, kind: str, rng: random.Random) -> str:
    if kind == "outbound":
        return "Voice Outbound"
    if person is None:
        return "Voice Inbound (IVR)"
    if person.style == "id":
        return rng.choice(("Voice Inbound (Mobile)", "Voice Inbound (Mobile)", "Voice Inbound (IVR via Mobile)",
                           "Voice Scheduled (Mobile)", "Voice Inbound (IVR)"))
    return rng.choice(("Voice Inbound (IVR)", "Voice Inbound (IVR)", "Voice Inbound (IVR)", "Voice Inbound (Direct)",
                       "Voice Callback (Web)"))


def chat_type(person: Person | None, kind: str, rng: random.Random) -> str:
    if kind == "texts_before_assignment" or (person and person.style == "phone"):
        return rng.choice(("Messaging Inbound (SMS)", "Messaging (WhatsApp)"))
    if person and person.style == "id":
        return rng.choice(("Messaging Inbound (Mobile Chat)", "Messaging Inbound (Web Chat)"))
    return "Messaging Inbound (Web Chat)"


def random_day(rng: random.Random, people: tuple[list[Person], list[Person], list[Person]]) -> list[Plan]:
    """The day's regular traffic: each end user mostly contacts one leaf queue, sometimes others."""
    with_id, by_phone, by_email = people
    home = {p.key: rng.choice(INBOUND_QUEUES) for group in people for p in group}
    kinds = [("call", k) for k, n in CALL_KINDS.items() for _ in range(n)]
    kinds += [("chat", k) for k, n in CHAT_KINDS.items() for _ in range(n)]
    rng.shuffle(kinds)
    plans = []
    for channel, kind in kinds:
        if kind == "texts_before_assignment":
            person: Person | None = rng.choice(by_phone)
        elif kind == "outbound":
            person = rng.choice(with_id + by_phone)
        elif rng.random() < 0.08:
            person = None
        else:
            person = rng.choice(with_id + by_phone + (by_email if channel == "chat" else []))
        if kind == "outbound":
            queue = QUEUES[rng.choice(("q-winback", "q-upgrades"))]
        elif person is not None and rng.random() < 0.65:
            queue = home[person.key]
        else:
            queue = rng.choice(INBOUND_QUEUES)
        start = DAY + timedelta(seconds=rng.randint(0, 9 * 3600 + 20 * 60))
        if channel == "call":
            steps, short, stype = call_steps(kind, rng), None, call_type(person, kind, rng)
        else:
            (steps, short), stype = chat_steps(kind, rng), chat_type(person, kind, rng)
        end_user = person.end_user(rng) if person else rng.choice(ANONYMOUS_FORMS)
        plan = Plan(channel, kind, person, queue, start, stype, steps, end_user, short_abandon=short)
        if kind == "transferred":
            plan.steps[2].queue = rng.choice([q for q in INBOUND_QUEUES if q is not queue])
        plans.append(plan)
    # One call and one chat of a session type the catalogue does not know.
    plans[next(i for i, p in enumerate(plans) if p.kind == "answered" and p.person)].session_type = UNKNOWN_CALL_TYPE
    plans[next(i for i, p in enumerate(plans) if p.kind == "normal" and p.person)].session_type = UNKNOWN_CHAT_TYPE
    return plans


# --- history: end users the day finds records for -------------------------------------------------


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


HISTORY_PEOPLE = {
    "u-101": Person("id:u-101", "id", "Ada Lovelace", phone="+14155550101", email_forms=("ada@mail.example",), user_id="u-101"),
    "u-102": Person("id:u-102", "id", "Bruno Diaz", phone="+14155550102", email_forms=("bruno@mail.example",),
                    language="es", user_id="u-102"),
    "u-103": Person("id:u-103", "id", "Chen Wei", phone="+14155550103", email_forms=("chen@mail.example",), user_id="u-103"),
    "u-104": Person("id:u-104", "id", "Dana Scully", phone="+14155550104", email_forms=("dana@mail.example",), user_id="u-104"),
    "u-105": Person("id:u-105", "id", "Emeka Obi", phone="+14155550105", email_forms=("emeka@mail.example",), user_id="u-105"),
    "u-106": Person("id:u-106", "id", "Fatima Zahra", phone="+14155550106", email_forms=("fatima@mail.example",), user_id="u-106"),
    "u-107": Person("id:u-107", "id", "Goran Ilic", phone="+14155550107", email_forms=("goran@mail.example",), user_id="u-107"),
    "phone-170": Person("phone:+14155550170", "phone", "", phone="+14155550170", phone_formats=us_phone_formats("0170")),
    "phone-188": Person("phone:+14155550188", "phone", "", phone="+14155550188", phone_formats=us_phone_formats("0188")),
    "phone-uk": Person("phone:+442079460321", "phone", "", phone="+442079460321",
                       phone_formats=("+44 20 7946 0321", "+442079460321", "+44 (0)20 7946 0321")),
    "grace": Person("email:grace.hopper@example.com", "email", "Grace Hopper",
                    email_forms=("Grace.Hopper@Example.com", "grace.hopper@example.com", "GRACE.HOPPER@EXAMPLE.COM")),
}


@dataclass(frozen=True)
class Pinned:
    """A session of a history end user at a fixed time, and what its record step must give."""

    who: str
    queue: str
    channel: str
    session_type: str
    start: str
    expect: str = "created"
    why: str = ""
    wait: float | None = None
    kind: str | None = None
    end_user_form: int = 0  # which of the person's phone/email forms the host sends


HISTORY = [  # (session, when an agent closed its record, or None): one per end user and leaf queue
    (Pinned("u-101", "q-refunds", "call", "Voice Inbound (Mobile)", "2026-11-17T10:05:00Z", wait=40), "2026-11-17T16:00:00Z"),
    (Pinned("phone-170", "q-outages", "call", "Voice Inbound (IVR)", "2026-11-17T14:00:00Z", wait=60), "2026-11-18T09:00:00Z"),
    (Pinned("u-106", "q-cancel", "call", "Voice Inbound (IVR)", "2026-11-20T09:10:00Z", wait=30), "2026-11-20T12:00:00Z"),
    (Pinned("u-102", "q-invoices", "chat", "Messaging Inbound (Mobile Chat)", "2026-11-21T08:30:00Z"), "2026-11-21T09:00:00Z"),
    (Pinned("u-103", "q-invoices", "call", "Voice Inbound (Mobile)", "2026-11-21T09:20:00Z", wait=25), "2026-11-21T10:00:00Z"),
    (Pinned("grace", "q-devices", "chat", "Messaging Inbound (Web Chat)", "2026-11-22T10:00:00Z"), "2026-11-23T11:00:00Z"),
    (Pinned("phone-uk", "q-internet", "chat", "Messaging (WhatsApp)", "2026-11-22T16:00:00Z"), "2026-11-23T15:30:00Z"),
    (Pinned("u-104", "q-upgrades", "call", "Voice Inbound (IVR)", "2026-11-23T09:00:00Z", wait=45), None),
    (Pinned("phone-188", "q-refunds", "chat", "Messaging Inbound (SMS)", "2026-11-23T11:30:00Z",
            kind="texts_before_assignment", end_user_form=3), None),
    (Pinned("u-105", "q-plans", "call", "Voice Inbound (Mobile)", "2026-11-23T13:00:00Z", wait=50), "2026-11-23T17:00:00Z"),
    (Pinned("u-107", "q-outages", "call", "Voice Inbound (IVR)", "2026-11-23T15:00:00Z", wait=35), None),
]

DAY_PINNED = [  # the history end users' sessions of the day, and the action their record step must get
    Pinned("u-101", "q-refunds", "call", "Voice Inbound (Mobile)", "2026-11-24T08:14:00Z", wait=30,
           expect="created", why="the record was closed 7 days ago, outside the 3-day window"),
    Pinned("phone-170", "q-outages", "call", "Voice Inbound (IVR)", "2026-11-24T08:40:00Z", wait=50, end_user_form=2,
           expect="created", why="closed 6 days ago; the caller's number written another way"),
    Pinned("u-102", "q-invoices", "call", "Voice Inbound (Mobile)", "2026-11-24T08:59:20Z", wait=40,
           expect="reopened", why="assigned exactly 3 days after the close: the window is inclusive"),
    Pinned("u-103", "q-invoices", "call", "Voice Inbound (Mobile)", "2026-11-24T09:59:31Z", wait=30,
           expect="created", why="assigned 3 days and 1 second after the close"),
    Pinned("u-105", "q-plans", "call", "Voice Inbound (Mobile)", "2026-11-24T09:45:00Z", wait=35,
           expect="reopened", why="closed yesterday"),
    Pinned("u-107", "q-internet", "call", "Voice Inbound (IVR)", "2026-11-24T10:30:00Z", wait=20,
           expect="created", why="the open record is in another leaf queue of the same menu"),
    Pinned("u-106", "q-cancel", "call", "Voice Inbound (IVR)", "2026-11-24T11:00:00Z", wait=60,
           expect="created", why="closed 4 days ago"),
    Pinned("grace", "q-devices", "chat", "Messaging Inbound (Web Chat)", "2026-11-24T11:20:00Z", end_user_form=1,
           expect="reopened", why="closed yesterday; the email written in another case"),
    Pinned("phone-uk", "q-internet", "call", "Voice Inbound (IVR)", "2026-11-24T12:05:00Z", wait=30, end_user_form=1,
           expect="reopened", why="a WhatsApp record reopened by a call; the number written another way"),
    Pinned("u-104", "q-upgrades", "chat", "Messaging Inbound (Mobile Chat)", "2026-11-24T13:10:00Z",
           expect="appended", why="the record from yesterday is still open"),
    Pinned("phone-188", "q-refunds", "call", "Voice Inbound (IVR)", "2026-11-24T14:30:00Z", wait=40, end_user_form=2,
           expect="appended", why="an SMS record gets the call; the number written another way"),
    Pinned("u-105", "q-plans", "chat", "Messaging Inbound (Mobile Chat)", "2026-11-24T15:00:00Z",
           expect="appended", why="the record reopened this morning is open again"),
    Pinned("u-107", "q-outages", "call", "Voice Inbound (IVR)", "2026-11-24T16:00:00Z", wait=25,
           expect="appended", why="the open record in this leaf queue"),
    Pinned("phone-188", "q-refunds", "call", "Voice Inbound (IVR)", "2026-11-24T16:45:00Z", wait=90,
           kind="abandoned_in_queue", end_user_form=4,
           expect="appended", why="an abandoned call follows rules 1 and 2 like any other"),
]


def pinned_plan(pin: Pinned, rng: random.Random) -> Plan:
    person = HISTORY_PEOPLE[pin.who]
    if pin.channel == "call":
        kind = pin.kind or "answered"
        steps, short = call_steps(kind, rng, wait=pin.wait), None
    else:
        kind = pin.kind or "normal"
        steps, short = chat_steps(kind, rng)
    return Plan(pin.channel, kind, person, QUEUES[pin.queue], at(pin.start), pin.session_type, steps,
                person.end_user(rng, pin.end_user_form), short_abandon=short)


# --- from plans to events --------------------------------------------------------------------------


@dataclass
class Wire:
    """An event as written, with what it must yield."""

    arrival: datetime
    order: int
    plan: Plan
    step: Step
    event: dict
    expect: str
    original: "Wire | None" = None


def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


MESSAGES = {
    "end_user": ("Hi, I need help with my bill", "I was charged twice this month", "My internet keeps dropping",
                 "Can I change my plan?", "Is there an outage in my area?", "The router shows a red light",
                 "Thanks!", "Yes, that's right", "My account number is in the app"),
    "agent": ("Hello, I'm here to help.", "Let me check that for you.", "Could you confirm your address?",
              "I've applied a credit to your account.", "Is there anything else I can do?"),
    "system": ("Chat started",),
}


def session_object(plan: Plan, step: Step) -> dict:
    session = {"id": plan.session_id, "channel": plan.channel}
    if not step.full:
        return session
    queue = step.queue or plan.queue
    session["session_type"] = plan.session_type
    session["leaf_queue"] = {"id": queue.id, "path": list(queue.path)}
    if plan.end_user is not None:
        session["end_user"] = dict(plan.end_user)
    if plan.dialed_number:
        session["dialed_number"] = plan.dialed_number
    session["language"] = plan.person.language if plan.person else "en"
    if plan.session_type != "Voice Outbound":
        session["menu_path"] = queue.menu_path
    session["started_at"] = stamp(plan.start)
    return session


def with_agent(plan: Plan, step: Step) -> bool:
    """Events that involve the agent carry it: assignment, connection, the agent's messages, and
    the end of a session that reached one."""
    if step.type in ("session.assigned", "session.connected"):
        return True
    if step.type == "session.message":
        return step.message_from == "agent"
    return step.type == "session.ended" and any(s.type == "session.assigned" for s in plan.steps)


def wires_of(plans: list[Plan], rng: random.Random) -> list[Wire]:
    """Every event of every plan, in arrival order (ids not given yet)."""
    wires = []
    for plan in plans:
        for step in plan.steps:
            moment = plan.start + timedelta(seconds=step.offset)
            event: dict = {"id": "", "type": step.type, "at": stamp(moment),
                           "session": session_object(plan, step)}
            if with_agent(plan, step):
                event["agent"] = dict(plan.agent)
            if step.type == "session.message":
                event["message"] = {"from": step.message_from, "text": rng.choice(MESSAGES[step.message_from])}
            if step.short is not None:
                event["short"] = step.short
            arrival = moment + timedelta(seconds=step.late_by)
            wires.append(Wire(arrival, len(wires), plan, step, event, step.expect))
    return sorted(wires, key=lambda w: (w.arrival, w.order))


def add_redeliveries(wires: list[Wire], count: int, rng: random.Random) -> list[Wire]:
    """Send ``count`` events a second time, seconds to a minute later; the copies yield duplicate."""
    chosen = rng.sample(range(len(wires)), count)
    copies = [Wire(wires[i].arrival + timedelta(seconds=rng.randint(3, 60)), len(wires) + n, wires[i].plan,
                   wires[i].step, wires[i].event, DUPLICATE, original=wires[i]) for n, i in enumerate(chosen)]
    return sorted(wires + copies, key=lambda w: (w.arrival, w.order))


def number(plans: list[Plan], first_call: int, first_chat: int, rng: random.Random) -> None:
    """Session ids in start order, and an agent for every session that reaches one."""
    counters = {"call": first_call, "chat": first_chat}
    for plan in sorted(plans, key=lambda p: p.start):
        plan.session_id = f"{plan.channel}-{counters[plan.channel]}"
        counters[plan.channel] += 1
        plan.agent = rng.choice(AGENTS)


def give_ids(wires: list[Wire], prefix: str) -> None:
    n = 0
    for wire in wires:
        if wire.original is None:
            n += 1
            wire.event["id"] = f"{prefix}{n:05d}"


def line(event: dict) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


# --- what crmhub must do: the plan's own model of the local CRM ------------------------------------


@dataclass
class ExpectedRecord:
    id: int
    session_id: str
    key: str | None
    queue: str
    created_at: datetime
    title: str
    tags: list[str]
    status: str = "open"
    closed_at: datetime | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"id": str(self.id), "session_id": self.session_id, "leaf_queue_id": self.queue,
                "status": self.status, "closed_at": self.closed_at.isoformat() if self.closed_at else None,
                "title": self.title, "tags": self.tags, "notes": self.notes}


def title_of(plan: Plan) -> str:
    """``{CALL_TYPE} {PHONE_NUMBER} {TIMESTAMP}``, as crmhub.toml here sets it."""
    parts = [LABELS.get(plan.session_type, plan.session_type), plan.dialed_number or "",
             plan.start.strftime("%Y-%m-%d %H:%M UTC")]
    return " ".join(p for p in parts if p)


class ExpectedCrm:
    """Rules 1 and 2 over the records the plan has made so far (SPEC section 3)."""

    def __init__(self) -> None:
        self.records: list[ExpectedRecord] = []

    def record(self, plan: Plan, moment: datetime) -> str:
        key = plan.person.key if plan.person else None
        tag = plan.session_type
        if key is not None:
            mine = [r for r in self.records if r.key == key and r.queue == plan.queue.id]
            open_ = [r for r in mine if r.status == "open"]
            window = [r for r in mine if r.status == "closed" and r.closed_at >= moment - REOPEN_WINDOW]
            found = max(open_, key=lambda r: (r.created_at, r.id)) if open_ else (
                max(window, key=lambda r: r.closed_at) if window else None)
            if found is not None:
                found.notes.append(plan.session_id)
                if tag not in found.tags:
                    found.tags.append(tag)
                if found.status == "closed":
                    found.status, found.closed_at = "open", None
                    return "reopened"
                return "appended"
        self.records.append(ExpectedRecord(len(self.records) + 1, plan.session_id, key, plan.queue.id, moment,
                                           title_of(plan), [tag, PLATFORM_TAG]))
        return "created"

    def close(self, record_id: int, moment: datetime) -> None:
        record = self.records[record_id - 1]
        record.status, record.closed_at = "closed", moment


def expected_actions(wires: Iterable[Wire], crm: ExpectedCrm) -> tuple[Counter, dict[str, str]]:
    """Outcomes per action over a replay, and the action of each session's record step."""
    actions: Counter = Counter({a: 0 for a in ACTIONS})
    record_steps: dict[str, str] = {}
    for wire in wires:
        expect = wire.expect
        if expect == RECORD:
            session_id = wire.plan.session_id
            assert session_id not in record_steps, f"{session_id} planned two records"
            expect = record_steps[session_id] = crm.record(wire.plan, at(wire.event["at"]))
        actions[expect] += 1
    return actions, record_steps


def check_short_abandons(plans: Iterable[Plan]) -> None:
    """Each abandoned chat's planned kind agrees with its timing: short when abandoned within
    SHORT_ABANDON of its start, unless its event says otherwise."""
    for plan in plans:
        if plan.channel != "chat" or plan.short_abandon is None:
            continue
        step = next(s for s in plan.steps if s.type == "session.abandoned")
        short = step.short if step.short is not None else timedelta(seconds=step.offset) <= SHORT_ABANDON
        assert short == plan.short_abandon, f"{plan.session_id}: planned short={plan.short_abandon}"


# --- writing ---------------------------------------------------------------------------------------


def build() -> dict[str, str]:
    """File name → content of every file this script writes."""
    rng = random.Random(SEED)
    crm = ExpectedCrm()

    history = [pinned_plan(pin, rng) for pin, _ in HISTORY]
    number(history, 701, 751, rng)
    history_wires = wires_of(history, rng)
    give_ids(history_wires, "evt-h")
    history_actions, _ = expected_actions(history_wires, crm)
    closes = []
    for (pin, closed), plan in zip(HISTORY, history, strict=True):
        if closed:
            record = next(r for r in crm.records if r.session_id == plan.session_id)
            crm.close(record.id, at(closed))
            closes.append(f"{record.id} {closed}")

    people = make_people(rng)
    pinned = [pinned_plan(pin, rng) for pin in DAY_PINNED]
    day = random_day(rng, people) + pinned
    number(day, 1001, 2001, rng)
    day_wires = add_redeliveries(wires_of(day, rng), REDELIVERIES, rng)
    give_ids(day_wires, "evt-")
    assert all(DAY <= w.arrival <= DAY_END for w in day_wires), "an event falls outside the day"
    day_actions, record_steps = expected_actions(day_wires, crm)
    for pin, plan in zip(DAY_PINNED, pinned, strict=True):
        assert record_steps[plan.session_id] == pin.expect, f"{plan.session_id}: the plan says {pin.expect}"

    check_short_abandons(day)
    abandoned = [p for p in day if p.channel == "chat" and p.short_abandon is not None]
    expected = {
        "about": "Written by generate_events.py from its scenario plan; tests/test_demo.py checks a real run against it.",
        "replays": [
            {"events": "events-history.jsonl", "lines": len(history_wires), "sessions": len(history),
             "actions": dict(history_actions)},
            {"events": "events.jsonl", "lines": len(day_wires), "sessions": len(day),
             "calls": sum(p.channel == "call" for p in day), "chats": sum(p.channel == "chat" for p in day),
             "actions": dict(day_actions)},
        ],
        "short_abandoned_chats": sorted(p.session_id for p in abandoned if p.short_abandon),
        "abandoned_chats_not_short": sorted(p.session_id for p in abandoned if not p.short_abandon),
        "history_end_users": [
            {"session_id": plan.session_id, "action": pin.expect, "why": pin.why}
            for pin, plan in zip(DAY_PINNED, pinned, strict=True)
        ],
        "records": [r.to_dict() for r in crm.records],
    }
    closes_text = (
        "# Records agents closed after the history sessions: RECORD-ID CLOSED-AT.\n"
        "# scripts/demo.sh runs `crmhub records close RECORD-ID --at CLOSED-AT` for each line,\n"
        "# between replaying events-history.jsonl and events.jsonl.\n" + "\n".join(closes) + "\n"
    )
    return {
        "events-history.jsonl": "".join(line(w.event) + "\n" for w in history_wires),
        "closes.txt": closes_text,
        "events.jsonl": "".join(line(w.event) + "\n" for w in day_wires),
        "expected-summary.json": json.dumps(expected, indent=2) + "\n",
    }


def main() -> None:
    for name, content in build().items():
        (HERE / name).write_text(content, encoding="utf-8")
        print(f"wrote {HERE.name}/{name}")


if __name__ == "__main__":
    main()
