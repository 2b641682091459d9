{#
    One row per batch and tag: summary statistics and time in specification.

    Readings of a (batch_id, tag) are ordered by (ts, value) (value breaks ts ties
    deterministically). Reading i, except the last, covers [ts_i, ts_{i+1}):
    - time_in_spec_share = (length of the intervals whose reading is within
      [spec_low, spec_high]) / (length of all intervals); NULL when that total is 0
      (a single reading, or all readings at one ts);
    - excursion_count = number of maximal runs of consecutive out-of-spec readings,
      i.e. readings out of spec whose predecessor is in spec or which come first.
    One window (lead + lag over the same partition and order), no self-joins; interval
    lengths are summed as exact integer microseconds.
#}
with readings as (

    select
        stg.batch_id,
        stg.tag,
        stg.ts,
        stg.value,
        specs.unit,
        specs.spec_low,
        specs.spec_high,
        stg.value between specs.spec_low and specs.spec_high as in_spec
    from {{ ref('stg_bioreactor') }} as stg
    inner join {{ ref('tag_specs') }} as specs
        on stg.tag = specs.tag

),

sequenced as (

    select
        *,
        epoch_us(lead(ts) over reading_order) - epoch_us(ts) as covered_us,
        lag(in_spec) over reading_order as previous_in_spec
    from readings
    window reading_order as (partition by batch_id, tag order by ts, value)

)

select
    batch_id,
    tag,
    min(unit) as unit,
    avg(value) as mean_value,
    stddev_samp(value) as sd_value,
    min(value) as min_value,
    max(value) as max_value,
    count(*) as reading_count,
    min(spec_low) as spec_low,
    min(spec_high) as spec_high,
    cast(coalesce(sum(covered_us) filter (where in_spec), 0) as double)
        / nullif(cast(sum(covered_us) as double), 0) as time_in_spec_share,
    count(*) filter (where not in_spec and coalesce(previous_in_spec, true)) as excursion_count
from sequenced
group by batch_id, tag
