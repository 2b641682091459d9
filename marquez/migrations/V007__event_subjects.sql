-- The names an event can change the answer for (jobs, parent jobs, datasets, symlinks, runs): a
-- read of one job, dataset or run waits only for pending events naming it (read-your-writes
-- without waiting for everybody else's backlog). NULL (events stored before this migration):
-- may change anything.
ALTER TABLE lineage_events ADD COLUMN subjects TEXT[];
