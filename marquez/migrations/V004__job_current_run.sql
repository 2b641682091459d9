-- The run a job's /lineage node shows (Marquez's jobs.current_run_uuid): the run of the job's
-- latest processed event; for a child job, its parent's current run at the child's latest event.
ALTER TABLE jobs ADD COLUMN current_run_uuid UUID;

-- Jobs stored before: their (parent's) latest run, as the node showed until now.
UPDATE jobs j SET current_run_uuid = (
    SELECT r.uuid FROM runs r WHERE r.job_uuid = COALESCE(j.parent_job_uuid, j.uuid)
    ORDER BY r.created_at DESC, r.seq DESC LIMIT 1
);
