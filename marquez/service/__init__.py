"""What each request does, between the routes and the queries: transactions, batching, lineage walks."""
