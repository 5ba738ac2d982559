"""The foundation every other layer stands on, and which itself imports nothing else of roughml.

``errors`` holds the exceptions the CLI turns into one readable line; ``storage`` writes files
atomically and byte-reproducibly (DVC compares outputs by hash); ``config`` is the schema of
``params.yaml``; ``fingerprint`` ties a run to the data and commit it used; ``formats`` writes the
CSV, PNG and strict-JSON values shared by every output. Keeping these free of physics, imaging
and learning is what lets any layer above use them without an import cycle.
"""

__all__ = ["config", "errors", "fingerprint", "formats", "storage"]
