"""A fake Zendesk Support API v2: users, tickets and ticket metrics, in memory.

It answers what the crmhub-zendesk plugin asks, the way Zendesk documents it: user search by
``external_id`` or ``query=phone:``/``email:``, ``create_or_update`` (matching external id or
email), ticket create (repeating an ``Idempotency-Key`` returns the first ticket), ticket read
and update (with ``safe_update``: 409 when ``updated_stamp`` is stale), the requester's tickets
with ``metric_sets`` sideloaded, and tickets by ``external_id``.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from bench.crms.common import WriteClock, zulu
from bench.fake_http import Answer, FakeApp, Request

NAME = "zendesk"
ENVIRON = {"ZENDESK_API_TOKEN": "bench-token"}


def settings(base_url: str) -> dict[str, Any]:
    """The ``[crm.zendesk]`` section for a fake served at ``base_url``."""
    return {"email": "agent@example.com", "api_token": "env:ZENDESK_API_TOKEN", "base_url": base_url}


def _not_found() -> Answer:
    return Answer(404, {"error": "RecordNotFound", "description": "Not found"})


class App(FakeApp):
    def __init__(self) -> None:
        super().__init__()
        self.clock = WriteClock()
        self.users: dict[int, dict[str, Any]] = {}
        self.tickets: dict[int, dict[str, Any]] = {}
        self.solved_at: dict[int, str] = {}
        self.by_idempotency_key: dict[str, int] = {}
        self._user_ids = itertools.count(9001)
        self._ticket_ids = itertools.count(5001)
        api = "/api/v2"
        self.route("GET", api + "/users/search.json", self.search_users)
        self.route("POST", api + "/users/create_or_update.json", self.create_or_update_user)
        self.route("POST", api + "/tickets.json", self.create_ticket)
        self.route("GET", api + "/tickets.json", self.tickets_by_external_id)
        self.route("GET", api + r"/tickets/(?P<ticket_id>\d+)\.json", self.read_ticket)
        self.route("PUT", api + r"/tickets/(?P<ticket_id>\d+)\.json", self.update_ticket)
        self.route("GET", api + r"/users/(?P<user_id>\d+)/tickets/requested\.json", self.requested_tickets)

    # --- what the benchmark does to the CRM directly (people, agents) --------------------------

    def add_person(self, end_user: dict[str, str]) -> None:
        self._new_user({"name": end_user.get("name"), "external_id": end_user.get("id"),
                        "phone": end_user.get("phone"), "email": end_user.get("email")})

    def close(self, record_id: str, at: datetime) -> None:
        """An agent solves the ticket at ``at``."""
        ticket = self.tickets[int(record_id)]
        ticket.update(status="solved", updated_at=zulu(self.clock.now()))
        self.solved_at[ticket["id"]] = zulu(at)

    # --- users ----------------------------------------------------------------------------------

    def _new_user(self, fields: dict[str, Any]) -> dict[str, Any]:
        user = {"id": next(self._user_ids), "role": "end-user", "created_at": zulu(self.clock.now()), **fields}
        self.users[user["id"]] = user
        return user

    def search_users(self, request: Request) -> Answer:
        if "external_id" in request.query:
            found = [u for u in self.users.values() if u.get("external_id") == request.query["external_id"]]
        else:
            kind, _, value = request.query.get("query", "").partition(":")
            found = [u for u in self.users.values() if str(u.get(kind) or "").lower() == value.lower()]
        return Answer(200, {"users": found, "count": len(found), "next_page": None, "previous_page": None})

    def create_or_update_user(self, request: Request) -> Answer:
        fields = dict(request.body["user"])
        for user in self.users.values():
            same_id = fields.get("external_id") and user.get("external_id") == fields["external_id"]
            same_email = fields.get("email") and str(user.get("email") or "").lower() == fields["email"].lower()
            if same_id or same_email:
                user.update(fields)
                return Answer(200, {"user": user})
        return Answer(201, {"user": self._new_user(fields)})

    # --- tickets --------------------------------------------------------------------------------

    def create_ticket(self, request: Request) -> Answer:
        key = request.headers.get("Idempotency-Key")
        if key and key in self.by_idempotency_key:
            return Answer(201, {"ticket": self.tickets[self.by_idempotency_key[key]]})
        body = request.body["ticket"]
        now = zulu(self.clock.now())
        ticket = {
            "id": next(self._ticket_ids), "subject": body.get("subject"), "status": "new",
            "description": body.get("comment", {}).get("body"), "requester_id": body.get("requester_id"),
            "external_id": body.get("external_id"), "tags": list(body.get("tags") or []),
            "group_id": body.get("group_id"), "custom_fields": body.get("custom_fields") or [],
            "via_followup_source_id": body.get("via_followup_source_id"), "comment_count": 1,
            "created_at": now, "updated_at": now,
        }
        self.tickets[ticket["id"]] = ticket
        if key:
            self.by_idempotency_key[key] = ticket["id"]
        return Answer(201, {"ticket": ticket, "audit": {"ticket_id": ticket["id"], "created_at": now}})

    def _with_metrics(self, request: Request, key: str, tickets: Any) -> dict[str, Any]:
        answer: dict[str, Any] = {key: tickets}
        if request.query.get("include") == "metric_sets":
            listed = tickets if isinstance(tickets, list) else [tickets]
            answer["metric_sets"] = [{"ticket_id": t["id"], "solved_at": self.solved_at.get(t["id"])} for t in listed]
        return answer

    def read_ticket(self, request: Request, ticket_id: str) -> Answer:
        ticket = self.tickets.get(int(ticket_id))
        return Answer(200, self._with_metrics(request, "ticket", ticket)) if ticket else _not_found()

    def update_ticket(self, request: Request, ticket_id: str) -> Answer:
        ticket = self.tickets.get(int(ticket_id))
        if ticket is None:
            return _not_found()
        change = request.body["ticket"]
        if change.get("safe_update") and change.get("updated_stamp") != ticket["updated_at"]:
            return Answer(409, {"error": "UpdateConflict", "description": "the ticket was updated meanwhile"})
        if "tags" in change:
            ticket["tags"] = list(change["tags"])
        if "status" in change:
            ticket["status"] = change["status"]
            if change["status"] not in ("solved", "closed"):
                self.solved_at.pop(ticket["id"], None)
        if "comment" in change:
            ticket["comment_count"] += 1
        ticket["updated_at"] = zulu(self.clock.now())
        return Answer(200, {"ticket": ticket, "audit": {"ticket_id": ticket["id"]}})

    def requested_tickets(self, request: Request, user_id: str) -> Answer:
        mine = sorted((t for t in self.tickets.values() if t.get("requester_id") == int(user_id)),
                      key=lambda t: t["created_at"], reverse=True)
        answer = self._with_metrics(request, "tickets", mine)
        answer.update(count=len(mine), next_page=None, previous_page=None)
        return Answer(200, answer)

    def tickets_by_external_id(self, request: Request) -> Answer:
        found = [t for t in self.tickets.values() if t.get("external_id") == request.query.get("external_id")]
        return Answer(200, self._with_metrics(request, "tickets", found))
