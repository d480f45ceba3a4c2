"""Fake CRMs for the benchmarks, one module per shipped CRM plugin.

Each module has ``NAME`` (the plugin's key), ``ENVIRON`` (the secrets its settings read with
``env:``), ``settings(base_url)`` (its ``[crm.NAME]`` section pointing at a fake) and ``App``, the
fake API, which also offers what happens outside crmhub: ``add_person`` (an end user the CRM
already knows) and ``close`` (an agent closes a record).
"""

from __future__ import annotations

from types import ModuleType

from bench.crms import freshdesk, kustomer, salesforce, zendesk

CRMS: dict[str, ModuleType] = {module.NAME: module for module in (zendesk, freshdesk, salesforce, kustomer)}
