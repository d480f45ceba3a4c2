"""crmhub's Salesforce plugin: contact-center sessions become Salesforce Cases (REST API).

Entry point ``salesforce`` in the ``crmhub`` group; the hooks live in :mod:`crmhub_salesforce.plugin`,
the settings in :mod:`crmhub_salesforce.settings`, the REST client in :mod:`crmhub_salesforce.client`.
"""

__version__ = "0.1.0"
