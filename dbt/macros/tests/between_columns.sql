{#
    lower_column <= column <= upper_column, allowing a relative floating-point tolerance
    (an average of identical doubles may differ from them in the last bit).
    Rows where any of the three is NULL pass.
#}
{% test between_columns(model, column_name, lower_column, upper_column, tolerance=1e-9) %}
    select {{ lower_column }}, {{ column_name }}, {{ upper_column }}
    from {{ model }}
    where {{ column_name }} < {{ lower_column }} - {{ tolerance }} * greatest(1.0, abs({{ lower_column }}))
       or {{ column_name }} > {{ upper_column }} + {{ tolerance }} * greatest(1.0, abs({{ upper_column }}))
{% endtest %}
