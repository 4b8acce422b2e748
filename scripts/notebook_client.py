"""Executes Jupyter notebooks headless with nbclient, for scripts/notebooks.ts.

Why not plain `jupyter nbconvert --execute`: the Deno kernel (2.9) sometimes publishes a cell's
execute_result just *after* its `idle` status, and nbclient stops listening to a cell at `idle`, so
the cell's picture is silently lost (about one cell in five here; measured lateness is under 1 ms).
This client keeps listening to the cell until `--settle` seconds pass without a message after
`idle`, and keeps what still arrives for it. Our notebooks also call `settleJupyterOutputs()` in their
first cell (viz/jupyter_settle.ts), which makes the kernel itself wait, so plain nbconvert keeps their
pictures too (tests/notebooks_nbconvert_test.ts); this client stays as the guard for any other notebook.

usage: notebook_client.py [--kernel deno] [--timeout 600] [--settle 0.2] [--output-dir DIR] NB...
Writes each executed notebook in place (or into DIR); exits 1 if a cell failed.
"""
import argparse
import asyncio
import os
import queue
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellExecutionError
from nbclient.util import ensure_async


class SettlingClient(NotebookClient):
    """A NotebookClient that also keeps a cell's messages published shortly after its idle status."""

    settle_seconds = 0.2

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        await super()._async_poll_output_msg(parent_msg_id, cell, cell_index)
        while True:
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=self.settle_seconds))
            except (queue.Empty, asyncio.TimeoutError):
                return
            if msg["parent_header"].get("msg_id") != parent_msg_id:
                continue
            try:
                self.process_message(msg, cell, cell_index)
            except CellExecutionComplete:
                pass


def execute(path, args):
    nb = nbformat.read(path, as_version=4)
    client = SettlingClient(
        nb,
        kernel_name=args.kernel,
        timeout=args.timeout,
        record_timing=False,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
    )
    client.settle_seconds = args.settle
    target = os.path.join(args.output_dir, os.path.basename(path)) if args.output_dir else path
    try:
        client.execute()
    except CellExecutionError as error:
        if args.output_dir:  # keep the partial run for inspection; never overwrite a committed notebook with it
            nbformat.write(nb, target)
        print(f"FAIL {os.path.basename(path)}: {error}", file=sys.stderr)
        return False
    nbformat.write(nb, target)
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kernel", default="deno")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--settle", type=float, default=0.2, help="seconds of silence that end a cell")
    parser.add_argument("--output-dir")
    parser.add_argument("notebooks", nargs="+")
    args = parser.parse_args()
    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)
    ok = [execute(path, args) for path in args.notebooks]
    sys.exit(0 if all(ok) else 1)


if __name__ == "__main__":
    main()
