"""Measured speed: our figures read as ratios against bare Temporal on the same server.

``python -m bench`` starts a dev server (in memory), a CID, and workers in this process,
then measures intake, bulk submit, replay and dormancy (docs/performance.md, "Running the benchmark").
"""
