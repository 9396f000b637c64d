"""The Python counterpart of `replaced`: the same row, read from it."""


def model(dbt, session):
    return dbt.ref("replaced").to_arrow_table()
