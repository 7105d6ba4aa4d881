"""`sroi worker`: consume the job queue (``api.services.job_queue``) in this process.

At start it says where the queue is, or why it cannot be reached (exit status 3, so a
process supervisor retries and the log says what to fix); then jobs a dead worker left
running are queued again (or failed after their last attempt) and jobs still marked
queued are put on the queue again, before it consumes until SIGINT/SIGTERM.
`make run` starts one beside the web server; a deployment runs as many as it wants, on
any host that reaches the database and the queue.
"""

from __future__ import annotations

import argparse
import logging

from api.commands.errors import CliError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("worker", help="run background jobs from the job queue")
    p.add_argument("--threads", type=int, default=1,
                   help="jobs run at the same time in this process (default 1)")
    p.set_defaults(handler=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    from api.db import get_engine
    from api.services import job_queue, jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not 1 <= args.threads <= 32:
        raise CliError("--threads must be between 1 and 32")
    why = job_queue.unreachable()
    if why is not None:
        raise CliError(f"the job queue cannot be reached ({why}); start it or fix "
                       "REDIS_URL / DATABASE_URL, then start the worker again", status=3)
    again, failed = jobs.recover(get_engine())
    print(f"sroi worker: queue {job_queue.describe()}; {again} interrupted job(s) queued "
          f"again, {failed} failed after their last attempt", flush=True)
    job_queue.run_consumer(args.threads)
    return 0
