import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IndexBuildReport } from '../../src/capacity/index-build.js';
import type { BenchmarkReport } from '../../src/report/schema.js';
import { fitLine } from '../../src/benchmark/least-squares.js';
import { projectRunway, type Projection, type RunwayMetric, type RunwaySample } from '../../src/benchmark/runway.js';
import { runwaySampleOf } from '../../src/workflows/capacity-recheck.js';

const MiB = 1024 * 1024;
const DAY = 86_400_000;
const START = Date.parse('2026-01-01T00:00:00.000Z');

/**
 * A synthetic history with known answers: 1,000 rows on 2026-01-01 growing exactly 10,000 a day,
 * an index of exactly 6,000 bytes a row against shared_buffers 128 MiB, a build graph of exactly
 * 8,000 bytes a row against a 256 MiB maintenance_work_mem, SQL p99 = 10·ln(rows) − 60 ms.
 */
function sample(day: number, rows: number, over: Partial<RunwaySample> = {}): RunwaySample {
  return {
    measuredAt: new Date(START + day * DAY).toISOString(),
    rows,
    indexBytes: 6_000 * rows,
    sharedBuffersBytes: 128 * MiB,
    estimatedGraphBytes: 8_000 * rows,
    maintenanceWorkMemBytes: 256 * MiB,
    buildSeconds: 1,
    p99Ms: 10 * Math.log(rows) - 60,
    httpP99Ms: null,
    recallAt10: 0.97,
    ...over,
  };
}

const EXACT = [sample(0, 1_000), sample(1, 11_000), sample(2, 21_000)];

const byMetric = (projections: Projection[], metric: RunwayMetric) => projections.find((p) => p.metric === metric)!;

function assertAt(p: Projection, expected: string) {
  assert.equal(p.status, 'projected', p.reason);
  assert.equal(p.date, expected.slice(0, 10));
  // Least squares over exact data reproduces the line up to floating-point rounding: within 1 ms.
  assert.ok(Math.abs(Date.parse(p.at!) - Date.parse(expected)) <= 1, `${p.metric}: ${p.at} vs ${expected}`);
}

test('fitLine: least squares over points with known coefficients, null when x does not vary', () => {
  assert.deepEqual(fitLine([{ x: 0, y: 3 }, { x: 1, y: 5 }, { x: 2, y: 7 }]), { intercept: 3, slope: 2 });
  // y = 1 + x with residuals +1, −1, −1, +1: orthogonal to both 1 and x, so the fit is still 1 + x.
  assert.deepEqual(fitLine([{ x: 0, y: 2 }, { x: 1, y: 1 }, { x: 2, y: 2 }, { x: 3, y: 5 }]), { intercept: 1, slope: 1 });
  assert.equal(fitLine([{ x: 4, y: 1 }, { x: 4, y: 9 }]), null);
  assert.equal(fitLine([{ x: 4, y: 1 }]), null);
});

test('a history with known answers projects each limit to the date computed by hand', () => {
  const f = projectRunway(EXACT);
  assert.equal(f.runs, 3);
  assert.equal(f.latestRows, 21_000);
  assert.ok(Math.abs(f.growth.rowsPerDay! - 10_000) < 1e-6);
  // 128 MiB / 6,000 B = 22,369.62 rows; (22,369.62 − 1,000) / 10,000 a day = 2.136962 days after Jan 1.
  const index = byMetric(f.projections, 'index-vs-shared-buffers');
  assert.ok(Math.abs(index.crossingRows! - 22_369.621333) < 1e-3);
  assertAt(index, '2026-01-03T03:17:13.528Z');
  // 256 MiB / 8,000 B = 33,554.432 rows; 3.2554432 days after Jan 1.
  assertAt(byMetric(f.projections, 'graph-vs-maintenance-work-mem'), '2026-01-04T06:07:50.292Z');
  // 10·ln(rows) − 60 = 50 at ln(rows) = 11: e^11 = 59,874.14 rows; 5.887414 days after Jan 1.
  const p99 = byMetric(f.projections, 'sql-p99-vs-slo');
  assert.equal(p99.limit, 50);
  assert.ok(Math.abs(p99.crossingRows! - 59_874.141715) < 1e-3);
  assertAt(p99, '2026-01-06T21:17:52.584Z');
  const http = byMetric(f.projections, 'http-p99-vs-slo');
  assert.equal(http.status, 'not-enough-runs');
  assert.equal(http.date, null);
});

test('the fits are least squares over every run, not a line through two of them, and the input order does not matter', () => {
  // Rows off the line by +2,000, −2,000, −2,000, +2,000 (orthogonal to 1 and the day): the same growth fit.
  const noisy = [sample(3, 33_000), sample(0, 3_000), sample(2, 19_000), sample(1, 9_000)];
  const f = projectRunway(noisy);
  assert.ok(Math.abs(f.growth.rowsPerDay! - 10_000) < 1e-6);
  assert.equal(f.latestRows, 33_000);
  // The index fit is exact (6,000 bytes a row); the latest run is already past 128 MiB (198 MB).
  assert.equal(byMetric(f.projections, 'index-vs-shared-buffers').status, 'already-past');
  // 33,554.432 rows at 1,000 + 10,000 a day, as before.
  assertAt(byMetric(f.projections, 'graph-vs-maintenance-work-mem'), '2026-01-04T06:07:50.292Z');
});

test('degenerate histories say why there is no date instead of inventing one', () => {
  const cases: { name: string; samples: RunwaySample[]; metric: RunwayMetric; status: Projection['status']; reason: RegExp }[] = [
    { name: 'no runs', samples: [], metric: 'index-vs-shared-buffers', status: 'not-enough-runs', reason: /no stored run/ },
    { name: 'two runs', samples: EXACT.slice(0, 2), metric: 'index-vs-shared-buffers', status: 'not-enough-runs', reason: /^2 run\(s\) stored; a trend needs at least 3$/ },
    {
      name: 'one instant', samples: [sample(0, 1_000), sample(0, 2_000), sample(0, 3_000)], metric: 'sql-p99-vs-slo', status: 'not-enough-runs',
      reason: /every run was measured at the same time/,
    },
    {
      name: 'constant rows', samples: [sample(0, 5_000), sample(1, 5_000), sample(2, 5_000)], metric: 'index-vs-shared-buffers', status: 'no-growth',
      reason: /^no growth: the rows stayed at 5,000 in every run$/,
    },
    {
      name: 'shrinking rows', samples: [sample(0, 21_000), sample(1, 11_000), sample(2, 1_000)], metric: 'graph-vs-maintenance-work-mem', status: 'no-growth',
      reason: /^no growth: the rows shrink by 10,000 a day$/,
    },
    {
      name: 'already past', samples: [sample(0, 30_000)], metric: 'index-vs-shared-buffers', status: 'already-past',
      reason: /latest run \(2026-01-01, 30,000 rows\) is already at or over the limit/,
    },
    {
      name: 'p99 falls with rows', samples: EXACT.map((s, i) => ({ ...s, p99Ms: 30 - i })), metric: 'sql-p99-vs-slo', status: 'not-rising',
      reason: /does not rise/,
    },
    {
      name: 'flat p99', samples: EXACT.map((s) => ({ ...s, p99Ms: 12 })), metric: 'sql-p99-vs-slo', status: 'not-rising', reason: /does not rise/,
    },
    {
      // Index 0, 200, 90 bytes against a 100-byte limit: the fit (47.2 + 0.0045·rows) crosses at 11,741 rows, below 21,000.
      name: 'noisy crossing below the latest rows',
      samples: [0, 200, 90].map((bytes, i) => ({ ...EXACT[i]!, indexBytes: bytes, sharedBuffersBytes: 100 })),
      metric: 'index-vs-shared-buffers', status: 'inconsistent', reason: /at 11,741 rows, below the latest run's 21,000/,
    },
    {
      name: 'HTTP p99 in one run only', samples: EXACT.map((s, i) => ({ ...s, httpP99Ms: i === 2 ? 20 : null })), metric: 'http-p99-vs-slo',
      status: 'not-enough-runs', reason: /^1 run\(s\) with this figure at 1 row count\(s\)/,
    },
    {
      // p99 rising 1e-9 ms per ln(row): the crossing needs e^(1e10) rows.
      name: 'crossing beyond any date', samples: EXACT.map((s) => ({ ...s, p99Ms: 10 + 1e-9 * Math.log(s.rows) })), metric: 'sql-p99-vs-slo',
      status: 'beyond-horizon', reason: /too far ahead/,
    },
  ];
  for (const c of cases) {
    const p = byMetric(projectRunway(c.samples).projections, c.metric);
    assert.equal(p.status, c.status, `${c.name}: ${p.reason}`);
    assert.match(p.reason, c.reason, c.name);
    assert.equal(p.date, null, c.name);
    assert.equal(p.at, null, c.name);
  }
});

test('runwaySampleOf takes the figures from the index build and the benchmark at the production ef_search', () => {
  const index = {
    built: false, rows: 20_330, indexBytes: 164_000_000, sharedBuffersBytes: 2 * 1024 * MiB, estimatedGraphBytes: 211_000_000,
    maintenanceWorkMemBytes: 211_000_000, maintenanceWorkMemCapBytes: 2 * 1024 * MiB, buildSeconds: 0,
  } as IndexBuildReport;
  const report = {
    createdAt: '2026-12-04T03:10:00.000Z',
    method: { productionEfSearch: 128 },
    serial: [
      { efSearch: 64, latency: { p99: 3 }, recall: { mean: 0.9 } },
      { efSearch: 128, latency: { p99: 7.5 }, recall: { mean: 0.985 } },
    ],
    http: { latency: { p99: 21.25 } },
  } as unknown as BenchmarkReport;
  assert.deepEqual(runwaySampleOf(index, report), {
    measuredAt: '2026-12-04T03:10:00.000Z', rows: 20_330, indexBytes: 164_000_000, sharedBuffersBytes: 2_147_483_648,
    estimatedGraphBytes: 211_000_000, maintenanceWorkMemBytes: 2_147_483_648, buildSeconds: null, p99Ms: 7.5, httpP99Ms: 21.25, recallAt10: 0.985,
  });
  assert.equal(runwaySampleOf({ ...index, built: true, buildSeconds: 41.2 }, { ...report, http: null } as unknown as BenchmarkReport).buildSeconds, 41.2);
});
