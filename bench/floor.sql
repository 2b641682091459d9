-- The floor for bench/pipeline_vs_floor.py: the same transformations as the dbt models,
-- hand-written as one DuckDB script with no orchestration, no tests, no lineage.
-- {files} is replaced by the list of raw Parquet files.
set TimeZone = 'UTC';

create or replace temp table tag_specs as
select * from (values
    ('pH', 'pH', 6.8, 7.2), ('DO', '%', 30.0, 100.0), ('Temp', 'degC', 36.5, 37.5),
    ('Agitation', 'rpm', 100.0, 1000.0), ('Glucose', 'g/L', 0.5, 10.0), ('OD600', 'AU', 0.0, 200.0),
    ('AirFlow', 'L/min', 0.1, 10.0), ('Pressure', 'bar', 0.0, 1.0)
) as t(tag, unit, spec_low, spec_high);

create or replace temp view stg as
select distinct
    trim(r.batch_id) as batch_id, trim(r.site) as site, trim(r.equipment_id) as equipment_id,
    cast(r.ts as timestamptz) as ts, s.tag, cast(r.value as double) as value, trim(r.unit) as unit
from read_parquet({files}) r
join tag_specs s on lower(trim(r.tag)) = lower(s.tag)
where r.value is not null and not isnan(r.value) and isfinite(r.value);

create schema if not exists floor;

create or replace table floor.downsample_5m as
select batch_id, any_value(site) as site, equipment_id, tag, time_bucket(interval '5 minutes', ts) as bucket_start,
       avg(value) as avg_value, min(value) as min_value, max(value) as max_value,
       stddev_samp(value) as stddev_value, count(*) as reading_count
from stg group by batch_id, equipment_id, tag, bucket_start;

create or replace table floor.dim_batch as
select batch_id, any_value(site) as site, any_value(equipment_id) as equipment_id,
       min(ts) as batch_start, max(ts) as batch_end,
       epoch(max(ts) - min(ts)) / 3600.0 as duration_hours, count(*) as reading_count
from stg group by batch_id;

create or replace table floor.fact_bioreactor_batch_stats as
with ordered as (
    select r.batch_id, r.tag, r.value, s.unit, s.spec_low, s.spec_high,
           r.value between s.spec_low and s.spec_high as in_spec,
           epoch(lead(r.ts) over w - r.ts) as dt_s,
           lag(r.value between s.spec_low and s.spec_high) over w as prev_in_spec
    from stg r join tag_specs s using (tag)
    window w as (partition by r.batch_id, r.tag order by r.ts, r.value)
)
select batch_id, tag, any_value(unit) as unit, avg(value) as mean_value, stddev_samp(value) as sd_value,
       min(value) as min_value, max(value) as max_value, count(*) as reading_count,
       any_value(spec_low) as spec_low, any_value(spec_high) as spec_high,
       coalesce(sum(dt_s) filter (where in_spec), 0) / nullif(sum(dt_s), 0) as time_in_spec_share,
       count(*) filter (where not in_spec and coalesce(prev_in_spec, true)) as excursion_count
from ordered group by batch_id, tag;
