"""``python -m benchmarks.e2e``: see :mod:`benchmarks.e2e`."""

from benchmarks.e2e._cli import main

raise SystemExit(main())
