{#
    One row per batch and tag: the batch's identity and timing next to the tag's statistics.
    A left join, so a fact row without its batch would show up (and fail not_null on site)
    instead of silently disappearing.
#}
with batches as (

    select * from {{ source('curated', 'dim_batch') }}

),

batch_tag_stats as (

    select * from {{ source('curated', 'fact_bioreactor_batch_stats') }}

)

select
    batch_tag_stats.batch_id,
    batch_tag_stats.tag,
    batches.site,
    batches.equipment_id,
    batches.batch_start,
    batches.batch_end,
    batches.duration_hours,
    batch_tag_stats.unit,
    batch_tag_stats.mean_value,
    batch_tag_stats.sd_value,
    batch_tag_stats.min_value,
    batch_tag_stats.max_value,
    batch_tag_stats.reading_count,
    batch_tag_stats.time_in_spec_share,
    batch_tag_stats.excursion_count
from batch_tag_stats
left join batches
    on batch_tag_stats.batch_id = batches.batch_id
