/**
 * Workflow module for the capacityRecheck logic test: the real parent over fake children. The
 * index build returns a fixed report (the recheck passes it no input to script); the benchmark
 * returns what the recheck's `benchmark` input carries in `fake.result`.
 */
import type { IndexBuildReport } from '../../src/capacity/index-build.js';

export { capacityRecheck } from '../../src/workflows/capacity-recheck.js';

export const FAKE_INDEX_REPORT: IndexBuildReport = {
  built: true, rows: 100_330, dimensions: 1536, m: 16, efConstruction: 64, estimatedGraphBytes: 802_399_208,
  maintenanceWorkMemBytes: 802_399_208, maintenanceWorkMemCapBytes: 2_147_483_648, indexType: 'vector', indexName: 'ix_traces_embedding_hnsw', buildSeconds: 164.49, indexBytes: 821_911_552,
  sharedBuffersBytes: 2_147_483_648, fitsInSharedBuffers: true, usedByPlanner: true, prewarmed: true, pgvectorVersion: '0.8.0',
  parallelWorkers: 0, parallelDisabledReason: null, replaced: null, warnings: [],
};

export async function indexBuild(): Promise<IndexBuildReport> {
  return FAKE_INDEX_REPORT;
}

export async function searchBenchmark(input: { fake?: { result?: unknown } }): Promise<unknown> {
  return input.fake?.result;
}
