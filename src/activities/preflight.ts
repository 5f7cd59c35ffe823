/**
 * Preflight checks: read-only probes of every service launch readiness depends on. A probe that
 * cannot reach its service reports `fail` with the reason instead of throwing, so one dead service
 * yields a complete report rather than a retry storm.
 */
import type { CheckResult, CheckStatus, PreflightInput } from '../workflows/preflight.js';
import type pg from 'pg';
import { EMBEDDING_DIMENSIONS } from '../db/constants.js';
import { checkOut } from '../db/client.js';
import { formatBytes } from '../bytes.js';
import { DEFAULT_INDEX_TYPE, estimateHnswGraphBytes, HNSW_INDEX_NAME, SETTING_BYTES_SQL } from '../db/hnsw.js';
import { advisoryVerdict, compareVersions, parallelBuildBlocker } from '../db/pgvector-advisories.js';
import { redactUrl, type Config } from '../config.js';
import { databaseIdentity, isMissingDatabase, isProductionDatabase, type DatabaseIdentity } from '../db/capacity-database.js';
import type { ActivityDeps } from './deps.js';

const MIN_PGVECTOR_FOR_HNSW = '0.5.0';
const MIN_PGVECTOR_FOR_ITERATIVE_SCAN = '0.8.0';

const check = (name: string, status: CheckStatus, value: string, detail: string): CheckResult => ({ name, status, value, detail });

/** Capacity jobs need a database of their own; a missing one is created by the first capacity run. */
async function checkCapacityDatabase(config: Config, live: pg.Pool, capacity: pg.Pool): Promise<CheckResult> {
  const where = redactUrl(config.capacityDatabaseUrl);
  const liveId = await databaseIdentity(live);
  let target: DatabaseIdentity;
  try {
    target = await databaseIdentity(capacity);
  } catch (err) {
    return isMissingDatabase(err)
      ? check('capacity_database', 'pass', 'not created yet', `${where}: created and migrated by the first capacity run`)
      : check('capacity_database', 'fail', 'unreachable', `${where}: ${(err as Error).message}. Fix CAPACITY_DATABASE_URL or unset it for <database>_capacity.`);
  }
  if (target.name === liveId.name && target.systemIdentifier === liveId.systemIdentifier) {
    return check('capacity_database', 'fail', target.name, `${where} is the live database: point CAPACITY_DATABASE_URL at a database of its own`);
  }
  if (isProductionDatabase(target, config.productionDatabases)) {
    return check('capacity_database', 'warn', target.name, 'listed in PRODUCTION_DATABASES: capacity jobs refuse it without --allow-production');
  }
  return check('capacity_database', 'pass', target.name, `apart from the live ${liveId.name}${target.systemIdentifier === liveId.systemIdentifier ? ' on the same server' : ''}`);
}

export function createPreflightActivities({ pool, capacityPool, redis, config }: ActivityDeps) {
  return {
    async checkPostgres(input: PreflightInput): Promise<CheckResult[]> {
      const targetTraces = input.targetTraces ?? config.preflight.targetTraces;
      const dims = input.dimensions ?? EMBEDDING_DIMENSIONS;
      const indexType = input.indexType ?? DEFAULT_INDEX_TYPE;
      let client: pg.PoolClient;
      let done: () => void;
      try {
        ({ client, done } = await checkOut(pool));
      } catch (err) {
        return [
          check('postgresql', 'fail', 'unreachable', `${redactUrl(config.databaseUrl)}: ${(err as Error).message}. Run \`npm run stack:up\` or fix DATABASE_URL.`),
        ];
      }
      try {
        const results: CheckResult[] = [];
        const { rows: versionRows } = await client.query<{ server_version: string; num: string }>(
          `SELECT current_setting('server_version') AS server_version, current_setting('server_version_num') AS num`,
        );
        const serverVersion = versionRows[0]!.server_version;
        const versionNum = Number(versionRows[0]!.num);
        results.push(
          versionNum >= 150000
            ? check('postgresql', 'pass', serverVersion, 'PostgreSQL 15 or newer')
            : check('postgresql', versionNum >= 130000 ? 'warn' : 'fail', serverVersion, 'the launch stack is tested on PostgreSQL 15'),
        );

        const { rows: ext } = await client.query<{ installed: string | null; available: string | null }>(
          `SELECT (SELECT extversion FROM pg_extension WHERE extname = 'vector') AS installed,
                  (SELECT default_version FROM pg_available_extensions WHERE name = 'vector') AS available`,
        );
        const installed = ext[0]?.installed ?? null;
        const available = ext[0]?.available ?? null;
        if (!installed) {
          results.push(
            check('pgvector', 'fail', available ? `available ${available}, not created` : 'not installed',
              available ? 'run `npm run db:migrate` (it runs CREATE EXTENSION vector)' : 'run `npm run stack:up` to build pgvector 0.8.0 for PostgreSQL 15'),
          );
        } else if (compareVersions(installed, MIN_PGVECTOR_FOR_HNSW) < 0) {
          results.push(check('pgvector', 'fail', installed, `HNSW needs pgvector >= ${MIN_PGVECTOR_FOR_HNSW}; ALTER EXTENSION vector UPDATE after installing a newer build`));
        } else if (compareVersions(installed, MIN_PGVECTOR_FOR_ITERATIVE_SCAN) < 0) {
          results.push(check('pgvector', 'warn', installed, `HNSW works; filtered search needs >= ${MIN_PGVECTOR_FOR_ITERATIVE_SCAN} for iterative index scans`));
        } else {
          results.push(check('pgvector', 'pass', installed, 'HNSW and iterative index scans available'));
        }
        // Known bugs of the installed version that this project triggers, each with its fix version.
        if (installed) {
          const verdict = advisoryVerdict(installed, config.appEnv === 'production');
          results.push(check('pgvector_advisories', verdict.status, verdict.value, verdict.detail));
        }

        const { rows: idx } = await client.query<{ table: boolean; index: boolean }>(
          `SELECT to_regclass('traces') IS NOT NULL AS table, to_regclass($1) IS NOT NULL AS index`, [HNSW_INDEX_NAME],
        );
        // A missing index is recoverable by the run itself (indexBuild creates it), so it only warns.
        results.push(
          !idx[0]?.table
            ? check('schema', 'fail', 'not migrated', 'run `npm run db:migrate`')
            : idx[0].index
              ? check('schema', 'pass', 'migrated', `traces table and ${HNSW_INDEX_NAME} present`)
              : check('schema', 'warn', `${HNSW_INDEX_NAME} missing`, 'searches scan the table until `npm run cli -- capacity index` (or a launch) builds it'),
        );

        const graphBytes = estimateHnswGraphBytes(targetTraces, dims, indexType);
        const settings = await client.query<{ name: string; bytes: string; setting: string }>(
          `SELECT name, setting,
                  ${SETTING_BYTES_SQL}::text AS bytes
             FROM pg_settings
            WHERE name IN ('shared_buffers', 'maintenance_work_mem', 'max_parallel_maintenance_workers')`,
        );
        const byName = new Map(settings.rows.map((r) => [r.name, r]));
        const sharedBuffers = Number(byName.get('shared_buffers')?.bytes ?? 0);
        const maintenanceWorkMem = Number(byName.get('maintenance_work_mem')?.bytes ?? 0);
        const parallelWorkers = Number(byName.get('max_parallel_maintenance_workers')?.setting ?? 0);
        const sizeNote = `HNSW (${indexType}) for ${targetTraces.toLocaleString('en-US')} × ${dims} needs ~${formatBytes(graphBytes)}`;
        results.push(
          sharedBuffers >= graphBytes
            ? check('shared_buffers', 'pass', formatBytes(sharedBuffers), `${sizeNote}; the index fits in memory`)
            : check('shared_buffers', 'warn', formatBytes(sharedBuffers), `${sizeNote}; searches will read the index from disk (raise shared_buffers)`),
        );
        results.push(
          maintenanceWorkMem >= graphBytes
            ? check('maintenance_work_mem', 'pass', formatBytes(maintenanceWorkMem), `${sizeNote}; the build stays in memory`)
            : check('maintenance_work_mem', 'warn', formatBytes(maintenanceWorkMem), `${sizeNote}; the build will spill to disk and be slow (indexBuild raises it per session within its cap)`),
        );
        const parallelBlocker = installed ? parallelBuildBlocker(installed) : null;
        results.push(
          parallelBlocker
            ? check('max_parallel_maintenance_workers', 'pass', String(parallelWorkers), `index builds run without parallel workers regardless (${parallelBlocker})`)
            : parallelWorkers >= 1
              ? check('max_parallel_maintenance_workers', 'pass', String(parallelWorkers), 'parallel HNSW build available')
              : check('max_parallel_maintenance_workers', 'warn', String(parallelWorkers), 'index builds run single-threaded'),
        );
        results.push(await checkCapacityDatabase(config, pool, capacityPool));
        return results;
      } catch (err) {
        return [check('postgresql', 'fail', 'query failed', (err as Error).message)];
      } finally {
        done();
      }
    },

    async checkRedis(): Promise<CheckResult> {
      try {
        const pong = await redis.ping();
        const info = await redis.info('server');
        const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
        const major = Number.parseInt(version, 10);
        if (pong !== 'PONG') return check('redis', 'fail', version, `unexpected PING reply ${pong}`);
        return major >= 6
          ? check('redis', 'pass', version, `${redactUrl(config.redisUrl)} reachable`)
          : check('redis', 'warn', version, 'the token-bucket script is tested on Redis 7');
      } catch (err) {
        return check('redis', 'fail', 'unreachable', `${redactUrl(config.redisUrl)}: ${(err as Error).message}. Start Redis or fix REDIS_URL.`);
      }
    },

    async checkEmbedder(): Promise<CheckResult> {
      const { provider, openaiBaseUrl } = config.embedding;
      if (provider === 'openai') {
        return check('embedder', 'pass', 'openai text-embedding-3-small', `API key set${openaiBaseUrl ? `, base URL ${openaiBaseUrl}` : ''}`);
      }
      return check(
        'embedder',
        config.appEnv === 'production' ? 'warn' : 'pass',
        'local local-hash-1536-v1',
        config.appEnv === 'production'
          ? 'production should embed with OpenAI: set OPENAI_API_KEY'
          : 'deterministic offline embedder (set OPENAI_API_KEY to use OpenAI)',
      );
    },
  };
}
