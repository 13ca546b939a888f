"""``python -m benchmarks.load``: see :mod:`benchmarks.load`."""

from benchmarks.load._cli import main

raise SystemExit(main())
