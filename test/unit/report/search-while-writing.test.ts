import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { searchBenchmarkInput } from '../../../src/cli/benchmark.js';
import { parseReport, type BenchmarkReport, type MixedFigures } from '../../../src/report/schema.js';
import { writeReportFiles } from '../../../src/report/write.js';
import { sampleReport } from '../../helpers/bench.js';

let dir: string;
before(async () => void (dir = await mkdtemp(path.join(os.tmpdir(), 'mixed-report-'))));
after(() => rm(dir, { recursive: true, force: true }));

const window = (startSeconds: number) => ({ startSeconds, seconds: 5, count: 1500, errors: 0, qps: 300, p50: 16, p99: 30 });

function withMixed(name: string): BenchmarkReport {
  const report = sampleReport(name);
  const mixed: MixedFigures = {
    read: {
      ...report.http!,
      qps: 299.5,
      latency: { count: 9000, mean: 17, min: 8, p50: 16, p95: 23, p99: 30, p999: 39, max: 48 },
      windows: [0, 5, 10, 15, 20, 25].map(window),
    },
    writes: {
      writers: 4, perWriterPerMinute: 15, intervalMs: 4_000, writesPerMinute: 60, planned: 30, requests: 30, ok: 30, non2xx: 0, errors: 0,
      statusCodes: { '201': 30 }, latency: { count: 30, mean: 5, min: 3, p50: 4, p95: 7, p99: 9, p999: 9, max: 9 },
      rateLimitPolicy: '"write";q=20;w=60', scheduleLagP99Ms: 1.2,
    },
    delay: { contributions: 30, searchable: 29, neverSearchable: 1, p50Ms: 850, p95Ms: 1_400, maxMs: 2_100, pollMs: 250, graceSeconds: 30, embeddedNotFound: 1, probes: 31, checkErrors: 0 },
    backfill: { batchSize: 256, idleMs: 1_000, batches: 28, embedded: 30, errors: 0, lastError: null },
    cleanup: { writersDeleted: 4, contributionsLeft: 0 },
  };
  return { ...report, mixed };
}

test('the Search while writing section: reads under writes beside the read-only phase, then the writes and their delay', async () => {
  const report = withMixed('run-mixed');
  const files = await writeReportFiles(report, dir);
  assert.deepEqual(parseReport(JSON.parse(await readFile(files.json, 'utf8')), 'report.json'), report);
  const md = await readFile(files.markdown, 'utf8');
  assert.match(md, /## Search while writing: read latency under writes/);
  assert.ok(md.includes('| read-only (HTTP load) | 9000 | 9000 | 0 | 300.0 | 15.00 | 19.75 | 24.50 | 39.20 | 1.00 × | steady | valid |'), md);
  assert.ok(md.includes('| while writing | 9000 | 9000 | 0 | 299.5 | 16.00 | 23.00 | 30.00 | 48.00 | 1.22 × | steady | valid |'), md);
  assert.match(md, /## Search while writing: contributions and their delay to searchable/);
  for (const row of [
    '| write rate | 60/min over 4 writers (15.0/min each, one every 4.0 s); quota "write";q=20;w=60 |',
    '| writes | 30 scheduled, 30 sent, 30 2xx, 0 non-2xx, 0 errors (201: 30) |',
    '| searchable | 29 of 30 |',
    '| delay to searchable p50 / p95 / max | 850.0 / 1400.0 / 2100.0 ms |',
    '| never searchable (phase + grace) | 1 (1 embedded but not found by search) |',
    '| embedding backfill | 28 batches, 30 rows embedded, 0 errors |',
    '| cleanup | 4 of 4 writers deleted, 0 contributions left |',
  ]) assert.ok(md.includes(row), row);
  // Information only: no verdict row names it.
  assert.equal(report.checks.some((c) => /writ/i.test(c.name)), false);

  const csv = (await readFile(files.csv, 'utf8')).trim().split('\n');
  const mixedRows = csv.filter((l) => l.startsWith('http-mixed,'));
  assert.deepEqual(mixedRows, [0, 5, 10, 15, 20, 25].map((s) => `http-mixed,closed-loop,10,${s},5,1500,0,300,16,30`));
  const html = await readFile(files.html, 'utf8');
  assert.ok(html.includes('HTTP load while writing (closed-loop, 10 users)'), 'the chart has a line for the load while writing');
});

test('a report from before the mixed phase still parses, and shows no Search while writing section', async () => {
  const old = sampleReport('run-old') as Partial<BenchmarkReport>;
  delete old.mixed;
  assert.equal('mixed' in parseReport(old, 'old'), false);
  const md = await readFile((await writeReportFiles(parseReport(old, 'old'), dir)).markdown, 'utf8');
  assert.doesNotMatch(md, /Search while writing/);
});

test('bench search --mixed asks for the HTTP load with writes; --writes-per-minute implies --mixed', () => {
  assert.deepEqual(searchBenchmarkInput({ prewarm: true, waitWorker: 0, mixed: true }), { prewarm: true, http: {}, mixed: {} });
  assert.deepEqual(searchBenchmarkInput({ prewarm: true, waitWorker: 0, writesPerMinute: 30 }), { prewarm: true, http: {}, mixed: { writesPerMinute: 30 } });
  assert.deepEqual(searchBenchmarkInput({ prewarm: true, waitWorker: 0, httpUrl: 'http://x:1', mixed: true }), { prewarm: true, http: { baseUrl: 'http://x:1' }, mixed: {} });
  assert.equal('mixed' in searchBenchmarkInput({ prewarm: true, waitWorker: 0, http: true }), false);
});
