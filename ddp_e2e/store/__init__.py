"""Motor-API storage: ``await open_store(url)`` gives the collections every service uses.

``memory://`` is mongomock-motor with index fast paths (no scans for lookups by ``_id`` or by a
declared index key); ``mongodb://`` is Motor on a real server. Seed and dump with
:func:`load_fixtures` / :func:`dump_fixtures`.
"""

from .core import COLLECTIONS, INDEX_SPECS, MEMORY_INDEX_PATHS, IndexSpec, Store, open_store
from .fixtures import FixtureError, dump_fixtures, load_fixtures, save_fixtures
from .memory import StoreInternalsError

__all__ = [
    "COLLECTIONS",
    "INDEX_SPECS",
    "MEMORY_INDEX_PATHS",
    "FixtureError",
    "IndexSpec",
    "Store",
    "StoreInternalsError",
    "dump_fixtures",
    "load_fixtures",
    "open_store",
    "save_fixtures",
]
