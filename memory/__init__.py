"""Fan memory over Postgres + pgvector: embedders (embed.py), extraction from fan messages (extract.py), and the
store (store.py): remember with merge and boundaries kept, per-fan recall, creator-wide search, re-embedding."""
