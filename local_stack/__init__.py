"""The pieces of a stack on one machine that ``casework up``, the tests and the benchmark
share: child processes (the Temporal dev server), the case database (``DATABASE_URL`` or
an embedded PostgreSQL), the data folder, free ports and polling. Process handling lives
here, not in the pure package ``casework`` (issue 19 item 3)."""
