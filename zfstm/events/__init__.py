"""Session-end evidence from the file servers, which lets the daemon snapshot the moment a backup ends.

Pure parts (packet parsing, routing to targets, coalescing and rate limits) are separate from the thin shell that
owns sockets and files (``listener``, ``record``). docs/events.md describes the setup and the safety rules.
"""
