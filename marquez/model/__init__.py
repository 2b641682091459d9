"""OpenLineage events, Marquez's version ids, and the JSON shapes of the API."""
