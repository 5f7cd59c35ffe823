import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IndexBuildReport } from '../../../src/capacity/index-build.js';
import type { BenchmarkReport } from '../../../src/report/schema.js';
import { fitLine, fitThroughOrigin } from '../../../src/benchmark/least-squares.js';
import { projectRunway, type Projection, type RunwayMetric, type RunwaySample } from '../../../src/benchmark/runway.js';
import { runwaySampleOf } from '../../../src/workflows/capacity-recheck.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const DAY = 86_400_000;
const START = Date.parse('2026-01-01T00:00:00.000Z');

/**
 * A synthetic history with known answers: production's live rows at 20,000 on 2026-01-01 growing
 * exactly 5,000 a day, re-checks at 10,000, 20,000 and 40,000 capacity rows measuring an index of
 * exactly 6,000 bytes a row against shared_buffers 1 GiB, a build graph of exactly 8,000 bytes a row
 * against a 2 GiB maintenance_work_mem, and SQL p99 = 10·ln(rows) − 60 ms.
 */
function sample(day: number, capacityRows: number, over: Partial<RunwaySample> = {}): RunwaySample {
  return {
    measuredAt: new Date(START + day * DAY).toISOString(),
    liveRows: 20_000 + 5_000 * day,
    capacityRows,
    indexBytes: 6_000 * capacityRows,
    sharedBuffersBytes: GiB,
    estimatedGraphBytes: 8_000 * capacityRows,
    maintenanceWorkMemBytes: 2 * GiB,
    buildSeconds: 1,
    p99Ms: 10 * Math.log(capacityRows) - 60,
    httpP99Ms: null,
    recallAt10: 0.97,
    ...over,
  };
}

const EXACT = [sample(0, 10_000), sample(1, 20_000), sample(2, 40_000)];

const byMetric = (projections: Projection[], metric: RunwayMetric) => projections.find((p) => p.metric === metric)!;

function assertAt(p: Projection, expected: string) {
  assert.equal(p.status, 'projected', p.reason);
  assert.equal(p.date, expected.slice(0, 10));
  // Least squares over exact data reproduces the line up to floating-point rounding: within 1 ms.
  assert.ok(Math.abs(Date.parse(p.at!) - Date.parse(expected)) <= 1, `${p.metric}: ${p.at} vs ${expected}`);
}

test('fitLine and fitThroughOrigin: least squares over points with known coefficients, null when they cannot fit', () => {
  assert.deepEqual(fitLine([{ x: 0, y: 3 }, { x: 1, y: 5 }, { x: 2, y: 7 }]), { intercept: 3, slope: 2 });
  // y = 1 + x with residuals +1, −1, −1, +1: orthogonal to both 1 and x, so the fit is still 1 + x.
  assert.deepEqual(fitLine([{ x: 0, y: 2 }, { x: 1, y: 1 }, { x: 2, y: 2 }, { x: 3, y: 5 }]), { intercept: 1, slope: 1 });
  assert.equal(fitLine([{ x: 4, y: 1 }, { x: 4, y: 9 }]), null);
  assert.equal(fitLine([{ x: 4, y: 1 }]), null);
  // Σxy / Σx² = (1·3 + 2·5) / (1 + 4) = 13 / 5.
  assert.equal(fitThroughOrigin([{ x: 1, y: 3 }, { x: 2, y: 5 }]), 2.6);
  assert.equal(fitThroughOrigin([{ x: 10, y: 60 }]), 6);
  assert.equal(fitThroughOrigin([{ x: 0, y: 5 }]), null);
  assert.equal(fitThroughOrigin([]), null);
});

test('a history with known answers projects each limit to the date production\'s growth reaches it, computed by hand', () => {
  const f = projectRunway(EXACT);
  assert.equal(f.runs, 3);
  assert.equal(f.latestLiveRows, 30_000);
  assert.equal(f.largestCapacityRows, 40_000);
  assert.deepEqual(f.notes, []);
  assert.ok(Math.abs(f.growth.rowsPerDay! - 5_000) < 1e-6);
  // 1 GiB / 6,000 B = 178,956.97 rows; (178,956.97 − 20,000) / 5,000 a day = 31.791394 days after Jan 1.
  const index = byMetric(f.projections, 'index-vs-shared-buffers');
  assert.ok(Math.abs(index.fit!.slope - 6_000) < 1e-9);
  assert.equal(index.fit!.intercept, 0);
  assert.ok(Math.abs(index.crossingRows! - 178_956.970667) < 1e-3);
  assertAt(index, '2026-02-01T18:59:36.453Z');
  // 2 GiB / 8,000 B = 268,435.456 rows; 49.6870912 days after Jan 1.
  assertAt(byMetric(f.projections, 'graph-vs-maintenance-work-mem'), '2026-02-19T16:29:24.679Z');
  // 10·ln(rows) − 60 = 50 at ln(rows) = 11: e^11 = 59,874.14 rows; 7.974828 days after Jan 1.
  const p99 = byMetric(f.projections, 'sql-p99-vs-slo');
  assert.equal(p99.limit, 50);
  assert.ok(Math.abs(p99.crossingRows! - 59_874.141715) < 1e-3);
  assertAt(p99, '2026-01-08T23:23:45.168Z');
  const http = byMetric(f.projections, 'http-p99-vs-slo');
  assert.equal(http.status, 'not-enough-runs');
  assert.equal(http.date, null);
});

test('re-checks at one fixed size still date the sizes from production\'s growth, and say what the p99 projection needs', () => {
  // The nightly case: every re-check at 20,000 capacity rows; production 20,000 rows growing 5,000 a day, sampled every 0.1 day.
  const f = projectRunway([0, 0.1, 0.2].map((day) => sample(day, 20_000, { sharedBuffersBytes: 128 * MiB })));
  // 128 MiB / 6,000 B = 22,369.62 rows; (22,369.62 − 20,000) / 5,000 a day = 0.473924 days after Jan 1.
  assertAt(byMetric(f.projections, 'index-vs-shared-buffers'), '2026-01-01T11:22:27.056Z');
  const p99 = byMetric(f.projections, 'sql-p99-vs-slo');
  assert.equal(p99.status, 'one-dataset-size');
  assert.equal(p99.date, null);
  assert.match(p99.reason, /one dataset size \(20,000 rows\): projecting p99 over rows needs re-checks at 2 or more dataset sizes; run capacityRecheck --traces N \(schedule create --traces N\) with another N$/);
  // Production's 21,000 rows outgrew the 20,000-row benchmark.
  assert.equal(f.notes.length, 1);
  assert.match(f.notes[0]!, /^production's 21,000 rows exceed the largest re-checked dataset \(20,000 rows\): the benchmark no longer covers production's size/);
});

test('the fits are least squares over every sample, not a line through two of them, and the input order does not matter', () => {
  // Live rows off the line by +2,000, −2,000, −2,000, +2,000 (orthogonal to 1 and the day): the same growth fit.
  const off = [2_000, -2_000, -2_000, 2_000];
  const noisy = [3, 0, 2, 1].map((day) => sample(day, 40_000, { liveRows: 20_000 + 5_000 * day + off[day]! }));
  // Two more re-checks, on the growth line, with index sizes of 5,000 and 7,000 bytes a row at 10,000 and 20,000 rows.
  noisy.push(sample(1.5, 10_000, { indexBytes: 50_000_000, liveRows: 27_500 }), sample(1.5, 20_000, { indexBytes: 140_000_000, liveRows: 27_500 }));
  const f = projectRunway(noisy);
  assert.ok(Math.abs(f.growth.rowsPerDay! - 5_000) < 1e-6);
  assert.equal(f.latestLiveRows, 37_000);
  // 2 GiB / 8,000 B = 268,435.456 rows at 20,000 + 5,000 a day, as before.
  assertAt(byMetric(f.projections, 'graph-vs-maintenance-work-mem'), '2026-02-19T16:29:24.679Z');
  const index = byMetric(f.projections, 'index-vs-shared-buffers');
  // Through the origin: Σxy = 10k·50M + 20k·140M + 4 × 40k·240M = 41.7e12; Σx² = 1e8 + 4e8 + 4 × 16e8 = 69e8: 6,043.48 B a row.
  assert.ok(Math.abs(index.fit!.slope - 6_043.478261) < 1e-5);
});

test('degenerate histories say why there is no date instead of inventing one', () => {
  const cases: { name: string; samples: RunwaySample[]; metric: RunwayMetric; status: Projection['status']; reason: RegExp }[] = [
    { name: 'no samples', samples: [], metric: 'index-vs-shared-buffers', status: 'not-enough-runs', reason: /no stored sample/ },
    {
      name: 'two samples', samples: EXACT.slice(0, 2), metric: 'index-vs-shared-buffers', status: 'not-enough-runs',
      reason: /^reached at 178,957 rows; 2 sample\(s\) stored; a growth trend needs at least 3$/,
    },
    {
      name: 'one instant', samples: [sample(0, 10_000), sample(0, 20_000), sample(0, 40_000)], metric: 'sql-p99-vs-slo', status: 'not-enough-runs',
      reason: /every sample was taken at the same time/,
    },
    {
      name: 'production does not grow', samples: EXACT.map((s) => ({ ...s, liveRows: 5_000 })), metric: 'index-vs-shared-buffers', status: 'no-growth',
      reason: /^reached at 178,957 rows; no growth: production stayed at 5,000 rows in every sample$/,
    },
    {
      name: 'production shrinks', samples: EXACT.map((s, i) => ({ ...s, liveRows: 30_000 - 10_000 * i })), metric: 'graph-vs-maintenance-work-mem',
      status: 'no-growth', reason: /no growth: production shrinks by 10,000 rows a day$/,
    },
    {
      // 128 MiB / 6,000 B = 22,369.62 rows, and production has 30,000.
      name: 'production already past', samples: EXACT.map((s) => ({ ...s, sharedBuffersBytes: 128 * MiB })), metric: 'index-vs-shared-buffers',
      status: 'already-past', reason: /^production's 30,000 rows are past the 22,370 rows at which it reaches the limit$/,
    },
    {
      name: 'p99 over the SLO at one size production has reached', samples: [0, 1, 2].map((d) => sample(d, 20_000, { p99Ms: 55 })),
      metric: 'sql-p99-vs-slo', status: 'already-past', reason: /measured it at or over the limit at 20,000 rows, and production has 30,000$/,
    },
    {
      name: 'p99 falls with rows', samples: EXACT.map((s, i) => ({ ...s, p99Ms: 30 - i })), metric: 'sql-p99-vs-slo', status: 'not-rising',
      reason: /does not rise/,
    },
    { name: 'flat p99', samples: EXACT.map((s) => ({ ...s, p99Ms: 12 })), metric: 'sql-p99-vs-slo', status: 'not-rising', reason: /does not rise/ },
    { name: 'no bytes per row', samples: EXACT.map((s) => ({ ...s, indexBytes: 0 })), metric: 'index-vs-shared-buffers', status: 'not-rising', reason: /no positive bytes per row/ },
    {
      // p99 10, 80, 45 ms at 10k, 20k, 40k rows: slope 17.5/ln 2 per ln(rows) through (ln 20k, 45), so 50 ms at 20,000 · 2^(2/7) = 24,380 rows,
      // below the 40,000-row re-check that measured 45 ms.
      name: 'noisy crossing below a re-check under the limit', samples: [10, 80, 45].map((p99Ms, i) => ({ ...EXACT[i]!, p99Ms })),
      metric: 'sql-p99-vs-slo', status: 'inconsistent', reason: /at 24,380 rows, below the 40,000-row re-check that measured it under the limit/,
    },
    {
      name: 'HTTP p99 in one sample only', samples: EXACT.map((s, i) => ({ ...s, httpP99Ms: i === 2 ? 20 : null })), metric: 'http-p99-vs-slo',
      status: 'one-dataset-size', reason: /one dataset size \(40,000 rows\)/,
    },
    {
      // p99 rising 1e-9 ms per ln(row): the crossing needs e^(4e10) rows.
      name: 'crossing beyond any date', samples: EXACT.map((s) => ({ ...s, p99Ms: 10 + 1e-9 * Math.log(s.capacityRows) })), metric: 'sql-p99-vs-slo',
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
    measuredAt: '2026-12-04T03:10:00.000Z', capacityRows: 20_330, indexBytes: 164_000_000, sharedBuffersBytes: 2_147_483_648,
    estimatedGraphBytes: 211_000_000, maintenanceWorkMemBytes: 2_147_483_648, buildSeconds: null, p99Ms: 7.5, httpP99Ms: 21.25, recallAt10: 0.985,
  });
  assert.equal(runwaySampleOf({ ...index, built: true, buildSeconds: 41.2 }, { ...report, http: null } as unknown as BenchmarkReport).buildSeconds, 41.2);
});
