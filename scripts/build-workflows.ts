/**
 * `npm run build:workflows [-- <path>]`: bundles src/workflows once (default .data/workflow-bundle.js)
 * so workers started with TEMPORAL_WORKFLOW_BUNDLE=<path> skip bundling. Rebuild after every change
 * to src/workflows: a worker runs whatever code the bundle holds.
 */
import { buildWorkflowBundle } from '../src/workflow-bundle.js';
import { formatBytes } from '../src/bytes.js';

const outPath = process.argv[2] ?? '.data/workflow-bundle.js';
const started = performance.now();
const bytes = await buildWorkflowBundle(outPath);
console.log(`workflow bundle: ${outPath} (${formatBytes(bytes)}, ${((performance.now() - started) / 1000).toFixed(1)} s)`);
