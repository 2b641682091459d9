{#
    One row per batch and tag: summary statistics and time in specification, merged
    from the per-day partials of int_bioreactor_batch_tag_daily.

    Readings of a (batch_id, tag) are ordered by (ts, value). Reading i, except the last,
    covers [ts_i, ts_{i+1}):
    - time_in_spec_share = (length of the intervals whose reading is within
      [spec_low, spec_high]) / (length of all intervals); NULL when that total is 0;
    - excursion_count = number of maximal runs of consecutive out-of-spec readings.
    Across days, the interval from one day's last reading to the next day's first is
    added here, and a run that continues over midnight is counted once.
    sd_value merges the days' (count, mean, m2) exactly: m2 = sum(m2_d + n_d (mean_d - mean)^2).
#}
with daily as (

    select
        daily.*,
        specs.unit,
        specs.spec_low,
        specs.spec_high,
        lag(daily.last_ts) over day_order as previous_last_ts,
        lag(daily.last_in_spec) over day_order as previous_last_in_spec
    from {{ ref('int_bioreactor_batch_tag_daily') }} as daily
    inner join {{ ref('tag_specs') }} as specs
        on daily.tag = specs.tag
    window day_order as (partition by daily.batch_id, daily.tag order by daily.day_start)

),

merged as (

    select
        *,
        sum(reading_count) over batch_tag as total_count,
        sum(reading_count * mean_value) over batch_tag / sum(reading_count) over batch_tag as batch_mean,
        coalesce(epoch_us(first_ts) - epoch_us(previous_last_ts), 0) as gap_us
    from daily
    window batch_tag as (partition by batch_id, tag)

)

select
    batch_id,
    tag,
    min(unit) as unit,
    min(batch_mean) as mean_value,
    case when min(total_count) > 1
        then sqrt(sum(m2 + reading_count * (mean_value - batch_mean) ^ 2) / (min(total_count) - 1))
    end as sd_value,
    min(min_value) as min_value,
    max(max_value) as max_value,
    cast(min(total_count) as bigint) as reading_count,
    min(spec_low) as spec_low,
    min(spec_high) as spec_high,
    cast(sum(in_spec_us) + coalesce(sum(gap_us) filter (where previous_last_in_spec), 0) as double)
        / nullif(cast(sum(covered_us) + sum(gap_us) as double), 0) as time_in_spec_share,
    cast(
        sum(excursion_starts)
        - count(*) filter (where not first_in_spec and previous_last_in_spec = false)
        as bigint
    ) as excursion_count
from merged
group by batch_id, tag
