"""The ``legato`` command-line tool: namespaces and workflows from a shell.

Layout: ``main`` builds the parser and dispatches; ``namespace``, ``workflow``,
``inspection`` and ``results`` hold the commands; ``format`` renders messages
as text; ``durations`` and ``arguments`` parse input; ``connection`` talks to
the frontend. The CLI uses the generated gRPC stubs directly, not
``legato.client``, so it stays a thin, synchronous view of the wire API.
"""
