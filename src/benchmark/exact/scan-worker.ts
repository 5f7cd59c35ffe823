/**
 * Worker thread of the exact scan: views the shared data (no copy), then scans each query block it
 * is sent and posts back the neighbours, with a progress message at most every PROGRESS_MS.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { viewExactData } from './exact-data.js';
import { createBlockScanner } from './scan.js';
import type { ScanTask, ScanWorkerData, WorkerMessage } from './parallel.js';

const PROGRESS_MS = 200;

const port = parentPort;
if (!port) throw new Error('scan-worker.ts runs as a worker thread');
const { shared, lane, k } = workerData as ScanWorkerData;
const scan = createBlockScanner(viewExactData(shared), lane, k);
const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

port.on('message', (task: ScanTask) => {
  let last = performance.now();
  const results = scan(task.first, task.end, (rowsDone) => {
    const now = performance.now();
    if (now - last < PROGRESS_MS) return;
    last = now;
    post({ kind: 'progress', rowsDone });
  });
  const buffers = results.flatMap((r) => [r.nearest.rows.buffer, r.nearest.scores.buffer, r.reranked.rows.buffer, r.reranked.scores.buffer]);
  post({ kind: 'done', results }, buffers as ArrayBuffer[]);
});
