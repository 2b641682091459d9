{#
    Cleaned readings: one row per distinct reading.
    - strings trimmed; tag mapped to its canonical spelling from the tag_specs seed
      (lower(trim(tag)) = lower(tag_specs.tag));
    - rows whose tag is not in the catalogue are DROPPED here (inner join): validation
      upstream quarantines bad files, not unknown tags;
    - rows with a NULL, NaN or infinite value, or a NULL/blank key (batch_id, site,
      equipment_id, ts), are dropped;
    - exact duplicates (identical after this normalisation) are removed.
    Incremental by partition window, like the intermediate models: a run deletes the window's
    readings and inserts them again, so the deduplication (the DISTINCT over every reading of
    the window, the costliest step of the pipeline) runs once per run, and the models and tests
    reading it scan a table instead of re-reading and re-deduplicating the Parquet files.
    Exact duplicates share their ts, so deduplicating window by window, and a long window
    slice by slice (window_slices(): a backfill's DISTINCT fits in memory), is exact.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_window('ts') }}",
) }}

{% for slice in window_slices() %}
{% if not loop.first %}
union all
{% endif %}
(
    with source as (

        select * from {{ source('raw', 'bioreactor_readings') }}
        where {{ slice_predicate('ts', slice) }}

    ),

    tag_catalogue as (

        select tag, lower(tag) as tag_key from {{ ref('tag_specs') }}

    ),

    normalised as (

        select
            trim(source.batch_id) as batch_id,
            trim(source.site) as site,
            trim(source.equipment_id) as equipment_id,
            cast(source.ts as timestamptz) as ts,
            tag_catalogue.tag as tag,
            cast(source.value as double) as value,
            trim(source.unit) as unit
        from source
        inner join tag_catalogue
            on lower(trim(source.tag)) = tag_catalogue.tag_key

    )

    select distinct
        batch_id,
        site,
        equipment_id,
        ts,
        tag,
        value,
        unit
    from normalised
    where value is not null
      and not isnan(value)
      and isfinite(value)
      and ts is not null
      and coalesce(batch_id, '') <> ''
      and coalesce(site, '') <> ''
      and coalesce(equipment_id, '') <> ''
)
{% endfor %}
