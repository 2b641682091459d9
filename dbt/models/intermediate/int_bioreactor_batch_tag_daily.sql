{#
    Per batch, tag and UTC day: mergeable partial statistics, so the curated batch tables
    can be rebuilt from a few rows per day instead of rescanning every reading of history.

    - reading_count, mean_value and m2 (sum of squared deviations from the day's mean)
      merge exactly into a batch mean and sample standard deviation (Chan et al.);
    - in_spec_us / covered_us: interval lengths inside the day (reading i covers
      [ts_i, ts_{i+1}) in (ts, value) order); the interval from a day's last reading to the
      next day's first is added when the curated model merges days;
    - excursion_starts counts out-of-spec readings whose predecessor within the day is in
      spec or absent; first_in_spec / last_in_spec let the merge drop the runs that merely
      continue across midnight.

    Incremental by partition window, like int_bioreactor_downsample_5m, and like it aggregated
    slice by slice over a long window (window_slices(): no day straddles two slices).
#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    pre_hook="{{ delete_window('day_start') }}",
) }}

{% for slice in window_slices() %}
{% if not loop.first %}
union all
{% endif %}
(
    with readings as (

        select
            stg.batch_id,
            stg.site,
            stg.equipment_id,
            stg.tag,
            stg.ts,
            stg.value,
            stg.value between specs.spec_low and specs.spec_high as in_spec,
            date_trunc('day', stg.ts) as day_start
        from {{ ref('stg_bioreactor') }} as stg
        inner join {{ ref('tag_specs') }} as specs
            on stg.tag = specs.tag
        where {{ slice_predicate('stg.ts', slice) }}

    ),

    sequenced as (

        select
            *,
            epoch_us(lead(ts) over day_order) - epoch_us(ts) as covered_us,
            lag(in_spec) over day_order as previous_in_spec,
            row_number() over day_order as position
        from readings
        window day_order as (partition by batch_id, tag, day_start order by ts, value)

    )

    select
        batch_id,
        tag,
        day_start,
        cast(day_start as date) as measurement_date,
        min(site) as site,
        min(equipment_id) as equipment_id,
        count(*) as reading_count,
        avg(value) as mean_value,
        var_pop(value) * count(*) as m2,
        min(value) as min_value,
        max(value) as max_value,
        min(ts) as first_ts,
        max(ts) as last_ts,
        bool_or(in_spec) filter (where position = 1) as first_in_spec,
        bool_or(in_spec) filter (where covered_us is null) as last_in_spec,
        coalesce(sum(covered_us) filter (where in_spec), 0) as in_spec_us,
        coalesce(sum(covered_us), 0) as covered_us,
        count(*) filter (where not in_spec and coalesce(previous_in_spec, true)) as excursion_starts
    from sequenced
    group by batch_id, tag, day_start
)
{% endfor %}
