"""`python -m bench.spark_dbt <dbt arguments>`: dbt with the `spark` target (session method) as a
measured subprocess. dbt-spark's session starts a JVM that outlives the Python process (it exits
when its parent's stdin closes) and that nobody waits for, so the JVM's CPU would be missing
from the measurement (os.wait4 of the process tree). Here, after dbt, the Spark session is
stopped and the JVM waited for: its CPU counts in this process's children. Exits with dbt's
exit code (0 success, 1 failures, 2 error)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(list(sys.argv[1:] if argv is None else argv))
    code = 0 if result.success else (2 if result.exception is not None else 1)
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    if gateway is not None:
        proc = getattr(gateway, "proc", None)
        if SparkContext._active_spark_context is not None:
            SparkContext._active_spark_context.stop()
        gateway.shutdown()
        if proc is not None:
            proc.stdin.close()  # the JVM's signal to exit
            proc.wait(timeout=120)
    return code


if __name__ == "__main__":
    sys.exit(main())
