"""Readable specifications of cxlab's analyses ("oracles"), for the tests only.

Each module here is the plain, per-customer-obvious version of an analysis: written for a
reader, not for speed (text customer keys, window expressions, no prepared codes). The
package has ONE implementation of each analysis, written against prepared events
(:func:`cxlab.events.as_events`); ``tests/test_oracles_*.py`` check, on hypothesis-generated
logs, that the package gives exactly the oracle's table (same rows, order, dtypes, floats).
When a definition changes, change the oracle first.
"""
