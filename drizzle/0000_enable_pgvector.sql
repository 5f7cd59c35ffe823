-- pgvector must exist before the vector(1536) column in the next migration.
CREATE EXTENSION IF NOT EXISTS vector;
