import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRecheckActivities } from '../../src/activities/recheck.js';
import type { ActivityDeps } from '../../src/activities/deps.js';
import type { RunwayRecord } from '../../src/benchmark/runway.js';
import type { RunwayOutput } from '../../src/cli/runway.js';
import { run } from '../helpers/cli.js';
import { closeTestPool, scalar, testPool } from '../helpers/db.js';

const MiB = 1024 * 1024;
const DAY = 86_400_000;
const START = Date.parse('2026-03-01T00:00:00.000Z');
/** Live traces the test adds between two stores: production growing exactly this many rows a day. */
const GROWTH = 100;

/**
 * Three nightly rechecks at a fixed 20,000-row capacity dataset: an index of 8,000 bytes a row
 * against shared_buffers 256 MiB, pgvector's graph estimate (7,997.6 bytes a row at 1536 dimensions)
 * against a 2 GiB build cap, a flat SQL p99 and no HTTP phase. The activity adds the live rows.
 */
function record(day: number): RunwayRecord {
  const capacityRows = 20_000;
  return {
    workflowId: `runway-test-recheck-${day}`,
    benchmarkRunId: `00000000-0000-4000-8000-00000000000${day}`,
    measuredAt: new Date(START + day * DAY).toISOString(),
    capacityRows,
    indexBytes: 8_000 * capacityRows,
    sharedBuffersBytes: 256 * MiB,
    estimatedGraphBytes: Math.round(7_997.6 * capacityRows),
    maintenanceWorkMemBytes: 2_048 * MiB,
    buildSeconds: day === 0 ? 30.5 : null,
    p99Ms: 8,
    httpP99Ms: null,
    recallAt10: 0.982,
  };
}

const bin = (args: string[]) => run('./bin/commontrace-launch.mjs', args, { LOG_LEVEL: 'warn' });

test('rechecks stored through the activity, with the live rows it counts, are projected by bench report --runway (text, JSON, HTML)', async (t) => {
  const reportsDir = await mkdtemp(path.join(os.tmpdir(), 'runway-'));
  const pool = testPool();
  const { rows: users } = await pool.query<{ id: string }>(`INSERT INTO users (email) VALUES ('runway-live@test.invalid') RETURNING id`);
  const contributor = users[0]!.id;
  t.after(async () => {
    await rm(reportsDir, { recursive: true, force: true });
    // The contributor's traces cascade.
    await pool.query('DELETE FROM users WHERE id = $1', [contributor]);
    await closeTestPool();
  });
  /** Production grows: `n` embedded live traces, and one not yet embedded (the index does not cover it, so it is not counted). */
  const addLiveTraces = (n: number) => pool.query(
    `INSERT INTO traces (title, context_text, solution_text, contributor_id, embedding)
     SELECT 'runway ' || g, 'c', 's', $1, CASE WHEN g <= $2 THEN array_fill(0.1::real, ARRAY[1536])::vector END
       FROM generate_series(1, $2 + 1) g`,
    [contributor, n],
  );
  // The command reads every stored recheck; no other test stores any, so this test owns the table.
  await pool.query('DELETE FROM capacity_runway_samples');
  const live0 = await scalar('SELECT count(*)::int FROM traces WHERE embedding IS NOT NULL');
  const { recordRunwaySample } = createRecheckActivities({ pool } as ActivityDeps);
  for (const day of [0, 1, 2]) {
    if (day > 0) await addLiveTraces(GROWTH);
    assert.deepEqual(await recordRunwaySample(record(day)), { liveRows: live0 + day * GROWTH });
  }
  // A retried store updates the recheck's row instead of adding one.
  await recordRunwaySample({ ...record(2), recallAt10: 0.981 });
  assert.equal(await scalar('SELECT count(*)::int FROM capacity_runway_samples'), 3);
  assert.equal(await scalar(`SELECT recall_at_10 FROM capacity_runway_samples WHERE workflow_id = 'runway-test-recheck-2'`), 0.981);
  assert.deepEqual(
    (await pool.query('SELECT live_rows, capacity_rows FROM capacity_runway_samples ORDER BY measured_at')).rows,
    [0, 1, 2].map((day) => ({ live_rows: live0 + day * GROWTH, capacity_rows: 20_000 })),
  );

  const json = await bin(['bench', 'report', '--runway', '--json', '--reports-dir', reportsDir]);
  assert.equal(json.code, 0, json.stderr);
  const out = JSON.parse(json.stdout) as RunwayOutput;
  assert.equal(out.forecast.runs, 3);
  assert.equal(out.samples[0]!.measuredAt, '2026-03-01T00:00:00.000Z');
  assert.equal(out.samples[0]!.buildSeconds, 30.5);
  assert.ok(Math.abs(out.forecast.growth.rowsPerDay! - GROWTH) < 1e-9);
  const byMetric = new Map(out.forecast.projections.map((p) => [p.metric, p]));
  // 256 MiB / 8,000 B = 33,554.432 rows, reached (33,554.432 − live0) / 100 days after March 1.
  const index = byMetric.get('index-vs-shared-buffers')!;
  assert.equal(index.status, 'projected', index.reason);
  assert.ok(Math.abs(index.crossingRows! - 33_554.432) < 1e-6);
  assert.ok(Math.abs(Date.parse(index.at!) - (START + ((33_554.432 - live0) / GROWTH) * DAY)) <= 1, index.at!);
  // 2 GiB / 7,997.6 B = 268,516.01 rows.
  const graph = byMetric.get('graph-vs-maintenance-work-mem')!;
  assert.ok(Math.abs(Date.parse(graph.at!) - (START + ((2_147_483_648 / 7_997.6 - live0) / GROWTH) * DAY)) <= 1, graph.at!);
  const p99 = byMetric.get('sql-p99-vs-slo')!;
  assert.equal(p99.status, 'one-dataset-size');
  assert.equal(byMetric.get('http-p99-vs-slo')!.status, 'not-enough-runs');
  assert.equal(out.html, path.join(reportsDir, 'runway', 'runway.html'));

  const text = await bin(['bench', 'report', '--runway', '--reports-dir', reportsDir]);
  assert.equal(text.code, 0, text.stderr);
  const live = (n: number) => n.toLocaleString('en-US');
  assert.match(
    text.stdout,
    new RegExp(`^capacity runway: 3 capacity re-check sample\\(s\\) from 2026-03-01 to 2026-03-03, re-checked at up to 20,000 rows; production: ${live(live0 + 2 * GROWTH)} live rows, growing by 100 rows a day`, 'm'),
  );
  assert.match(text.stdout, new RegExp(`^index size reaches shared_buffers\\s+153 MiB\\s+20,000\\s+256 MiB\\s+7\\.81 KiB/row\\s+33,554\\s+${index.date}\\s+projected\\s`, 'm'));
  assert.match(text.stdout, new RegExp(`^index build spills past maintenance_work_mem\\s+.*\\s+268,516\\s+${graph.date}\\s+projected\\s`, 'm'));
  assert.match(text.stdout, /^SQL p99 reaches the SLO\s+8\.00 ms\s+20,000\s+50\.00 ms\s+—\s+—\s+—\s+one-dataset-size\s+every re-check measured it at one dataset size \(20,000 rows\)/m);
  assert.match(text.stdout, new RegExp(`^report: ${out.html.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  const html = await readFile(out.html, 'utf8');
  assert.equal(html.match(/<svg/g)?.length, 4);
  // Each limit is drawn into its chart; the live rows chart draws each dated crossing.
  for (const label of ['limit: 256 MiB', 'limit: 2 GiB', 'limit: SLO 50 ms', 'limit: index size reaches shared_buffers at 33,554 rows', 'limit: index build spills past maintenance_work_mem at 268,516 rows']) {
    assert.ok(html.includes(`>${label}</text>`), label);
  }
  assert.ok(html.includes(`<td>${index.date}</td>`));

  const misuse = await bin(['bench', 'report', 'latest', '--runway']);
  assert.equal(misuse.code, 2);
  assert.match(misuse.stderr, /--runway reads every stored re-check run: give it no run and no --compare/);
});
