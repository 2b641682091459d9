-- Events the projector could not apply are listed (GET /api/v1/projection-errors) and counted
-- (/healthcheck, /metrics) without scanning the whole log.
CREATE INDEX lineage_events_projection_errors ON lineage_events (id) WHERE projection_error IS NOT NULL;
