{#
    The partition window a run covers: [window_start, window_end), ISO timestamps.
    Dagster passes it in the environment (LAKEHOUSE_WINDOW_START / LAKEHOUSE_WINDOW_END),
    not as --vars: changing vars makes dbt re-parse the whole project on every run, while a
    changed env var only re-parses the few models that use it. By hand, either works:
      dbt build --vars '{"window_start": "2025-01-02T00:00:00+00:00", "window_end": "2025-01-03T00:00:00+00:00"}'
    Without a window (a plain `dbt build`), the window is everything.
#}

{% macro window_start() -%}
    {{ return(var('window_start', env_var('LAKEHOUSE_WINDOW_START', ''))) }}
{%- endmacro %}

{% macro window_end() -%}
    {{ return(var('window_end', env_var('LAKEHOUSE_WINDOW_END', ''))) }}
{%- endmacro %}

{% macro has_window() -%}
    {{ return(window_start() != '' and window_end() != '') }}
{%- endmacro %}

{% macro window_predicate(column) -%}
    {{ slice_predicate(column, (window_start(), window_end()) if has_window() else none) }}
{%- endmacro %}

{# pre_hook of a window-incremental model: replace exactly the window (idempotent reruns). #}
{% macro delete_window(column) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ window_predicate(column) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#
    The run's window cut into slices of at most LAKEHOUSE_WINDOW_SLICE_DAYS days (default 30;
    or --vars '{"window_slice_days": N}'): a list of (start, end) ISO timestamp pairs, or [none]
    (one slice: everything) without a window.

    The window-incremental models aggregate each slice on its own and UNION ALL the results.
    Their groups never straddle a UTC day (a day, a 5-minute bucket, the readings of one instant)
    and slices start at the window's start, a UTC midnight for the daily partitions, so this is
    exact. What it buys: a long backfill's hash tables and sorts fit in DuckDB's memory limit
    instead of spilling to disk (bench/results/pipeline_vs_floor.md: 50M readings over 428 days,
    int_bioreactor_downsample_5m 11.3 s -> 7.2 s, int_bioreactor_batch_tag_daily 16.9 s -> 13.6 s,
    peak memory 3 GB -> 1.5 GB). A daily run is one slice, as before.
#}
{% macro window_slices() -%}
    {%- if not has_window() -%}
        {{ return([none]) }}
    {%- endif -%}
    {%- set datetime = modules.datetime -%}
    {%- set start = datetime.datetime.fromisoformat(window_start()) -%}
    {%- set end = datetime.datetime.fromisoformat(window_end()) -%}
    {%- set days = var('window_slice_days', env_var('LAKEHOUSE_WINDOW_SLICE_DAYS', '30')) | int -%}
    {%- if days < 1 -%}
        {{ exceptions.raise_compiler_error("window_slice_days / LAKEHOUSE_WINDOW_SLICE_DAYS must be a whole number of days >= 1, got " ~ days) }}
    {%- endif -%}
    {%- set step = datetime.timedelta(days=days) -%}
    {%- set slices = [] -%}
    {%- for i in range(((end - start) / step) | round(0, 'ceil') | int) -%}
        {%- set slice_end = [start + step * (i + 1), end] | min -%}
        {%- do slices.append(((start + step * i).isoformat(), slice_end.isoformat())) -%}
    {%- endfor -%}
    {{ return(slices if slices else [(window_start(), window_end())]) }}
{%- endmacro %}

{# `column` within a (start, end) slice of the window (window_slices()), or anywhere for none. #}
{% macro slice_predicate(column, slice) -%}
    {%- if slice is none -%}
        true
    {%- else -%}
        {{ column }} >= cast('{{ slice[0] }}' as timestamptz)
        and {{ column }} < cast('{{ slice[1] }}' as timestamptz)
    {%- endif -%}
{%- endmacro %}
