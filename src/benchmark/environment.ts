/**
 * What a benchmark figure depends on, recorded next to it so two runs can be compared honestly:
 * server and extension versions, the host, the memory settings and the index as it is now.
 */
import os from 'node:os';
import pg from 'pg';
import { hnswIndexName, SETTING_BYTES_SQL, type IndexType } from '../db/hnsw.js';

export interface BenchmarkEnvironment {
  postgres: string;
  pgvector: string;
  /** The worker's host (the database's too on a single-machine stack). */
  cpuModel: string;
  cpuCores: number;
  ramBytes: number;
  node: string;
  platform: string;
  sharedBuffersBytes: number;
  maintenanceWorkMemBytes: number;
  effectiveCacheSizeBytes: number;
  maxWorkerProcesses: number;
  maxParallelWorkers: number;
  maxParallelWorkersPerGather: number;
  maxParallelMaintenanceWorkers: number;
}

export interface IndexFacts {
  name: string;
  indexType: IndexType;
  present: boolean;
  valid: boolean;
  bytes: number;
  m: number | null;
  efConstruction: number | null;
  fitsInSharedBuffers: boolean;
}

const BYTE_SETTINGS = ['shared_buffers', 'maintenance_work_mem', 'effective_cache_size'] as const;
const COUNT_SETTINGS = ['max_worker_processes', 'max_parallel_workers', 'max_parallel_workers_per_gather', 'max_parallel_maintenance_workers'] as const;

/**
 * Reads the settings on a fresh connection: a pooled one may carry session-level changes (the index
 * build raises maintenance_work_mem on its connection), and the report must show the server's values.
 */
export async function describeEnvironment(databaseUrl: string): Promise<BenchmarkEnvironment> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'benchmark:environment' });
  await client.connect();
  try {
    return await readEnvironment(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function readEnvironment(pool: pg.ClientBase): Promise<BenchmarkEnvironment> {
  const versions = await pool.query<{ postgres: string; pgvector: string | null }>(
    `SELECT current_setting('server_version') AS postgres, (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS pgvector`,
  );
  const bytes = await pool.query<{ name: string; bytes: string }>(
    `SELECT name, ${SETTING_BYTES_SQL}::text AS bytes FROM pg_settings WHERE name = ANY($1)`, [BYTE_SETTINGS],
  );
  const counts = await pool.query<{ name: string; value: number }>(
    'SELECT name, setting::int AS value FROM pg_settings WHERE name = ANY($1)', [COUNT_SETTINGS],
  );
  const b = (name: string) => Number(bytes.rows.find((r) => r.name === name)?.bytes ?? 0);
  const c = (name: string) => counts.rows.find((r) => r.name === name)?.value ?? 0;
  const cpus = os.cpus();
  return {
    postgres: versions.rows[0]!.postgres,
    pgvector: versions.rows[0]!.pgvector ?? 'not installed',
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCores: cpus.length,
    ramBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    sharedBuffersBytes: b('shared_buffers'),
    maintenanceWorkMemBytes: b('maintenance_work_mem'),
    effectiveCacheSizeBytes: b('effective_cache_size'),
    maxWorkerProcesses: c('max_worker_processes'),
    maxParallelWorkers: c('max_parallel_workers'),
    maxParallelWorkersPerGather: c('max_parallel_workers_per_gather'),
    maxParallelMaintenanceWorkers: c('max_parallel_maintenance_workers'),
  };
}

export async function describeIndex(pool: pg.Pool, sharedBuffersBytes: number, indexType: IndexType): Promise<IndexFacts> {
  const name = hnswIndexName(indexType);
  const { rows } = await pool.query<{ valid: boolean; bytes: string; reloptions: string[] | null }>(
    `SELECT i.indisvalid AS valid, pg_relation_size(c.oid)::text AS bytes, c.reloptions
       FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid WHERE c.oid = to_regclass($1)`,
    [name],
  );
  const r = rows[0];
  if (!r) return { name, indexType, present: false, valid: false, bytes: 0, m: null, efConstruction: null, fitsInSharedBuffers: false };
  const option = (key: string) => {
    const hit = (r.reloptions ?? []).find((o) => o.startsWith(`${key}=`));
    return hit ? Number(hit.slice(key.length + 1)) : null;
  };
  const bytes = Number(r.bytes);
  return {
    name,
    indexType,
    present: true,
    valid: r.valid,
    bytes,
    m: option('m'),
    efConstruction: option('ef_construction'),
    fitsInSharedBuffers: bytes <= sharedBuffersBytes,
  };
}
