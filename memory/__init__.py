"""Fan memory over Postgres + pgvector. Not built yet: the fan_memories table exists (schema v1); embedding,
remember and recall come with the fan-intelligence work."""
