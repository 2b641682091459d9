-- Events are acknowledged once stored; a projector then derives the model from them, in order.
-- projected_at marks the events already applied (NULL: waiting), projection_error why one failed.
ALTER TABLE lineage_events ADD COLUMN projected_at TIMESTAMPTZ;
ALTER TABLE lineage_events ADD COLUMN projection_error TEXT;
-- Events stored before this migration were applied when they arrived.
UPDATE lineage_events SET projected_at = received_at;
CREATE INDEX lineage_events_pending ON lineage_events (id) WHERE projected_at IS NULL;
