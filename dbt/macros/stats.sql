-- Small-sample statistics shared by the survey marts (METRICS.md "Small samples").

{#- Wilson score interval for successes / n at z (var wilson_z, 1.96 = 95%); null when n = 0. -#}
{% macro wilson_bound(successes, n, sign) -%}
    case when {{ n }} > 0 then
        (
            cast({{ successes }} as {{ dbt.type_float() }}) / {{ n }}
            + {{ var('wilson_z') }} * {{ var('wilson_z') }} / (2.0 * {{ n }})
            {{ sign }} {{ var('wilson_z') }} * sqrt(
                cast({{ successes }} as {{ dbt.type_float() }}) / {{ n }}
                * (1 - cast({{ successes }} as {{ dbt.type_float() }}) / {{ n }}) / {{ n }}
                + {{ var('wilson_z') }} * {{ var('wilson_z') }} / (4.0 * {{ n }} * {{ n }})
            )
        ) / (1 + {{ var('wilson_z') }} * {{ var('wilson_z') }} / {{ n }})
    end
{%- endmacro %}

{% macro safe_ratio(num, den) -%}
    cast({{ num }} as {{ dbt.type_float() }}) / nullif({{ den }}, 0)
{%- endmacro %}
