import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import type { RunningApi } from '../../src/api/server.js';
import { HttpTargetError, type LoadTestUser } from '../../src/benchmark/http-load.js';
import { runMixedLoad, type MixedLoadOptions } from '../../src/benchmark/mixed-load.js';
import { ensureCapacitySchema } from '../../src/db/capacity-database.js';
import { LocalEmbedder } from '../../src/embeddings/local.js';
import { baseConfig, uniqueName } from '../helpers/config.js';
import { capacityTestPool, closeTestPool, testPool } from '../helpers/db.js';
import { configWithLimits, deleteUsersWithPrefix, startTestApi } from '../helpers/api.js';

const TAG = uniqueName('mixedload');
let redis: Redis;
/** The API over the capacity database, as the benchmark's HTTP phases load it. */
let capacityApi: RunningApi;
/** An API over the live database: the mixed phase must refuse to write there. */
let liveApi: RunningApi;
let runs = 0;

before(async () => {
  await ensureCapacitySchema(baseConfig);
  redis = new Redis(baseConfig.redisUrl);
  // The read quota far above the load; the write quota is the default (20 per minute per user).
  const limits = configWithLimits({ readPerMinute: 1_000_000, registerPerMinute: 1_000_000 });
  capacityApi = await startTestApi(limits, { deps: { pool: capacityTestPool(), redis } });
  liveApi = await startTestApi(limits, { deps: { pool: testPool(), redis } });
});

after(async () => {
  // A safety net for a failing test only: the runs delete their own users through the API.
  await deleteUsersWithPrefix(`bench-${TAG}`);
  await capacityTestPool().query('DELETE FROM users WHERE starts_with(email, $1)', [`bench-${TAG}`]);
  await Promise.all([capacityApi.close(), liveApi.close()]);
  redis.disconnect();
  await closeTestPool();
});

function options(baseUrl: string, users: LoadTestUser[], extra: Partial<MixedLoadOptions> = {}): MixedLoadOptions {
  return {
    search: {
      baseUrl, users: 2, seconds: 4, ratePerUser: 2, limit: 5, queries: ['docker compose healthcheck', 'react useEffect twice'],
      runTag: `${TAG}-${runs++}`, onUserRegistered: (u) => users.push(u),
    },
    // 120 a minute at most 20 each: 6 writers, one write every 3 s each, staggered 0.5 s apart.
    writesPerMinute: 120,
    maxPerWriterPerMinute: 20,
    graceSeconds: 30,
    pollMs: 100,
    backfill: { batchSize: 4, idleMs: 200 },
    pool: capacityTestPool(),
    embedder: new LocalEmbedder(),
    ...extra,
  };
}

const writerIds = (users: LoadTestUser[]) => users.filter((u) => /-w\d+@/.test(u.email)).map((u) => u.userId);
const tracesOf = async (pool: ReturnType<typeof testPool>, contributors: string[]) =>
  (await pool.query<{ n: number; embedded: number }>(
    `SELECT count(*)::int AS n, (count(*) FILTER (WHERE embedding IS NOT NULL AND embedding_model_id = $2))::int AS embedded
       FROM traces WHERE contributor_id = ANY($1::uuid[])`,
    [contributors, new LocalEmbedder().modelId],
  )).rows[0]!;
const usersIn = async (pool: ReturnType<typeof testPool>, users: LoadTestUser[]) =>
  (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE id = ANY($1::uuid[]) OR email = ANY($2::text[])', [
    users.map((u) => u.userId), users.map((u) => u.email),
  ])).rows[0]!.n;

test('a few seconds of search while writing: every write lands in the capacity database, is embedded and found, and nothing is left', async () => {
  const users: LoadTestUser[] = [];
  let before: { n: number; embedded: number } | undefined;
  const r = await runMixedLoad(options(capacityApi.url, users, {
    beforeCleanup: async () => void (before = await tracesOf(capacityTestPool(), writerIds(users))),
  }));
  // 6 writers (one every 3 s, staggered by 0.5 s) in 4 s: each writes at 0–2.5 s, writers 0 and 1 again at 3 and 3.5 s.
  assert.equal(writerIds(users).length, 6);
  assert.equal(r.writes.writers, 6);
  assert.equal(r.writes.planned, 8);
  assert.equal(r.writes.ok, 8, JSON.stringify(r.writes));
  assert.deepEqual(r.writes.statusCodes, { '201': 8 });
  // From the rows, before the writers were deleted: as many contributions as reported, all embedded by the backfill.
  assert.deepEqual(before, { n: 8, embedded: 8 });
  assert.equal(r.delay.contributions, 8);
  assert.equal(r.delay.searchable, 8, JSON.stringify(r.delay));
  assert.equal(r.delay.neverSearchable, 0);
  assert.equal(r.delay.checkErrors, 0);
  assert.ok(r.delay.p50Ms !== null && r.delay.maxMs !== null && r.delay.p50Ms <= r.delay.maxMs);
  assert.ok(r.backfill.embedded >= 8 && r.backfill.errors === 0, JSON.stringify(r.backfill));
  // The search load ran alongside, with its own users.
  assert.equal(r.read.users, 2);
  assert.ok(r.read.ok > 0 && r.read.non2xx === 0 && r.read.errors === 0, JSON.stringify(r.read.statusCodes));
  // Nothing left: no writer, no contribution in the capacity database; none ever in the live one.
  assert.deepEqual(r.cleanup, { writersDeleted: 6, contributionsLeft: 0 });
  assert.deepEqual(await tracesOf(capacityTestPool(), writerIds(users)), { n: 0, embedded: 0 });
  assert.equal(await usersIn(capacityTestPool(), users), 0);
  assert.equal(await usersIn(testPool(), users), 0);
  assert.deepEqual(await tracesOf(testPool(), writerIds(users)), { n: 0, embedded: 0 });
});

test('an API whose writes would not land in the capacity database is refused before anything is written, and its users are removed', async () => {
  const users: LoadTestUser[] = [];
  await assert.rejects(runMixedLoad(options(liveApi.url, users)), (err: Error) => err instanceof HttpTargetError && /does not write to the database the mixed phase/.test(err.message));
  assert.equal(writerIds(users).length, 6, 'the writers were registered (in the live database) before the check');
  assert.deepEqual(await tracesOf(testPool(), writerIds(users)), { n: 0, embedded: 0 });
  assert.equal(await usersIn(testPool(), users), 0);
});
