"""The data contract: table schemas, ``client.toml``, the validation report, and the
prepared (physical) form of events. Nothing here reads files or analyses anything."""
