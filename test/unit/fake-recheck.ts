/**
 * Workflow module for the capacityRecheck logic test: the real parent over fake children. The
 * index build returns a fixed report of the index type it was asked for; the benchmark returns what
 * the recheck's `benchmark` input carries in `fake.result`, named after the index type it was asked for
 * (or after its HTTP phase, with `fake.echoHttp`).
 */
import type { IndexBuildReport } from '../../src/capacity/index-build.js';
import type { IndexType } from '../../src/db/index-types.js';

export { capacityRecheck } from '../../src/workflows/capacity-recheck.js';

export const FAKE_INDEX_REPORT: IndexBuildReport = {
  built: true, rows: 100_330, dimensions: 1536, m: 16, efConstruction: 64, estimatedGraphBytes: 802_399_208,
  maintenanceWorkMemBytes: 802_399_208, maintenanceWorkMemCapBytes: 2_147_483_648, indexType: 'vector', indexName: 'ix_traces_embedding_hnsw', buildSeconds: 164.49, indexBytes: 821_911_552,
  sharedBuffersBytes: 2_147_483_648, fitsInSharedBuffers: true, usedByPlanner: true, prewarmed: true, pgvectorVersion: '0.8.0',
  parallelWorkers: 0, parallelDisabledReason: null, vacuumSeconds: 8.5, replaced: null, warnings: [],
};

export async function indexBuild(input: { indexType?: IndexType } = {}): Promise<IndexBuildReport> {
  return input.indexType ? { ...FAKE_INDEX_REPORT, indexType: input.indexType } : FAKE_INDEX_REPORT;
}

/** With fake.echoHttp, the result's name is the HTTP phase the benchmark was asked for. */
export async function searchBenchmark(input: { fake?: { result?: object; echoHttp?: boolean }; indexType?: IndexType; http?: object | null }): Promise<unknown> {
  if (input.fake?.echoHttp) return { ...input.fake.result, name: `http ${JSON.stringify(input.http)}` };
  return input.indexType ? { ...input.fake?.result, name: `benchmark of ${input.indexType}` } : input.fake?.result;
}
