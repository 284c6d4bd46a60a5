"""EV charging operator warehouse: load, check, build (dbt), publish — orchestrated by Dagster."""
