-- Other names of a dataset, from its `symlinks` facet (Marquez's dataset_symlinks rows with
-- is_primary false): each is listed, read and searched as a dataset of its own, sharing the
-- dataset's row (datasets_view). A name that is a dataset of its own is never an alias.
CREATE TABLE dataset_symlinks (
    namespace_name TEXT NOT NULL,
    name           TEXT NOT NULL,
    dataset_uuid   UUID NOT NULL REFERENCES datasets (uuid),
    type           TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (namespace_name, name)
);
CREATE INDEX dataset_symlinks_dataset ON dataset_symlinks (dataset_uuid);
