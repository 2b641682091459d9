-- The name an event wrote each dataset version under: the dataset's own, or one of its symlinks
-- (Marquez's dataset_versions.namespace_name / dataset_name). A dataset's versions page lists the
-- versions written under the name it is asked by; a run lists its versions by these names.
ALTER TABLE dataset_versions ADD COLUMN namespace_name TEXT, ADD COLUMN name TEXT;
UPDATE dataset_versions v SET namespace_name = d.namespace_name, name = d.name FROM datasets d WHERE d.uuid = v.dataset_uuid;
