"""The lineage UI server: the built app, a same-origin proxy to Marquez, and the last drift report."""
