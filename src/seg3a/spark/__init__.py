"""The Spark target: the per-pair models of S1..S5 computed by Spark (dbt-spark, session
mode), everything single-node (S0, policies, Z(c), publishing, S6, S7) on DuckDB."""
