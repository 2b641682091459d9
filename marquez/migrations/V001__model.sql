-- The Marquez model derived from OpenLineage events, plus the events themselves.
-- Names follow Marquez's own tables so the API code reads like its documentation.

CREATE TABLE lineage_events (
    id            BIGSERIAL PRIMARY KEY,
    -- sha256 of the canonical event JSON: the same event posted twice is stored once.
    event_hash    TEXT NOT NULL UNIQUE,
    event_type    TEXT,
    event_time    TIMESTAMPTZ NOT NULL,
    run_uuid      UUID,
    job_namespace TEXT NOT NULL,
    job_name      TEXT NOT NULL,
    producer      TEXT NOT NULL,
    schema_url    TEXT,
    kind          TEXT NOT NULL,           -- RunEvent | DatasetEvent | JobEvent
    event         JSONB NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX lineage_events_time ON lineage_events (event_time);
CREATE INDEX lineage_events_run ON lineage_events (run_uuid);

CREATE TABLE namespaces (
    uuid        UUID PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    owner_name  TEXT NOT NULL DEFAULT 'anonymous',
    description TEXT,
    is_hidden   BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE sources (
    uuid           UUID PRIMARY KEY,
    type           TEXT NOT NULL,
    name           TEXT NOT NULL UNIQUE,
    connection_url TEXT NOT NULL DEFAULT '',
    description    TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE datasets (
    uuid                 UUID PRIMARY KEY,
    type                 TEXT NOT NULL DEFAULT 'DB_TABLE',
    namespace_name       TEXT NOT NULL,
    name                 TEXT NOT NULL,
    physical_name        TEXT NOT NULL,
    source_name          TEXT NOT NULL,
    description          TEXT,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    last_modified_at     TIMESTAMPTZ,
    last_lifecycle_state TEXT NOT NULL DEFAULT '',
    current_version_uuid UUID,
    is_hidden            BOOLEAN NOT NULL DEFAULT FALSE,
    -- merged facets of the dataset (latest value per facet name)
    facets               JSONB NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (namespace_name, name)
);
CREATE INDEX datasets_name_trgm ON datasets (lower(name));

CREATE TABLE dataset_fields (
    uuid         UUID PRIMARY KEY,
    dataset_uuid UUID NOT NULL REFERENCES datasets (uuid),
    name         TEXT NOT NULL,
    type         TEXT,
    description  TEXT,
    position     INT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (dataset_uuid, name)
);

CREATE TABLE dataset_versions (
    uuid            UUID PRIMARY KEY,
    dataset_uuid    UUID NOT NULL REFERENCES datasets (uuid),
    version         UUID NOT NULL UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL,
    run_uuid        UUID,                     -- the run that wrote it (outputs only)
    fields          JSONB NOT NULL DEFAULT '[]'::jsonb,
    lifecycle_state TEXT NOT NULL DEFAULT '',
    schema_version  UUID,
    facets          JSONB NOT NULL DEFAULT '{}'::jsonb,
    seq             BIGSERIAL
);
CREATE INDEX dataset_versions_dataset ON dataset_versions (dataset_uuid, seq DESC);
CREATE INDEX dataset_versions_run ON dataset_versions (run_uuid);

CREATE TABLE jobs (
    uuid                 UUID PRIMARY KEY,
    type                 TEXT NOT NULL DEFAULT 'BATCH',
    namespace_name       TEXT NOT NULL,
    name                 TEXT NOT NULL,        -- fully qualified: <parent>.<simple_name>
    simple_name          TEXT NOT NULL,
    parent_job_uuid      UUID REFERENCES jobs (uuid),
    parent_job_name      TEXT,
    description          TEXT,
    location             TEXT,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    current_version_uuid UUID,
    current_inputs       JSONB NOT NULL DEFAULT '[]'::jsonb,
    facets               JSONB NOT NULL DEFAULT '{}'::jsonb,
    is_hidden            BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (namespace_name, name)
);
CREATE INDEX jobs_name_lower ON jobs (lower(name));

CREATE TABLE job_versions (
    uuid            UUID PRIMARY KEY,
    job_uuid        UUID NOT NULL REFERENCES jobs (uuid),
    version         UUID NOT NULL UNIQUE,
    location        TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    latest_run_uuid UUID,
    inputs          JSONB NOT NULL DEFAULT '[]'::jsonb,   -- [{namespace, name}]
    outputs         JSONB NOT NULL DEFAULT '[]'::jsonb
);
CREATE INDEX job_versions_job ON job_versions (job_uuid, created_at DESC);

-- Dataset <-> job edges of each job's CURRENT version, for /lineage.
CREATE TABLE job_io (
    job_uuid     UUID NOT NULL REFERENCES jobs (uuid),
    dataset_uuid UUID NOT NULL REFERENCES datasets (uuid),
    is_input     BOOLEAN NOT NULL,
    PRIMARY KEY (job_uuid, dataset_uuid, is_input)
);
CREATE INDEX job_io_dataset ON job_io (dataset_uuid, is_input);

CREATE TABLE runs (
    uuid             UUID PRIMARY KEY,
    external_id      TEXT,
    job_uuid         UUID NOT NULL REFERENCES jobs (uuid),
    parent_run_uuid  UUID,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    nominal_start    TIMESTAMPTZ,
    nominal_end      TIMESTAMPTZ,
    state            TEXT,
    -- event time of the event that set `state`: state follows event time, not arrival.
    state_time       TIMESTAMPTZ,
    started_at       TIMESTAMPTZ,
    ended_at         TIMESTAMPTZ,
    job_version_uuid UUID,
    args             JSONB NOT NULL DEFAULT '{}'::jsonb,
    facets           JSONB NOT NULL DEFAULT '{}'::jsonb,
    job_facets       JSONB NOT NULL DEFAULT '{}'::jsonb,
    seq              BIGSERIAL
);
CREATE INDEX runs_job ON runs (job_uuid, created_at DESC);
CREATE INDEX runs_parent ON runs (parent_run_uuid);

CREATE TABLE run_io (
    run_uuid             UUID NOT NULL REFERENCES runs (uuid),
    dataset_version_uuid UUID NOT NULL REFERENCES dataset_versions (uuid),
    is_input             BOOLEAN NOT NULL,
    facets               JSONB NOT NULL DEFAULT '{}'::jsonb,   -- inputFacets / outputFacets
    seq                  BIGSERIAL,
    PRIMARY KEY (run_uuid, dataset_version_uuid, is_input)
);

CREATE TABLE tags (
    uuid        UUID PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE TABLE dataset_tags (
    dataset_uuid UUID NOT NULL REFERENCES datasets (uuid),
    tag_uuid     UUID NOT NULL REFERENCES tags (uuid),
    tagged_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (dataset_uuid, tag_uuid)
);
CREATE TABLE dataset_field_tags (
    field_uuid UUID NOT NULL REFERENCES dataset_fields (uuid),
    tag_uuid   UUID NOT NULL REFERENCES tags (uuid),
    tagged_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (field_uuid, tag_uuid)
);
CREATE TABLE job_tags (
    job_uuid  UUID NOT NULL REFERENCES jobs (uuid),
    tag_uuid  UUID NOT NULL REFERENCES tags (uuid),
    tagged_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (job_uuid, tag_uuid)
);

-- Fields each dataset version was seen with (Marquez's field mapping), in the order first seen.
ALTER TABLE dataset_versions ADD COLUMN mapped_fields JSONB NOT NULL DEFAULT '[]'::jsonb;
