import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderMarkdown } from '../../src/report/markdown.js';
import { parseReport, type FilteredReport } from '../../src/report/schema.js';
import { reportTables } from '../../src/report/tables.js';
import { searchBenchmarkInput } from '../../src/cli/benchmark.js';
import { sampleReport } from '../helpers/bench.js';

const latency = (p50: number, p99: number) => ({ count: 1000, mean: p50, min: p50 / 2, p50, p95: p99 * 0.8, p99, p999: p99, max: p99 * 1.5 });
const recall = (mean: number, zeroShare = 0) => ({ queries: 1000, mean, p5: 0.7, min: 0.3, zeroShare });
const groundTruth = (cached: boolean) => ({ cacheKey: 'k:tag', cached, k: 10, planNode: 'Limit > Sort > Seq Scan on traces', seconds: 41.5, exactP50Ms: 2 });
const pass = (tag: string, p50: number, p99: number, mean: number, shortShare: number, exactShare: number) => ({
  tag, efSearch: 128, plan: 'Limit > Index Scan on traces (ix_traces_embedding_hnsw)', usesIndex: true, latency: latency(p50, p99), recall: recall(mean),
  shortShare, exactShare, widenedShare: 0.02, uncertifiedShare: 0,
});
const filtered: FilteredReport = {
  backfill: { batches: 100, expected: 10_987, inserted: 10_987 },
  selectivities: [
    { tag: 'capacity-10pct', nominalShare: 0.1, rows: 10_012, share: 0.0998, groundTruth: groundTruth(false), pass: pass('capacity-10pct', 4.2, 9.81, 0.981, 0, 0) },
    { tag: 'capacity-1pct', nominalShare: 0.01, rows: 975, share: 0.00972, groundTruth: groundTruth(true), pass: pass('capacity-1pct', 11.5, 24.6, 1, 0.003, 1) },
  ],
};

test('the Filtered search table: selectivity, route, p50, p99, recall@10 mean and the share of short results per tag', () => {
  const table = reportTables(sampleReport('filtered', { filtered })).find((t) => t.title === 'Filtered search');
  assert.ok(table);
  const column = (name: string) => table.header.indexOf(name);
  const rows = table.rows.map((r) => [r[0], r[column('selectivity')], r[column('rows')], r[column('route')], r[column('recall mean')], r[column('< k rows')], r[column('p50')], r[column('p99')], r[column('ground truth')]]);
  assert.deepEqual(rows, [
    ['capacity-10pct', '10.0%', '10012', 'HNSW', '0.981', '0.0%', '4.20', '9.81', 'computed in 41.5 s'],
    ['capacity-1pct', '0.97%', '975', 'exact', '1.000', '0.30%', '11.50', '24.60', 'cached'],
  ]);
  assert.match(table.note ?? '', /iterative scan relaxed_order/);
  assert.match(table.note ?? '', /10987 backfilled/);
  assert.match(table.note ?? '', /a tag on at most 5000 rows is searched exactly/);
  assert.match(renderMarkdown(sampleReport('filtered', { filtered })), /## Filtered search/);
});

test('reports from before the filtered phase still parse and have no Filtered search section; an unmeasured tag says why', () => {
  const old = sampleReport('old');
  delete (old as { filtered?: unknown }).filtered;
  delete (old.thresholds as { filteredRecallMean?: number }).filteredRecallMean;
  const parsed = parseReport(JSON.parse(JSON.stringify(old)), 'old report');
  assert.equal(parsed.filtered, undefined);
  assert.ok(!reportTables(parsed).some((t) => t.title === 'Filtered search'));

  const none = { ...filtered, selectivities: [{ ...filtered.selectivities[1]!, rows: 0, share: 0, groundTruth: null, pass: null }] };
  const row = reportTables(sampleReport('none', { filtered: none })).find((t) => t.title === 'Filtered search')!.rows[0]!;
  assert.equal(row[3], 'not measured: no searchable row has the tag');
});

test('--filtered-recall-mean becomes the threshold of the workflow input', () => {
  assert.deepEqual(searchBenchmarkInput({ prewarm: true, waitWorker: 0, filteredRecallMean: 0.85 }).thresholds, { filteredRecallMean: 0.85 });
});
