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
    {%- if has_window() -%}
        {{ column }} >= cast('{{ window_start() }}' as timestamptz)
        and {{ column }} < cast('{{ window_end() }}' as timestamptz)
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{# pre_hook of a window-incremental model: replace exactly the window (idempotent reruns). #}
{% macro delete_window(column) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ window_predicate(column) }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
