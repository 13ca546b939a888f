"""Load and soak of the service: ``python -m benchmarks.load``.

    python -m benchmarks.load --spawn --clients 50 --duration 60 --report docs/reliability.md
    python -m benchmarks.load --spawn --soak 600 --report docs/reliability.md
    python -m benchmarks.load --spawn --database-url postgresql+psycopg://u@host/db --duration 60
    python -m benchmarks.load --server http://host:8000 --api-key KEY [--pid PID]
    python -m benchmarks.load --spawn --quick      # a few seconds (the test that keeps it working)

``--spawn`` starts one ``warmstart serve`` with two local workers (the embedded SQLite default in a
temporary home, or ``--database-url``, migrated first) and stops it at the end; ``--server`` uses a
running one. Seed datasets and tasks are registered first. Every client is an async httpx2 client
with its own connection that sends one request after another (``--think-ms`` apart) until the time
is up, drawn at random from a mix like a CI pipeline's: uploads of small CSVs (new and repeated),
recommendations for a task and one-shot (upload + recommend; repeated and new files), and
studies: a client creates a study, polls it until it ends, then creates the next. Each client
starts with one request of each kind (finished even past the deadline), so every endpoint is
measured even in a short run.

Prints a table per endpoint (requests, errors, p50/p95/p99/max latency), writes JSON (``--out``),
and exits 1 if any request failed (a non-2xx answer or no answer). The resident memory (RSS) of
the server and its workers is sampled every ``--sample-every`` seconds (with ``--spawn``, or the
process tree of ``--pid``): start, end, peak and slope in MB/min. ``--soak S`` is a run of S
seconds reported as the soak. ``--report FILE`` rewrites the section of FILE between
``<!-- reliability:load:start -->`` and ``<!-- reliability:load:end -->`` (``soak`` for a soak).

Traffic goes only to the given or spawned server; every loop is bounded in time.
"""

from benchmarks.load._cli import main

__all__ = ["main"]
