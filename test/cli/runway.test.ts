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

/**
 * Three nightly rechecks: 20,000 rows growing 5,000 a day, an index of 8,000 bytes a row against
 * shared_buffers 256 MiB, pgvector's graph estimate (7,997.6 bytes a row at 1536 dimensions) against
 * a 2 GiB build cap, a flat SQL p99 and no HTTP phase.
 */
function record(day: number): RunwayRecord {
  const rows = 20_000 + 5_000 * day;
  return {
    workflowId: `runway-test-recheck-${day}`,
    benchmarkRunId: `00000000-0000-4000-8000-00000000000${day}`,
    measuredAt: new Date(START + day * DAY).toISOString(),
    rows,
    indexBytes: 8_000 * rows,
    sharedBuffersBytes: 256 * MiB,
    estimatedGraphBytes: Math.round(7_997.6 * rows),
    maintenanceWorkMemBytes: 2_048 * MiB,
    buildSeconds: day === 0 ? 30.5 : null,
    p99Ms: 8,
    httpP99Ms: null,
    recallAt10: 0.982,
  };
}

const bin = (args: string[]) => run('./bin/commontrace-launch.mjs', args, { LOG_LEVEL: 'warn' });

test('rechecks stored through the activity are projected by bench report --runway (text, JSON and the HTML report)', async (t) => {
  const reportsDir = await mkdtemp(path.join(os.tmpdir(), 'runway-'));
  t.after(async () => {
    await rm(reportsDir, { recursive: true, force: true });
    await closeTestPool();
  });
  const pool = testPool();
  // The command reads every stored recheck; no other test stores any, so this test owns the table.
  await pool.query('DELETE FROM capacity_runway_samples');
  const { recordRunwaySample } = createRecheckActivities({ pool } as ActivityDeps);
  for (const day of [0, 1, 2]) await recordRunwaySample(record(day));
  // A retried store updates the recheck's row instead of adding one.
  await recordRunwaySample({ ...record(2), recallAt10: 0.981 });
  assert.equal(await scalar('SELECT count(*)::int FROM capacity_runway_samples'), 3);
  assert.equal(await scalar(`SELECT recall_at_10 FROM capacity_runway_samples WHERE workflow_id = 'runway-test-recheck-2'`), 0.981);

  const json = await bin(['bench', 'report', '--runway', '--json', '--reports-dir', reportsDir]);
  assert.equal(json.code, 0, json.stderr);
  const out = JSON.parse(json.stdout) as RunwayOutput;
  assert.equal(out.forecast.runs, 3);
  assert.equal(out.samples[0]!.measuredAt, '2026-03-01T00:00:00.000Z');
  assert.equal(out.samples[0]!.buildSeconds, 30.5);
  const byMetric = new Map(out.forecast.projections.map((p) => [p.metric, p]));
  // 256 MiB / 8,000 B = 33,554.432 rows: 2.7108864 days after March 1 at 5,000 rows a day.
  const index = byMetric.get('index-vs-shared-buffers')!;
  assert.equal(index.status, 'projected', index.reason);
  assert.ok(Math.abs(Date.parse(index.at!) - Date.parse('2026-03-03T17:03:40.585Z')) <= 1, index.at!);
  // 2 GiB / 7,997.6 B = 268,516.01 rows: 49.7032 days after March 1.
  const graph = byMetric.get('graph-vs-maintenance-work-mem')!;
  assert.ok(Math.abs(Date.parse(graph.at!) - Date.parse('2026-04-19T16:52:36.667Z')) <= 1, graph.at!);
  assert.equal(byMetric.get('sql-p99-vs-slo')!.status, 'not-rising');
  assert.equal(byMetric.get('http-p99-vs-slo')!.status, 'not-enough-runs');
  assert.equal(out.html, path.join(reportsDir, 'runway', 'runway.html'));

  const text = await bin(['bench', 'report', '--runway', '--reports-dir', reportsDir]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^capacity runway: 3 capacity re-check run\(s\) from 2026-03-01 to 2026-03-03, latest 30,000 rows; rows grow by 5,000 a day/m);
  assert.match(text.stdout, /^index size reaches shared_buffers\s+229 MiB\s+256 MiB\s+7\.81 KiB\/row\s+33,554\s+2026-03-03\s+projected\s/m);
  assert.match(text.stdout, /^index build spills past maintenance_work_mem\s+.*\s+268,516\s+2026-04-19\s+projected\s/m);
  assert.match(text.stdout, /^SQL p99 reaches the SLO\s+8\.00 ms\s+50\.00 ms\s+0\.00 ms per ln\(rows\)\s+—\s+—\s+not-rising\s+the fit does not rise/m);
  assert.match(text.stdout, new RegExp(`^report: ${out.html.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  const html = await readFile(out.html, 'utf8');
  assert.equal(html.match(/<svg/g)?.length, 4);
  // Each limit is drawn into its chart.
  for (const label of ['limit: 256 MiB', 'limit: 2 GiB', 'limit: SLO 50 ms']) assert.ok(html.includes(`>${label}</text>`), label);
  assert.match(html, /<td>2026-03-03<\/td>/);

  const misuse = await bin(['bench', 'report', 'latest', '--runway']);
  assert.equal(misuse.code, 2);
  assert.match(misuse.stderr, /--runway reads every stored re-check run: give it no run and no --compare/);
});
