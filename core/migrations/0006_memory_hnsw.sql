-- Creator-wide memory search goes through HNSW (cosine) with pgvector's iterative scan, so the creator filter
-- cannot starve the result; one fan's recall uses fan_memories_fan_idx and an exact distance per row.
CREATE INDEX fan_memories_embedding_hnsw ON fan_memories USING hnsw (embedding vector_cosine_ops);
