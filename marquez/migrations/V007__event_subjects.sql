-- The names an event can change the answer for (jobs, parent jobs, datasets, symlinks, runs): a
-- read of one job, dataset or run waits only for pending events naming it (read-your-writes
-- without waiting for every other producer's backlog). '*' may change anything: every event
-- stored before this migration reads as such (a constant default: no table rewrite).
ALTER TABLE lineage_events ADD COLUMN subjects TEXT[] NOT NULL DEFAULT '{*}';
-- What a waiting read looks up, among pending events only; written through (no pending list) so
-- a lookup never scans one.
CREATE INDEX lineage_events_pending_subjects ON lineage_events USING gin (subjects) WITH (fastupdate = off)
    WHERE projected_at IS NULL;
