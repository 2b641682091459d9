{#
    Readings downsampled to clock-aligned 5-minute buckets (10:00, 10:05, ... UTC) per
    batch, equipment and tag. `site` is a property of the batch: min() only picks it
    deterministically.

    Incremental by partition window: a run deletes the window's buckets and inserts them
    again from the window's readings, so a rerun of a day gives the same rows and leaves
    other days alone. Day boundaries are bucket boundaries, so no bucket straddles windows,
    nor the window's slices (a long window is aggregated slice by slice: window_slices()).
#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_window('bucket_start') }}",
) }}

{% for slice in window_slices() %}
{% if not loop.first %}
union all
{% endif %}
(
    with readings as (

        select * from {{ ref('stg_bioreactor') }}
        where {{ slice_predicate('ts', slice) }}

    )

    select
        batch_id,
        min(site) as site,
        equipment_id,
        tag,
        time_bucket(interval '5 minutes', ts, 'UTC') as bucket_start,
        avg(value) as avg_value,
        min(value) as min_value,
        max(value) as max_value,
        stddev_samp(value) as stddev_value,
        count(*) as reading_count
    from readings
    group by batch_id, equipment_id, tag, bucket_start
)
{% endfor %}
