"""Stand-ins for dbt's cross-database macros (dbt.type_string(), dbt.dateadd(), ...) so sqlfluff's
plain Jinja templater can render the models for linting. They render DuckDB-flavoured SQL of the
same shape; dbt itself never uses this module."""


def type_string():
    return "varchar"


def type_float():
    return "double"


def type_int():
    return "integer"


def type_bigint():
    return "bigint"


def type_boolean():
    return "boolean"


def type_timestamp():
    return "timestamp"


def dateadd(datepart, interval, from_date_or_timestamp):
    return f"date_add({from_date_or_timestamp}, interval ({interval}) {datepart})"


def datediff(first_date, second_date, datepart):
    return f"date_diff('{datepart}', {first_date}, {second_date})"


def date_trunc(datepart, date):
    return f"date_trunc('{datepart}', {date})"


def concat(fields):
    return " || ".join(fields)


def safe_cast(field, type_):
    return f"try_cast({field} as {type_})"
