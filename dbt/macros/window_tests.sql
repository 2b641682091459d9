{#
    Data tests limited to the run's window, so a daily run's tests cost what one day costs
    however long the history is. A test opts in with the config `where: "__window__"` (set in
    dbt_project.yml for the tests of the window-incremental models); the column comes from the
    tested model's `meta.window_column`. Only row-level tests and tests whose key includes the
    window column belong here: what they check about a row depends on that row (or on rows of
    the same window) only, and rows outside the window were checked by the run that wrote them.
    Without a window (a plain `dbt build`) such tests check every row.

    Overrides dbt's get_where_subquery (how generic tests apply `where`), as the dbt docs
    describe for `where` filters that need macros.
#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where == '__window__' -%}
        {%- if execute and has_window() -%}
            {%- set where = window_predicate(window_column_of(relation)) -%}
        {%- else -%}
            {%- set where = none -%}
        {%- endif -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{% macro window_column_of(relation) -%}
    {%- for node in graph.nodes.values()
        if node.resource_type in ('model', 'seed') and node.alias == relation.identifier and node.schema == relation.schema -%}
        {%- set column = node.config.meta.get('window_column') -%}
        {%- if not column -%}
            {{ exceptions.raise_compiler_error("a test with where: __window__ tests " ~ node.name ~ ", which has no meta.window_column") }}
        {%- endif -%}
        {%- do return(column) -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("a test with where: __window__ tests " ~ relation ~ ", which is not a model of this project") }}
{%- endmacro %}
