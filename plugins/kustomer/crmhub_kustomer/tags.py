"""Kustomer tag ids for crmhub's tag names: listed once per process, created when the org lacks one.

``GET /v1/tags`` pages JSON:API tag resources (``data[].id``, ``data[].attributes.name``,
``attributes.deleted``) and says in ``links.next`` whether another page follows; ``POST /v1/tags``
with ``{"name": ...}`` creates one and answers it. Both happen once per name per process (see
:mod:`crmhub_kustomer.tag_ids`), so that a session's tags cost no request of their own.

A name without an id is not an error: the caller adds it by name with
``POST /v1/conversations/{id}/tags``, which finds or creates the tag itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from crmhub.core.errors import AuthenticationError, PermanentCrmError, TransientCrmError
from crmhub.core.tags import unique
from crmhub_kustomer.client import KustomerClient
from crmhub_kustomer.records import resource, resources

log = logging.getLogger("crmhub.kustomer")
PAGE_SIZE = 100
MAX_PAGES = 50


def tag_ids_for(client: KustomerClient, names: Sequence[str]) -> dict[str, str]:
    """The org's tag id of each of ``names`` that has one or could be given one.

    Transient failures are raised (nothing was written yet; the operation is retried). A refusal
    is logged and leaves the names concerned to be added by name.
    """
    memory = client.tag_ids
    wanted = unique(names)
    if memory.to_learn(wanted) and not memory.listed:
        try:
            memory.store_listing(_list_tags(client))
        except AuthenticationError:
            raise
        except PermanentCrmError as refused:
            memory.make_unavailable()
            log.warning("Kustomer tags cannot be listed, so this process adds tags by name: %s", refused)
    for name in memory.to_learn(wanted):
        _create_tag(client, name)
    return memory.known(wanted)


def _list_tags(client: KustomerClient) -> dict[str, str]:
    """Name -> id of every tag the org has (deleted ones left out), page by page."""
    found: dict[str, str] = {}
    for page in range(1, MAX_PAGES + 1):
        body = client.get("/v1/tags", "list the org's tags", {"page": str(page), "pageSize": str(PAGE_SIZE)})
        for tag in resources(body, "tag"):
            attributes = tag.get("attributes")
            if not isinstance(attributes, Mapping) or attributes.get("deleted") is True:
                continue
            name, tag_id = attributes.get("name"), tag.get("id")
            if isinstance(name, str) and isinstance(tag_id, str) and tag_id:
                found.setdefault(name, tag_id)
        links = body.get("links")
        if not (isinstance(links, Mapping) and links.get("next")):
            return found
    log.warning(
        "the org has more than %d pages of tags; only the first %d were read (tags not among them "
        "are created, or added by name if Kustomer refuses)", MAX_PAGES, MAX_PAGES,
    )
    return found


def _create_tag(client: KustomerClient, name: str) -> None:
    """Create the tag the org lacks and remember its id; a refusal leaves it to be added by name."""
    memory = client.tag_ids
    try:
        created = client.post("/v1/tags", {"name": name}, f"create the tag {name!r}", safe_to_repeat=True)
        memory.remember(name, str(resource(created, "tag")["id"]))
    except AuthenticationError:
        raise
    except PermanentCrmError as refused:
        memory.refuse(name)
        log.warning("Kustomer would not create the tag %r, so it is added by name: %s", name, refused)
    except TransientCrmError:
        memory.list_again()  # a lost answer may have created it: look before creating a second one
        raise
