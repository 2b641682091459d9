{#
    Use a model's custom schema exactly: `+schema: marts` builds in `marts`, not in
    `<target schema>_marts` (dbt's default). Nodes without a custom schema go to the
    target's schema (`main` on DuckDB, `public` on Postgres).
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
