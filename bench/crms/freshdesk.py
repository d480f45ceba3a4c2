"""A fake Freshdesk API v2: contacts, tickets (with ``include=stats``) and notes, in memory.

It answers what the crmhub-freshdesk plugin asks, the way Freshdesk documents it: the contact
list filtered by ``unique_external_id``, ``phone``, ``mobile`` or ``email``; contact create (409
with ``additional_info.user_id`` for a duplicate); ticket create, read, update and the ticket list
filtered by ``requester_id`` (newest first); private notes.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from bench.crms.common import WriteClock, zulu
from bench.fake_http import Answer, FakeApp, Request

NAME = "freshdesk"
ENVIRON = {"FRESHDESK_API_KEY": "bench-key"}
CONTACT_FILTERS = ("unique_external_id", "phone", "mobile", "email")


def settings(base_url: str) -> dict[str, Any]:
    """The ``[crm.freshdesk]`` section for a fake served at ``base_url``."""
    return {"api_key": "env:FRESHDESK_API_KEY", "base_url": base_url, "anonymous_requester_email": "anonymous@example.com"}


def _not_found() -> Answer:
    return Answer(404, {"description": "Resource not found", "errors": []})


class App(FakeApp):
    def __init__(self) -> None:
        super().__init__()
        self.clock = WriteClock()
        self.contacts: dict[int, dict[str, Any]] = {}
        self.tickets: dict[int, dict[str, Any]] = {}
        self.notes: list[dict[str, Any]] = []
        self._contact_ids = itertools.count(43001000001)
        self._ticket_ids = itertools.count(2001)
        self._note_ids = itertools.count(7001)
        api = "/api/v2"
        self.route("GET", api + "/contacts", self.list_contacts)
        self.route("POST", api + "/contacts", self.create_contact)
        self.route("GET", api + "/tickets", self.list_tickets)
        self.route("POST", api + "/tickets", self.create_ticket)
        self.route("GET", api + r"/tickets/(?P<ticket_id>\d+)", self.read_ticket)
        self.route("PUT", api + r"/tickets/(?P<ticket_id>\d+)", self.update_ticket)
        self.route("POST", api + r"/tickets/(?P<ticket_id>\d+)/notes", self.add_note)

    # --- what the benchmark does to the CRM directly (people, agents) --------------------------

    def add_person(self, end_user: dict[str, str]) -> None:
        self._new_contact({"name": end_user.get("name"), "unique_external_id": end_user.get("id"),
                           "phone": end_user.get("phone"), "email": end_user.get("email")})

    def close(self, record_id: str, at: datetime) -> None:
        """An agent closes the ticket at ``at``."""
        ticket = self.tickets[int(record_id)]
        ticket.update(status=5, updated_at=zulu(self.clock.now()))
        ticket["stats"].update(resolved_at=zulu(at), closed_at=zulu(at))

    # --- contacts -------------------------------------------------------------------------------

    def _new_contact(self, fields: dict[str, Any]) -> dict[str, Any]:
        contact = {"id": next(self._contact_ids), "mobile": None, "created_at": zulu(self.clock.now()), **fields}
        self.contacts[contact["id"]] = contact
        return contact

    def _contact_by(self, name: str, value: str) -> list[dict[str, Any]]:
        return [c for c in self.contacts.values() if str(c.get(name) or "").lower() == value.lower()]

    def list_contacts(self, request: Request) -> Answer:
        for name in CONTACT_FILTERS:
            if name in request.query:
                return Answer(200, self._contact_by(name, request.query[name]))
        return Answer(200, list(self.contacts.values()))

    def create_contact(self, request: Request) -> Answer:
        fields = dict(request.body)
        for name in ("email", "unique_external_id"):
            if fields.get(name) and self._contact_by(name, fields[name]):
                existing = self._contact_by(name, fields[name])[0]
                return Answer(409, {"description": "Validation failed", "errors": [
                    {"field": name, "message": "It should be a unique value", "code": "duplicate_value",
                     "additional_info": {"user_id": existing["id"]}}]})
        return Answer(201, self._new_contact(fields))

    # --- tickets --------------------------------------------------------------------------------

    def _shown(self, ticket: dict[str, Any], request: Request) -> dict[str, Any]:
        if request.query.get("include") == "stats":
            return ticket
        return {key: value for key, value in ticket.items() if key != "stats"}

    def create_ticket(self, request: Request) -> Answer:
        body = dict(request.body)
        requester = body.get("requester_id")
        if requester is None:
            found = self._contact_by("email", body["email"])
            requester = found[0]["id"] if found else self._new_contact({"name": body["email"], "email": body["email"]})["id"]
        now = zulu(self.clock.now())
        ticket = {
            "id": next(self._ticket_ids), "subject": body.get("subject"), "description": body.get("description"),
            "status": body.get("status", 2), "priority": body.get("priority", 1), "source": body.get("source", 3),
            "requester_id": requester, "tags": list(body.get("tags") or []), "group_id": body.get("group_id"),
            "custom_fields": body.get("custom_fields") or {}, "created_at": now, "updated_at": now,
            "stats": {"resolved_at": None, "closed_at": None},
        }
        self.tickets[ticket["id"]] = ticket
        return Answer(201, self._shown(ticket, request))

    def read_ticket(self, request: Request, ticket_id: str) -> Answer:
        ticket = self.tickets.get(int(ticket_id))
        return Answer(200, self._shown(ticket, request)) if ticket else _not_found()

    def update_ticket(self, request: Request, ticket_id: str) -> Answer:
        ticket = self.tickets.get(int(ticket_id))
        if ticket is None:
            return _not_found()
        if "status" in request.body:
            ticket["status"] = request.body["status"]
            if ticket["status"] not in (4, 5):
                ticket["stats"] = {"resolved_at": None, "closed_at": None}
        if "tags" in request.body:
            ticket["tags"] = list(request.body["tags"])
        ticket["updated_at"] = zulu(self.clock.now())
        return Answer(200, self._shown(ticket, request))

    def list_tickets(self, request: Request) -> Answer:
        requester = request.query.get("requester_id")
        listed = [t for t in self.tickets.values() if requester is None or str(t["requester_id"]) == requester]
        listed.sort(key=lambda t: t["created_at"], reverse=True)
        return Answer(200, [self._shown(t, request) for t in listed[:100]])

    def add_note(self, request: Request, ticket_id: str) -> Answer:
        if int(ticket_id) not in self.tickets:
            return _not_found()
        note = {"id": next(self._note_ids), "ticket_id": int(ticket_id), "private": request.body.get("private", False),
                "body": request.body.get("body"), "created_at": zulu(self.clock.now())}
        self.notes.append(note)
        return Answer(201, note)
