"""A host service feeding session events to crmhub through its Python API.

It uses the built-in ``local`` CRM in a temporary folder, so it runs anywhere and leaves nothing
behind: ``python examples/host_example.py``. ``tests/test_docs.py`` runs it, and the README shows it.
"""

import json
import tempfile
from pathlib import Path

import crmhub


def event(event_id, event_type, at, session, **more):
    """One event in the host's wire format (README, "Events")."""
    return {"id": event_id, "type": event_type, "at": at, "session": session, **more}


CALL = {"id": "call-1001", "channel": "call"}
CHAT = {"id": "chat-2001", "channel": "chat"}
ADA = {"id": "u-7", "phone": "+14155550100", "email": "ada@example.com", "name": "Ada L."}
REFUNDS = {"id": "q-42", "path": ["Support", "Billing", "Refunds"]}

EVENTS = [
    # A call is assigned to an agent: a new record.
    event("evt-1", "session.assigned", "2026-11-25T09:30:05Z", {
        **CALL, "session_type": "Voice Inbound (IVR)", "leaf_queue": REFUNDS, "end_user": ADA,
        "dialed_number": "+18005550199", "started_at": "2026-11-25T09:29:40Z",
    }),
    # The same call connects: it already has its record.
    event("evt-2", "session.connected", "2026-11-25T09:30:20Z", CALL),
    # The host redelivers the first event: its effect is not repeated.
    event("evt-1", "session.assigned", "2026-11-25T09:30:05Z", CALL),
    # A chat of the same end user in the same leaf queue waits for her second message (rule 4) ...
    event("evt-3", "session.assigned", "2026-11-25T11:02:00Z", {
        **CHAT, "session_type": "Messaging Inbound (Web Chat)", "leaf_queue": REFUNDS, "end_user": {"id": "u-7"},
        "started_at": "2026-11-25T11:01:30Z",
    }),
    event("evt-4", "session.message", "2026-11-25T11:02:10Z", CHAT, message={"from": "end_user", "text": "Hello again"}),
    # ... and is then added to her open record (rule 1).
    event("evt-5", "session.message", "2026-11-25T11:02:30Z", CHAT, message={"from": "end_user", "text": "Same refund"}),
    # A malformed event: rejected, nothing written.
    event("evt-6", "session.paused", "2026-11-25T11:03:00Z", CHAT),
]


def main():
    with tempfile.TemporaryDirectory() as folder:
        settings = {  # the same keys as a settings file; relative paths would be read from the current folder
            "crm": {"plugin": "local", "local": {"path": str(Path(folder, "records.db"))}},
            "record_creation": {
                "append_to_open_record": True,
                "delay_chat_until_consumer_messages": 2,
                "title": "{CALL_TYPE} {CALL_ID}",
                "add_session_type_tag": True,
            },
            "store": {"url": "sqlite:///" + str(Path(folder, "state.db"))},
        }
        with crmhub.Dispatcher.from_config(settings) as dispatcher:
            for sent in EVENTS:
                try:
                    outcome = dispatcher.handle(sent)
                except crmhub.InvalidEvent as error:
                    print(f"{sent['id']}: rejected, field {error.field}: {error.problem}")
                    continue
                print(json.dumps(outcome.to_dict()))

            status = dispatcher.session("chat-2001")  # e.g. to pop the record on the agent's screen
            print("chat-2001 now:", json.dumps(status.to_dict()))
            print("never seen:", dispatcher.session("call-9999"))


if __name__ == "__main__":
    main()
