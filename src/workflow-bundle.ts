/**
 * Where a worker gets its workflow code: bundled from src/workflows when it starts (the default), or
 * a bundle built ahead of time by `npm run build:workflows` (TEMPORAL_WORKFLOW_BUNDLE), which saves
 * every worker start the seconds of CPU that bundling takes. The test suite builds one per run.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, type WorkflowBundle, type WorkerOptions } from '@temporalio/worker';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));

export class WorkflowBundleMissingError extends Error {
  constructor(readonly bundlePath: string) {
    super(
      `TEMPORAL_WORKFLOW_BUNDLE names ${bundlePath}, which does not exist. ` +
        'Build it from this checkout with `npm run build:workflows`, or unset TEMPORAL_WORKFLOW_BUNDLE to bundle at start.',
    );
    this.name = 'WorkflowBundleMissingError';
  }
}

/** The worker option that supplies workflow code: the prebuilt bundle when one is named, else the source. */
export function workflowCodeOption(bundlePath: string | undefined): Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle'> {
  if (bundlePath === undefined) return { workflowsPath: WORKFLOWS_PATH };
  if (!existsSync(bundlePath)) throw new WorkflowBundleMissingError(bundlePath);
  return { workflowBundle: { codePath: path.resolve(bundlePath) } };
}

/** src/workflows bundled in memory; the bundler's progress is silenced, its warnings and errors shown. */
export function bundleWorkflows(): Promise<WorkflowBundle> {
  const silent = () => undefined;
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: { log: silent, trace: silent, debug: silent, info: silent, warn: (m) => console.warn(m), error: (m) => console.error(m) },
  });
}

/** Bundles src/workflows into one file at `outPath`; returns its size in bytes. */
export async function buildWorkflowBundle(outPath: string): Promise<number> {
  const { code } = await bundleWorkflows();
  await mkdir(path.dirname(path.resolve(outPath)), { recursive: true });
  await writeFile(outPath, code);
  return Buffer.byteLength(code);
}
