"""cashsim's speed and scale benchmarks (issue #8): ``python -m benchmarks`` (or ``make bench``) runs them all.

Each line prints the figure, its goal, the ratio figure / goal and PASS or MISS, so a regression shows at a glance:

* ``engine``: :func:`cashsim.simulate.simulate` on 10 000 open invoices x 10 000 paths, cash aggregated by day,
  against the floor: the time numpy takes just to draw the 10^8 uniforms such a run needs (goal engine/floor <= 2).
* ``dask``: the same engine on a two-process dask LocalCluster: time, and whether the numbers are identical.
* ``memory``: peak resident memory of a fresh process simulating 100 000 invoices x 10 000 paths (goal < 2 GiB),
  and of the same run with 1 000 paths: the difference is the result array itself, not the book or the paths.
* ``fit``: :func:`cashsim.behaviour.fit_behaviour` on 1 000 000 historical invoices (goal < 30 s on 2 cores).
* ``panel``: one scenario-panel update on the demo company (goal < 300 ms), ``report``: the monthly report end to
  end (goal < 60 s) -- both call ``cashsim.panel`` / ``cashsim.report``.
* ``cache``: :func:`cashsim.pipeline.prepare` on the demo with an empty fit cache (cold: fit, book, store) and
  with the entry stored (warm: read back); goal warm at least 5x faster than cold (ratio = 5 x warm / cold).
* ``ledger``: reading the ledger, as every command does: ``read_fec`` on the demo written as a 4-year FEC (goal:
  within the 1.7 s CPU it took before the FEC used the ledger's allocation) and ``read_ledger`` on the demo.

Timings stay out of the test suite. ``python -m benchmarks engine memory`` runs a subset.
"""
