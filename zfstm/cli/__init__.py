"""The ``zfstm`` command: one module per verb, one ``main`` that turns exceptions into exit codes."""
