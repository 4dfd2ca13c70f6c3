"""Charts of cxlab (altair). Each module pairs data functions (tidy polars frames, tested) with
display functions (altair charts drawn from those small aggregated frames, never event-level
data)."""
