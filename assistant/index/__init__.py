"""The index: chunking, embedders, the Chroma store (embedded or server), BM25, and ingest.

Modules are imported directly (assistant.index.ingest, .reader, ...): this package stays empty
of imports so that loading any one of them never drags in the others' heavy dependencies.
"""

from typing import Callable

# on_progress(stage, done, total): how ingest reports its stages ("chunking", "embedding", "storing").
ProgressCallback = Callable[[str, int, int], None]
