"""The TOML configuration: ``model`` (the typed result), ``load`` (parse and check), ``render`` (write it back),
``locate`` (line numbers for error messages)."""
