"""Performance benchmark of the warehouse against a hand-written DuckDB reference and a pandas
implementation of the same marts. Run `python -m bench --help`; see BENCHMARKS.md."""
