"""The plugin contract: every hook crmhub calls, with its signature, meaning and errors.

These docstrings are the reference for plugin authors (``docs/hooks.md`` is generated from
them, and a test fails when a hook is left undocumented).

How plugins take part
---------------------
A **CRM plugin** declares its key with :func:`crm_name` and implements the CRM hooks
(:func:`crm_settings_schema`, :func:`crm_client`, :func:`find_open_record`, :func:`create_record`,
:func:`append_session`, :func:`reopen`, :func:`find_record_for_session`, :func:`format_tags`).
Several CRM plugins may be installed side by side: crmhub calls the CRM hooks of the one named by
``[crm] plugin`` in the settings only; the others are left out of those calls entirely, so a CRM
plugin never has to check which CRM is selected.

Any other plugin (one that declares no ``crm_name``) takes part in every call: it may contribute
tags with :func:`session_tags`, or wrap a CRM hook (``hookwrapper=True``) to observe or adjust it.

Errors
------
CRM hooks raise the errors of :mod:`crmhub.core.errors` and nothing else for CRM failures:
:class:`~crmhub.core.errors.TransientCrmError` (try later; ``retry_after`` in seconds if the CRM
said), :class:`~crmhub.core.errors.UnknownOutcomeError` (the request may have taken effect),
:class:`~crmhub.core.errors.AuthenticationError` and
:class:`~crmhub.core.errors.PermanentCrmError` (refused for good). Any other exception is treated
as a permanent failure of that event and reported with the plugin's name.

Evolution
---------
Hooks only gain arguments, never lose or reorder them (pluggy passes arguments by name, so an
implementation that takes fewer keeps working); a hook to be removed is first deprecated with a
warning for one minor release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:  # imported for the annotations only; keeps plugin start-up light
    import marshmallow

    from crmhub.core.models import CheckResult, CrmRecord, NewRecord, RecordQuery, Session, SessionNote
    from crmhub.core.settings import RecordCreationSettings

PROJECT_NAME = "crmhub"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def crm_name() -> str:
    """Declare that this plugin is a CRM plugin, and under which key.

    The key is what integrators write in ``[crm] plugin = "..."`` and the name of the plugin's own
    settings section (``[crm.KEY]``); by convention it is also the entry-point name.

    :return: the CRM key, lower case (``"zendesk"``).
    """


@hookspec(firstresult=True)
def crm_settings_schema() -> marshmallow.Schema:
    """Return the marshmallow schema that validates this CRM's ``[crm.KEY]`` settings section.

    ``env:NAME`` values have already been replaced by the environment variable's value when the
    schema sees them. Every field should have a documented default where one makes sense (HTTP
    timeouts, retry caps) and ``base_url`` should be accepted to override the vendor URL.

    Called on the selected CRM plugin only. Stops at the first non-None result.

    :return: a schema instance; its ``load`` result is what :func:`crm_client` receives.
    """


@hookspec(firstresult=True)
def crm_client(settings: Mapping[str, Any], config_dir: Path) -> Any:
    """Build the object the other CRM hooks receive as ``client``.

    Called once per dispatcher, with the section already validated by :func:`crm_settings_schema`.
    Make no network call here: credentials are checked lazily, on first use, so that a dispatcher
    can be built while the CRM is down.

    Called on the selected CRM plugin only. Stops at the first non-None result.

    :param settings: the loaded ``[crm.KEY]`` section.
    :param config_dir: the folder of the settings file, for resolving relative paths (key files).
    :return: the plugin's client (any object).
    """


@hookspec(firstresult=True)
def find_open_record(client: Any, query: RecordQuery) -> CrmRecord | None:
    """Find the record a new session of this end user in this leaf queue should join.

    Candidates are the records this plugin created for ``query.end_user`` from
    ``query.leaf_queue`` (marked as the plugin documents; records people made by hand are not
    candidates). Return the newest candidate that is open; if none is open and
    ``query.closed_since`` is set, the candidate closed most recently whose close time is at or
    after ``query.closed_since``; else None. :func:`crmhub.core.rules.pick_record` implements that
    choice over a list of candidates.

    ``query.hint`` is the id of the newest record crmhub remembers for this end user and queue; a
    plugin may look at it first, but must still ask the CRM for its current status.

    Called on the selected CRM plugin only. Stops at the first non-None result.

    :param client: the object built by :func:`crm_client`.
    :param query: who, which leaf queue, the event time and the window.
    :return: the record with its current status and close time, or None.
    :raises TransientCrmError: the CRM could not answer now.
    """


@hookspec(firstresult=True)
def create_record(client: Any, record: NewRecord) -> CrmRecord:
    """Create the record for a session.

    Set the title, description, tags, requester/customer (found or created from
    ``record.session.end_user``; under the plugin's configured requester when anonymous and the CRM
    needs one) and the leaf-queue mark that :func:`find_open_record` searches by. Write
    ``record.session_id`` on the record (custom field, external id or tag) so that
    :func:`find_record_for_session` can find it, and pass ``record.idempotency_key`` to the CRM
    where it deduplicates on one.

    Called on the selected CRM plugin only. Stops at the first non-None result.

    :param client: the object built by :func:`crm_client`.
    :param record: what to create.
    :return: the created record (status open).
    :raises TransientCrmError: nothing was created; try later.
    :raises UnknownOutcomeError: the request may have created the record.
    :raises PermanentCrmError: the CRM refused it for good.
    """


@hookspec(firstresult=True)
def append_session(client: Any, record: CrmRecord, note: SessionNote) -> CrmRecord:
    """Add a session to an open record: a private note/comment and the session's tags.

    Never change the record's title; add tags without removing the ones already there.

    Called on the selected CRM plugin only. Stops at the first non-None result.

    :param client: the object built by :func:`crm_client`.
    :param record: the open record returned by :func:`find_open_record`.
    :param note: the note text, tags to add and the event time.
    :return: the record as it is now.
    :raises TransientCrmError: nothing was changed; try later.
    :raises PermanentCrmError: the record cannot take the note (deleted, locked).
    """


@hookspec(firstresult=True)
def reopen(client: Any, record: CrmRecord, note: SessionNote) -> CrmRecord:
    """Set a closed record back to the CRM's default open status and add the session to it.

    Do both in one request where the CRM allows. Where the CRM cannot reopen the record (a closed
    Zendesk ticket), create a linked follow-up record instead and return it with ``follow_up_of``
    set to the old record's id; the outcome is then ``created``.

    Called on the selected CRM plugin only. Stops at the first non-None result.

    :param client: the object built by :func:`crm_client`.
    :param record: the closed record returned by :func:`find_open_record`.
    :param note: the note text, tags to add and the event time.
    :return: the record now open (or the follow-up record).
    :raises TransientCrmError: nothing was changed; try later.
    :raises PermanentCrmError: the CRM refused it for good.
    """


@hookspec(firstresult=True)
def find_record_for_session(client: Any, session_id: str) -> CrmRecord | None:
    """Find the record this plugin created for a session, by the session id written on it.

    Used to reconcile after :class:`UnknownOutcomeError`: if the record exists, crmhub adopts it
    instead of creating a second one. Return None only when the CRM says no such record exists.

    Called on the selected CRM plugin only. Stops at the first non-None result.

    :param client: the object built by :func:`crm_client`.
    :param session_id: crmhub's session id.
    :return: the record, or None.
    :raises TransientCrmError: the CRM could not answer now.
    """


@hookspec(firstresult=True)
def check_crm(client: Any, settings: Mapping[str, Any]) -> list[CheckResult]:
    """Check the live CRM with read-only calls, for ``crmhub check``.

    Check what an integrator can get wrong: the base URL answers, the credentials are accepted,
    the API user may read and write the objects crmhub uses, and the statuses, fields, groups or
    queues the settings refer to exist. Make no write. Report each check as a
    :class:`~crmhub.core.models.CheckResult`; a check that fails is a result with ``ok=False``
    and the reason, not an exception, and a check that cannot run because an earlier one failed
    is left out.

    Called on the selected CRM plugin only. Stops at the first non-None result.

    :param client: the object built by :func:`crm_client`.
    :param settings: the loaded ``[crm.KEY]`` section (to know which fields and statuses to check).
    :return: the results, in the order the checks ran.
    """


@hookspec(firstresult=True)
def format_tags(tags: Sequence[str]) -> list[str]:
    """Turn raw tag names (a session-type display name, the platform tag) into the CRM's form.

    Zendesk wants ``voice_inbound_ivr``, Kustomer ``Voice Inbound - IVR``, Freshdesk the name
    unchanged; :mod:`crmhub.core.tags` has these rules. A CRM without tags returns ``[]``. Session
    types with an explicit tag for this CRM in the catalogue never reach this hook.

    Called on the selected CRM plugin only (the built-in fallback returns the tags unchanged).
    Stops at the first non-None result.

    :param tags: raw names, in order, without duplicates.
    :return: the CRM's tags, in the same order.
    """


@hookspec
def session_tags(session: Session, settings: RecordCreationSettings) -> Sequence[str]:
    """Contribute raw tag names for a session; every plugin may take part.

    The results of all plugins are joined in plugin order, duplicates removed, and passed through
    the CRM's :func:`format_tags`. crmhub's built-in plugin contributes the session-type tag and the
    platform tag as ``add_session_type_tag`` and ``add_platform_tag`` ask.

    :param session: the session as known at the time of the record operation.
    :param settings: the ``[record_creation]`` settings.
    :return: raw tag names (possibly empty).
    """
