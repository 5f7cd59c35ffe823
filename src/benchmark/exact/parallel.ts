/**
 * Runs the exact scan on worker threads: query blocks go out one at a time to whichever worker is
 * free (a noisy machine slows lanes unevenly), every worker reads the same shared rows, and progress
 * is reported in queries done, counting the finished fraction of blocks in flight.
 */
import { Worker } from 'node:worker_threads';
import { MAX_QUERY_BLOCK, type ExactData, type ExactShared } from './exact-data.js';
import type { QueryNeighbours } from './scan.js';
import { QUERY_QUAD } from './simd-dot.js';

export interface ScanWorkerData {
  shared: ExactShared;
  lane: number;
  k: number;
}

export interface ScanTask {
  first: number;
  end: number;
}

export type WorkerMessage = { kind: 'progress'; rowsDone: number } | { kind: 'done'; results: QueryNeighbours[] };

export interface ParallelScanOptions {
  /** Worker threads; at most the lanes the data was laid out for. */
  lanes: number;
  k: number;
  /** Called at least every PROGRESS_MS while workers run, and when each block completes. */
  onProgress?: (done: number, total: number) => void;
  /** Aborting terminates the workers and rejects with the signal's reason. */
  signal?: AbortSignal;
}

const PROGRESS_MS = 500;
/** A plain .mjs entry that loads scan-worker.ts through tsx (that file says why). */
const WORKER_URL = new URL('./scan-worker-entry.mjs', import.meta.url);

/** Query blocks of equal size (a multiple of 4), enough of them that every lane gets work. */
export function queryBlocks(queries: number, lanes: number): ScanTask[] {
  const size = Math.min(MAX_QUERY_BLOCK, Math.max(QUERY_QUAD, Math.ceil(queries / lanes / QUERY_QUAD) * QUERY_QUAD));
  const blocks: ScanTask[] = [];
  for (let first = 0; first < queries; first += size) blocks.push({ first, end: Math.min(queries, first + size) });
  return blocks;
}

export async function scanInWorkers(data: ExactData, options: ParallelScanOptions): Promise<QueryNeighbours[]> {
  const { layout } = data;
  const total = layout.queries;
  options.signal?.throwIfAborted();
  if (options.lanes > layout.lanes) throw new RangeError(`the data has output room for ${layout.lanes} lanes, not ${options.lanes}`);
  const blocks = queryBlocks(total, options.lanes);
  if (blocks.length === 0) return [];
  const shared: ExactShared = { layout, memory: data.memory, trust: data.trust };

  return new Promise((resolve, reject) => {
    const results = new Array<QueryNeighbours>(total);
    const inFlight = new Map<Worker, { task: ScanTask; rowsDone: number }>();
    const workers: Worker[] = [];
    let next = 0;
    let completed = 0;
    let settled = false;

    const report = () => {
      let done = completed;
      for (const { task, rowsDone } of inFlight.values()) done += ((task.end - task.first) * rowsDone) / Math.max(1, layout.rows);
      options.onProgress?.(Math.floor(done), total);
    };
    const timer = setInterval(report, PROGRESS_MS);
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      options.signal?.removeEventListener('abort', onAbort);
      for (const w of workers) void w.terminate();
      if (error !== undefined) reject(error);
      else resolve(results);
    };
    const onAbort = () => finish(options.signal?.reason ?? new Error('aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const dispatch = (worker: Worker) => {
      const task = blocks[next++];
      if (!task) {
        inFlight.delete(worker);
        if (inFlight.size === 0) finish();
        return;
      }
      inFlight.set(worker, { task, rowsDone: 0 });
      worker.postMessage(task);
    };

    for (let lane = 0; lane < Math.min(options.lanes, blocks.length); lane++) {
      const workerData: ScanWorkerData = { shared, lane, k: options.k };
      const worker = new Worker(WORKER_URL, { workerData, name: `exact-scan-${lane}` });
      workers.push(worker);
      worker.on('message', (message: WorkerMessage) => {
        const current = inFlight.get(worker);
        if (!current || settled) return;
        if (message.kind === 'progress') {
          current.rowsDone = message.rowsDone;
          return;
        }
        message.results.forEach((r, i) => (results[current.task.first + i] = r));
        completed += current.task.end - current.task.first;
        inFlight.delete(worker);
        report();
        dispatch(worker);
      });
      worker.on('error', (err) => finish(err));
      worker.on('exit', (code) => {
        if (!settled) finish(new Error(`exact-scan worker ${lane} exited with code ${code} before finishing`));
      });
      dispatch(worker);
    }
  });
}
