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
import sys

from api.commands.errors import CliError
from api.commands.lang import say
from api.messages import msg, msgn


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
        raise CliError(msg("--threads moet tussen 1 en 32 liggen"))
    why = job_queue.unreachable()
    if why is not None:
        raise CliError(msg("de takenwachtrij is niet bereikbaar ({why}); start haar of "
                           "herstel REDIS_URL / DATABASE_URL en start de worker opnieuw",
                           why=why), status=3)
    again, failed = jobs.recover(get_engine())
    say(msg("sroi worker: wachtrij {queue}; {again}, {failed}", queue=job_queue.describe(),
            again=msgn("{n} onderbroken taak opnieuw in de wachtrij",
                       "{n} onderbroken taken opnieuw in de wachtrij", again),
            failed=msgn("{n} mislukt na de laatste poging", "{n} mislukt na de laatste poging",
                        failed)), sys.stdout)
    job_queue.run_consumer(args.threads)
    return 0
