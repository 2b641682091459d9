{#
    One row per batch, merged from the per-day partials, so batches that span days are
    right after every daily run. site and equipment_id are properties of the batch: min()
    only picks them deterministically. duration_hours is computed from whole microseconds.
#}
with daily as (

    select * from {{ ref('int_bioreactor_batch_tag_daily') }}

)

select
    batch_id,
    min(site) as site,
    min(equipment_id) as equipment_id,
    min(first_ts) as batch_start,
    max(last_ts) as batch_end,
    cast(epoch_us(max(last_ts)) - epoch_us(min(first_ts)) as double) / 3600e6 as duration_hours,
    cast(sum(reading_count) as bigint) as reading_count
from daily
group by batch_id
