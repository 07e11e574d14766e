"""The terminal as a service: ``tap-terminal run`` and its local HTTP API for kiosk apps.

The daemon is the one owner of the reader, the journal and the outbox; every front end (a
kiosk app, the console, a script) is a client of its API, so there is one code path for a
payment whoever starts it.

- :mod:`.settings`: the ``[daemon]`` settings table (listen, port or socket, token).
- :mod:`.actions`: an action's kinds and its final-once state machine.
- :mod:`.records`: the daemon's own SQLite file (actions by idempotency key, batches).
- :mod:`.events`: the persisted, numbered event log behind ``GET /v1/events``.
- :mod:`.journaled`: the acquirer client the pay mode is handed, journalling around each call.
- :mod:`.runner`: one action on the reader (wait for a card, cancel, the pay mode, the journal).
- :mod:`.service`: :class:`~terminal.daemon.service.Daemon`, the owner of it all.
- :mod:`.receipts`: a completed action's receipt and its text.
- :mod:`.api`, :mod:`.schemas`, :mod:`.problems`, :mod:`.auth`: the FastAPI app.
- :mod:`.server`, :mod:`.cli`: uvicorn on loopback (or a Unix socket), ``tap-terminal run``.

Importing this package imports nothing heavy; FastAPI is loaded by :mod:`.api`.
"""
