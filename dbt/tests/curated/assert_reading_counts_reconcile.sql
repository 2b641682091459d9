-- Every layer counts the same cleaned readings: per batch, dim_batch.reading_count equals
-- the sum over tags in the fact table and the sum over 5-minute buckets in the downsample.
-- Reads only the (small) built tables, never the staging view.
with fact as (
    select batch_id, sum(reading_count) as readings
    from {{ ref('fact_bioreactor_batch_stats') }}
    group by batch_id
),

downsample as (
    select batch_id, sum(reading_count) as readings
    from {{ ref('int_bioreactor_downsample_5m') }}
    group by batch_id
)

select
    dim.batch_id,
    dim.reading_count,
    fact.readings as fact_readings,
    downsample.readings as downsample_readings
from {{ ref('dim_batch') }} as dim
full outer join fact on dim.batch_id = fact.batch_id
full outer join downsample on coalesce(dim.batch_id, fact.batch_id) = downsample.batch_id
where dim.reading_count is distinct from fact.readings
   or dim.reading_count is distinct from downsample.readings
