{#
    The partition window a run covers, passed by Dagster as
    --vars '{"window_start": "<iso timestamptz>", "window_end": "<iso timestamptz>"}'.
    Without the vars (a hand-run `dbt build`), the window is everything.
#}

{% macro has_window() -%}
    {{ return(var('window_start', none) is not none and var('window_end', none) is not none) }}
{%- endmacro %}

{% macro window_predicate(column) -%}
    {%- if has_window() -%}
        {{ column }} >= cast('{{ var("window_start") }}' as timestamptz)
        and {{ column }} < cast('{{ var("window_end") }}' as timestamptz)
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
