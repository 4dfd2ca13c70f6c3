"""Reading clients: source columns, loaders, :func:`cxlab.load_client`, out-of-core
analysis, ``cxlab init`` and the sample-client generator."""
