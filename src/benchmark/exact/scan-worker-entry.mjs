// Worker-thread entry of the exact scan, plain JavaScript on purpose: Node 20 does not apply
// `--import tsx` (inherited or explicit) to a worker's entry module, so the worker loads its
// TypeScript through tsx's API instead. Works under `tsx file.ts` and `node --import tsx` alike.
import { tsImport } from 'tsx/esm/api';

await tsImport('./scan-worker.ts', import.meta.url);
