"""crmhub's Freshdesk plugin: contact-center sessions become Freshdesk tickets (API v2).

Registered under the entry-point group ``crmhub`` as ``freshdesk``; the hooks are in
:mod:`crmhub_freshdesk.plugin`. See the distribution's README for settings and API calls.
"""
