#!/usr/bin/env python3
"""Executes the analysts' notebooks against a running Sextant.

    python notebooks/execute.py --in-place            # refresh the committed outputs
    python notebooks/execute.py --out DIR             # write executed copies to DIR (CI)
    python notebooks/execute.py --out DIR 03_campaign_uplift.ipynb   # only some notebooks

Every `notebooks/*.ipynb` runs in name order (or only those named), each in a fresh python3
kernel started from the interpreter running this script, with the notebooks folder as its
working directory and this process's environment (`SEXTANT_URL`, `SEXTANT_TOKEN_*`, ...).
A cell may run for `--timeout` seconds. Prints one line per notebook (cells, seconds, size);
exits 1 naming the notebook and the cell that failed, after printing the error. With
`--in-place` a failed notebook is left as it was; with `--out` the partly executed copy is
written next to the others, for inspection.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import sys
import tempfile
import time

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

HERE = pathlib.Path(__file__).resolve().parent


def pin_python3_kernel(scratch: pathlib.Path) -> None:
    """Makes the `python3` kernel this interpreter, whatever kernelspecs the machine has."""
    root = scratch / "jupyter"
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (Sextant notebooks)",
        "language": "python",
    }))
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in [str(root), os.environ.get("JUPYTER_PATH", "")] if p)


def failed_cell(nb) -> tuple[int, dict] | None:
    """The first code cell holding an error output (nbclient stops there)."""
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            return index, cell
    return None


def describe(index: int, cell) -> str:
    first = next((line for line in cell.source.splitlines() if line.strip() and not line.startswith("#")), "")
    return f"cell {index} (execution {cell.get('execution_count')}): {first.strip()[:80]}"


def run(path: pathlib.Path, out: pathlib.Path | None, timeout: int, scratch: pathlib.Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    code_cells = sum(c.cell_type == "code" for c in nb.cells)
    # Local sockets (IPC) rather than TCP on localhost: nothing else can connect to the kernel.
    km = KernelManager(kernel_name="python3", transport="ipc", ip=str(scratch / path.stem))
    client = NotebookClient(
        nb,
        km=km,
        timeout=timeout,
        record_timing=False,
        resources={"metadata": {"path": str(HERE)}},
    )
    started = time.perf_counter()
    error = None
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
        error = e
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    seconds = time.perf_counter() - started
    target = path if out is None else out / path.name
    if error is None or out is not None:
        nbformat.write(nb, target)
    if error is None:
        size = target.stat().st_size / 1024
        print(f"ok    {path.name}: {code_cells} code cells in {seconds:.1f} s, {size:.0f} KiB -> {target}", flush=True)
        return True
    where = failed_cell(nb)
    if where is not None:
        place = describe(*where)
    elif isinstance(error, CellTimeoutError):
        place = f"a cell ran past {timeout} s"
    else:
        place = "the kernel"
    print(f"FAIL  {path.name}: {place} after {seconds:.1f} s", flush=True)
    print(str(error)[-4000:], file=sys.stderr, flush=True)
    if out is not None:
        print(f"      the partly executed notebook is {target}", flush=True)
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--in-place", action="store_true", help="overwrite the notebooks with their executed versions")
    mode.add_argument("--out", type=pathlib.Path, help="write the executed notebooks into this folder")
    parser.add_argument("--timeout", type=int, default=300, help="seconds a cell may run (default 300)")
    parser.add_argument("--keep-going", action="store_true", help="run the remaining notebooks after a failure")
    parser.add_argument("notebooks", nargs="*", help="names of notebooks in notebooks/ (default: all)")
    args = parser.parse_args()

    paths = [HERE / n for n in args.notebooks] if args.notebooks else sorted(HERE.glob("*.ipynb"))
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        parser.error(f"no such notebook in {HERE}: {', '.join(missing)}")
    if not paths:
        parser.error(f"no notebooks in {HERE}")
    out = None
    if args.out is not None:
        out = args.out.resolve()
        out.mkdir(parents=True, exist_ok=True)
    # The kernelspec and the kernels' sockets, removed at the end.
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="sextant-notebook-kernels-"))
    failed = []
    started = time.perf_counter()
    try:
        pin_python3_kernel(scratch)
        for path in paths:
            if not run(path, out, args.timeout, scratch):
                failed.append(path.name)
                if not args.keep_going:
                    break
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    total = time.perf_counter() - started
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(failed)} ({total:.0f} s)", flush=True)
        return 1
    print(f"all {len(paths)} notebooks executed in {total:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
