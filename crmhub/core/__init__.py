"""crmhub's domain: models, settings, rule engine, hook specs, dispatcher and state store."""
