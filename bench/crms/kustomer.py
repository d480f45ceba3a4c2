"""A fake Kustomer API v1: customers, conversations, tags and notes, in memory (JSON:API shapes).

It answers what the crmhub-kustomer plugin asks, the way Kustomer documents it: customer lookups
``/v1/customers/externalId=…`` / ``phone=…`` / ``email=…`` (404 when nobody has it), customer
create, a customer's conversations (paged, newest first), conversation create (with tag ids),
read and update (status, and ``tags``, which replaces the list), the org's tags (listed in pages,
created by name), tags appended to a conversation by name (kept as tag ids, as Kustomer does) and
notes.

The org already has crmhub's tags, as an org where crmhub has been running does (each tag is
created once per org, ever): the Kustomer form of every session type of the shipped catalogue,
and the platform tag. A crmhub process learns their ids with one listing, the first time it
needs one (the benchmark's warm-up session).
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from bench.crms.common import WriteClock, zulu
from bench.fake_http import Answer, FakeApp, Request
from crmhub.core.session_types import SessionTypeCatalogue
from crmhub.core.tags import kustomer_tag

NAME = "kustomer"
ENVIRON = {"KUSTOMER_API_KEY": "bench-key"}
ANONYMOUS_CUSTOMER = "66f1c2a3b4c5d6e7f8a90000"
LEAF_QUEUE_ATTRIBUTE = "crmhubLeafQueueStr"
PLATFORM_TAG = "UJET"
TAGS_PAGE_SIZE = 100


def settings(base_url: str) -> dict[str, Any]:
    """The ``[crm.kustomer]`` section for a fake served at ``base_url``."""
    return {"api_key": "env:KUSTOMER_API_KEY", "base_url": base_url, "anonymous_customer_id": ANONYMOUS_CUSTOMER}


def crmhub_tag_names() -> list[str]:
    """The tags crmhub writes on Kustomer with the shipped catalogue: session types, platform."""
    catalogue = SessionTypeCatalogue()
    forms = [catalogue.get(name).tags.get(NAME) or kustomer_tag(name) for name in catalogue.names()]
    return list(dict.fromkeys([*forms, PLATFORM_TAG]))


def _not_found(what: str) -> Answer:
    return Answer(404, {"errors": [{"status": 404, "code": "not_found", "title": f"{what} not found"}]})


class App(FakeApp):
    def __init__(self) -> None:
        super().__init__()
        self.clock = WriteClock()
        self.customers: dict[str, dict[str, Any]] = {}
        self.conversations: dict[str, dict[str, Any]] = {}
        self.conversation_customer: dict[str, str] = {}
        self.tags: dict[str, str] = {}
        """Tag id -> name."""
        self.notes: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self.customers[ANONYMOUS_CUSTOMER] = {"name": "Anonymous", "externalId": None, "phones": [], "emails": []}
        for name in crmhub_tag_names():
            self._tag_id(name)
        self.route("GET", r"/v1/customers/(?P<kind>externalId|phone|email)=(?P<value>[^/]+)", self.find_customer)
        self.route("POST", r"/v1/customers", self.create_customer)
        self.route("GET", r"/v1/customers/(?P<customer_id>\w+)/conversations", self.customer_conversations)
        self.route("POST", r"/v1/customers/(?P<customer_id>\w+)/conversations", self.create_conversation)
        self.route("GET", r"/v1/conversations/externalId=(?P<value>[^/]+)", self.conversation_by_external_id)
        self.route("GET", r"/v1/conversations/(?P<conversation_id>\w+)", self.read_conversation)
        self.route("PATCH", r"/v1/conversations/(?P<conversation_id>\w+)", self.update_conversation)
        self.route("POST", r"/v1/conversations/(?P<conversation_id>\w+)/tags", self.add_tags)
        self.route("POST", r"/v1/conversations/(?P<conversation_id>\w+)/notes", self.add_note)
        self.route("GET", r"/v1/tags", self.list_tags)
        self.route("POST", r"/v1/tags", self.create_tag)

    def _new_id(self) -> str:
        return f"{next(self._ids):024x}"

    # --- what the benchmark does to the CRM directly (people, agents) --------------------------

    def add_person(self, end_user: dict[str, str]) -> None:
        self.customers[self._new_id()] = {
            "name": end_user.get("name"), "externalId": end_user.get("id"),
            "phones": [{"phone": end_user["phone"]}] if end_user.get("phone") else [],
            "emails": [{"email": end_user["email"].lower()}] if end_user.get("email") else [],
        }

    def close(self, record_id: str, at: datetime) -> None:
        """An agent marks the conversation done at ``at``."""
        conversation = self.conversations[record_id]
        conversation.update(status="done", lastDone={"createdAt": zulu(at)}, updatedAt=zulu(self.clock.now()))

    # --- customers ------------------------------------------------------------------------------

    def _customer(self, customer_id: str) -> dict[str, Any]:
        return {"type": "customer", "id": customer_id, "attributes": self.customers[customer_id]}

    def find_customer(self, request: Request, kind: str, value: str) -> Answer:
        for customer_id, customer in self.customers.items():
            if kind == "externalId" and customer.get("externalId") == value:
                return Answer(200, {"data": self._customer(customer_id)})
            if kind == "phone" and any(p["phone"] == value for p in customer["phones"]):
                return Answer(200, {"data": self._customer(customer_id)})
            if kind == "email" and any(e["email"] == value.lower() for e in customer["emails"]):
                return Answer(200, {"data": self._customer(customer_id)})
        return _not_found("customer")

    def create_customer(self, request: Request) -> Answer:
        body = request.body
        customer_id = self._new_id()
        self.customers[customer_id] = {
            "name": body.get("name"), "externalId": body.get("externalId"),
            "phones": list(body.get("phones") or []), "emails": list(body.get("emails") or []),
            "createdAt": zulu(self.clock.now()),
        }
        return Answer(201, {"data": self._customer(customer_id)})

    # --- conversations --------------------------------------------------------------------------

    def _conversation(self, conversation_id: str) -> dict[str, Any]:
        return {
            "type": "conversation", "id": conversation_id, "attributes": self.conversations[conversation_id],
            "relationships": {"customer": {"data": {"type": "customer", "id": self.conversation_customer[conversation_id]}}},
        }

    def create_conversation(self, request: Request, customer_id: str) -> Answer:
        if customer_id not in self.customers:
            return _not_found("customer")
        body = request.body
        conversation_id = self._new_id()
        now = zulu(self.clock.now())
        self.conversations[conversation_id] = {
            "name": body.get("name"), "status": body.get("status", "open"), "externalId": body.get("externalId"),
            "custom": dict(body.get("custom") or {}), "tags": list(dict.fromkeys(body.get("tags") or [])),
            "createdAt": now, "updatedAt": now, "noteCount": 0,
        }
        self.conversation_customer[conversation_id] = customer_id
        return Answer(201, {"data": self._conversation(conversation_id)})

    def read_conversation(self, request: Request, conversation_id: str) -> Answer:
        if conversation_id not in self.conversations:
            return _not_found("conversation")
        return Answer(200, {"data": self._conversation(conversation_id)})

    def conversation_by_external_id(self, request: Request, value: str) -> Answer:
        for conversation_id, conversation in self.conversations.items():
            if conversation.get("externalId") == value:
                return Answer(200, {"data": self._conversation(conversation_id)})
        return _not_found("conversation")

    def customer_conversations(self, request: Request, customer_id: str) -> Answer:
        if customer_id not in self.customers:
            return _not_found("customer")
        mine = [c for c, owner in self.conversation_customer.items() if owner == customer_id]
        mine.sort(key=lambda c: self.conversations[c]["createdAt"], reverse=True)
        return Answer(200, {"data": [self._conversation(c) for c in mine[:100]],
                            "links": {"self": request.path, "next": None}, "meta": {"pageSize": 100, "page": 1}})

    def update_conversation(self, request: Request, conversation_id: str) -> Answer:
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            return _not_found("conversation")
        if "status" in request.body:
            conversation["status"] = request.body["status"]
        if "tags" in request.body:
            conversation["tags"] = list(dict.fromkeys(request.body["tags"]))
        conversation["updatedAt"] = zulu(self.clock.now())
        return Answer(200, {"data": self._conversation(conversation_id)})

    def add_tags(self, request: Request, conversation_id: str) -> Answer:
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            return _not_found("conversation")
        for name in request.body:
            tag_id = self._tag_id(name)
            if tag_id not in conversation["tags"]:
                conversation["tags"].append(tag_id)
        return Answer(200, {"data": self._conversation(conversation_id)})

    def add_note(self, request: Request, conversation_id: str) -> Answer:
        conversation = self.conversations.get(conversation_id)
        if conversation is None:
            return _not_found("conversation")
        conversation["noteCount"] += 1
        note = {"type": "note", "id": self._new_id(), "attributes": {"body": request.body.get("body"), "createdAt": zulu(self.clock.now())}}
        self.notes.append(note)
        return Answer(201, {"data": note})

    # --- the org's tags -------------------------------------------------------------------------

    def _tag_id(self, name: str) -> str:
        """The id of the tag named ``name``, made when the org has none."""
        for tag_id, known in self.tags.items():
            if known == name:
                return tag_id
        tag_id = self._new_id()
        self.tags[tag_id] = name
        return tag_id

    def _tag(self, tag_id: str) -> dict[str, Any]:
        return {"type": "tag", "id": tag_id, "attributes": {"name": self.tags[tag_id], "deleted": False}}

    def list_tags(self, request: Request) -> Answer:
        page = int(request.query.get("page", "1"))
        size = int(request.query.get("pageSize", str(TAGS_PAGE_SIZE)))
        ids = list(self.tags)[(page - 1) * size:page * size]
        more = page * size < len(self.tags)
        following = f"/v1/tags?page={page + 1}&pageSize={size}" if more else None
        return Answer(200, {"data": [self._tag(tag_id) for tag_id in ids],
                            "links": {"self": request.path, "next": following}, "meta": {"pageSize": size, "page": page}})

    def create_tag(self, request: Request) -> Answer:
        tag_id = self._new_id()
        self.tags[tag_id] = request.body["name"]
        return Answer(201, {"data": self._tag(tag_id)})
