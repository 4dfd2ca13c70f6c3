"""The analyses: each takes events through :mod:`cxlab.events` and returns polars frames
or small result objects (journey, funnel, heatmap, explorer cube, paths, attribution, CX
metrics, key drivers, voice of the customer, customer features, churn, statistics)."""
