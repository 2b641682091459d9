{#
    One row per batch. site and equipment_id are properties of the batch: min() only picks
    them deterministically. duration_hours is computed from whole microseconds.
#}
with readings as (

    select * from {{ ref('stg_bioreactor') }}

)

select
    batch_id,
    min(site) as site,
    min(equipment_id) as equipment_id,
    min(ts) as batch_start,
    max(ts) as batch_end,
    cast(epoch_us(max(ts)) - epoch_us(min(ts)) as double) / 3600e6 as duration_hours,
    count(*) as reading_count
from readings
group by batch_id
