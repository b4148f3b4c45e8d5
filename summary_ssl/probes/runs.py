"""Running the benchmark's recipe runs: one ``train.py`` per subprocess,
its log, its ``metrics.json`` and the CPU time it used.

``recipes/MP3S/run_benchmark.py`` plans the runs (dicts with ``name``,
``cmd``, ``recipe`` and ``output_folder``) and hands them to
:func:`execute`, several at a time.

Authors
-------
* summary_ssl contributors 2026
"""

import json
import logging
import os
import shlex
import subprocess
import time

logger = logging.getLogger("run_benchmark")


def execute(run, threads=None):
    """Runs one train.py; returns its metrics.json content or None."""
    os.makedirs(run["output_folder"], exist_ok=True)
    log_path = os.path.join(run["output_folder"], "runner.log")
    metrics_path = os.path.join(run["output_folder"], "metrics.json")
    if os.path.exists(metrics_path):  # from an earlier run
        os.remove(metrics_path)
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
        env["MKL_NUM_THREADS"] = str(threads)
    start = time.time()
    logger.info(f"start {run['name']}")
    with open(log_path, "w", encoding="utf-8") as log:
        log.write(shlex.join(run["cmd"]) + "\n\n")
        log.flush()
        returncode, cpu = run_child(
            run["cmd"], cwd=run["recipe"], stdout=log, env=env
        )
    seconds = time.time() - start
    if returncode != 0 or not os.path.isfile(metrics_path):
        logger.error(
            f"{run['name']} failed (exit {returncode}, {seconds:.0f} s)"
            f": see {log_path}"
        )
        return None
    logger.info(f"done {run['name']} in {seconds:.0f} s ({cpu:.0f} s CPU)")
    with open(metrics_path, encoding="utf-8") as f:
        result = json.load(f)
    result["seconds"] = seconds
    result["cpu_seconds"] = cpu
    return result


def run_child(cmd, cwd, stdout, env):
    """Runs a command; returns (exit status, CPU seconds it used).

    The CPU time (user + system, its waited-for children included) comes
    from ``os.wait4``, so it is exact even when other runs share the
    machine; ``None`` where ``wait4`` does not exist.
    """
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdout=stdout, stderr=subprocess.STDOUT, env=env
    )
    if not hasattr(os, "wait4"):
        return proc.wait(), float("nan")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


def time_summary(runs, outcomes):
    """One line: runs, wall and CPU seconds (see :func:`run_child`).

    Example
    -------
    >>> time_summary([{}, {}], [{"seconds": 10.0, "cpu_seconds": 4.0}, None])
    '- Time: 1 of 2 runs finished; 10 s of run time and 4 s of CPU time \
in all (per run: `results.json`).'
    """
    done = [o for o in outcomes if o is not None]
    wall = sum(o["seconds"] for o in done)
    cpu = sum(o.get("cpu_seconds", 0.0) for o in done)
    return (
        f"- Time: {len(done)} of {len(runs)} runs finished; {wall:.0f} s "
        f"of run time and {cpu:.0f} s of CPU time in all (per run: "
        "`results.json`)."
    )
