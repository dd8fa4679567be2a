"""Stand-in for dbt's `adapter` in sqlfluff's Jinja templater: a dispatched macro renders as a
plain function call of the same name, which lints like the engine-specific SQL it stands for.
A macro that renders a keyword, not an expression, renders as its DuckDB keyword."""

KEYWORDS = {"not_materialized": "not materialized"}


def dispatch(macro_name, macro_namespace=None):
    def render(*args, **kwargs):
        if macro_name in KEYWORDS:
            return KEYWORDS[macro_name]
        return f"{macro_name}({', '.join(str(a) for a in args)})"

    return render
