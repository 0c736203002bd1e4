"""Scale: the ingest pipeline against raw embedding, and the store from 10k to 1M chunks.

    .venv/bin/python -m evals.scale                                      # everything, default sizes
    .venv/bin/python -m evals.scale --papers 1000 --store-sizes 10000 100000
    .venv/bin/python -m evals.scale --skip-pipeline --store-sizes 1000000 --skip-server
    .venv/bin/python -m evals.scale --papers 200 --store-sizes 10000 --out /tmp/quick   # a quick look

Two measurements, because embedding is the slow part on a 2-core machine:

1. The pipeline. A synthetic corpus of abstract-like papers (seeded: sentences of the shipped
   seed abstracts recombined, new titles, authors, dates and categories) is written as seed
   files in the "listing" layout, read back through load_corpus (checked field by field), and
   ingested by the real `ingest(settings)` with the real MiniLM embedder into a fresh index.
   The same chunk texts (re-chunked with the project's own chunker) are then embedded directly
   by the same embedder, in the same batches ingest uses: the ratio ingest / raw embedding is
   what the pipeline adds (target: at most 1.5), by wall clock and by CPU seconds (steadier on
   a shared machine). Ingest's own progress callback times its stages (setup, chunking,
   embedding, storing, BM25 + files).

2. The store. N chunks of short recombined sentences with seeded random 384-d unit vectors
   (no model) are written as a real index generation (Chroma collection with the rows ingest
   writes, the SQLite tables, BM25, manifest, and on a server the library record), into
   the embedded Chroma (PersistentClient) and into a real `chroma run` server on 127.0.0.1
   (HttpClient). A fresh process then opens it with the project's IndexReader and times the
   project's own Retriever.search (dense query + BM25 query + score fusion + per-paper
   diversity + evidence assembly), with a stand-in query embedder that returns a seeded unit
   vector (no model; the real one adds ~5 ms per query), plus the dense and BM25 parts alone.
   Every size runs in fresh processes, so peak RSS (ru_maxrss) is per size and per phase; the
   server's own peak is its VmHWM from /proc.

   Fusion is the project's own (Retriever._fuse with the default retrieval settings: score fusion, not RRF).
   Each build writes its insert curve as it goes (OUT/insert-curve-<mode>-<size>.jsonl), so a
   build stopped early still leaves its measured growth. Where a size is not measured (1M
   here takes hours of Chroma inserts), a power law through the two largest measured sizes
   estimates it, marked as extrapolated everywhere.

Extras that say where time goes: --bm25-sizes times the BM25 half alone (cheap at 1M) beside
an O(N) top-n selection that returns the same list; --insert-breakdown N times Chroma inserts
with parts of each row left out; --profile writes cProfile reports of ingest and search;
--raw-before times raw embedding before ingest too (a load change shows as a difference).

Results merge into OUT/scale.json (a later run with other sizes keeps the earlier entries),
and OUT/scale.png plots them (--render-only redraws from the JSON); a table is printed.
Figures move with the machine's load: the load average is recorded beside each one. Any
`chroma run` started here listens on 127.0.0.1 only and is stopped by its PID on exit.

Layout: common (paths, the queries, resource use), corpus (synthetic papers, chunks, vectors),
pipeline (1.), store (2.), processes (fresh interpreters per size; the Chroma server comes from
tests/servers.py, the one starter the tests use too), report (merging, extrapolation, the
table), plot, __main__ (the command line).
"""
