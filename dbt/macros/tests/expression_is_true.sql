{# Every row satisfies the SQL boolean `expression` (model-level test). Failing rows are returned. #}
{% test expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not coalesce(({{ expression }}), false)
{% endtest %}
