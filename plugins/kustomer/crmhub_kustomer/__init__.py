"""crmhub plugin for Kustomer: each session's record is a Kustomer conversation.

The hooks live in :mod:`crmhub_kustomer.plugin` (the ``kustomer`` entry point of the ``crmhub``
group); see the distribution's README for settings, marks and the API calls per scenario.
"""

__version__ = "0.1.0"
