"""Persistence: one narrow interface per concern, one plugin folder per database.

The engine never writes SQL or CQL; it calls the stores defined in
``interface`` and stores opaque, serialized protobuf blobs plus the few columns
a store needs to index or to condition a write on. ``factory.create_persistence``
picks the implementation from configuration.
"""

from legato_server.persistence.interface import *  # noqa: F403
