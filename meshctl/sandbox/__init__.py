"""A local multi-account AWS on moto's server, with documented patches closing its gaps."""
