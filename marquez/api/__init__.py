"""HTTP routes, one module per resource: they parse the request and shape the answer; no SQL here."""
