import type pg from 'pg';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Embedder } from '../embeddings/embedder.js';

/** What activities are built from. The worker owns these resources and closes them on shutdown. */
export interface ActivityDeps {
  config: Config;
  /** The live database (config.databaseUrl). */
  pool: pg.Pool;
  /** The capacity database (config.capacityDatabaseUrl): capacity rows, their index, the benchmark's data. */
  capacityPool: pg.Pool;
  redis: Redis;
  embedder: Embedder;
}
