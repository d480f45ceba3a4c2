"""crmhub's Zendesk Support plugin: sessions become tickets, through the Support API v2.

The hook implementations are in :mod:`crmhub_zendesk.plugin` (the entry point ``zendesk``).
"""

__version__ = "0.1.0"
