/**
 * Records the histories that test/unit/workflows/replay.test.ts replays: a small launchReadiness run and
 * its capacityPopulation child. Re-record (`npm run record:histories`) only for an intended,
 * versioned change to workflow code; a replay failure otherwise means a non-deterministic edit.
 */
import { writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { REPO_ROOT } from '../test/helpers/cli.js';
import { startWorker, testConfig, uniqueName, withClient } from '../test/helpers/env.js';
import { freePort, SMALL_LAUNCH } from '../test/helpers/launch.js';
import { launchReadiness } from '../src/workflows/launch-readiness.js';

const base = testConfig();
const config = { ...base, api: { ...base.api, port: await freePort() } };
const worker = await startWorker(config);
try {
  await withClient(config, async (client) => {
    const workflowId = uniqueName('replay-launch');
    const report = await client.workflow.execute(launchReadiness, { taskQueue: config.temporal.taskQueue, workflowId, args: [SMALL_LAUNCH] });
    console.log(`recorded run ${workflowId}: ${report.verdict}`);
    // A GO run exercises every branch of the parent; a NO-GO one would record a different path.
    if (report.verdict !== 'GO') throw new Error(`expected GO, got: ${JSON.stringify(report.criteria.filter((c) => !c.passed))}`);
    for (const [file, id] of [['launch-readiness.json', workflowId], ['capacity-population.json', `${workflowId}/capacityPopulation`]] as const) {
      // The canonical proto3 JSON export, the same as the Web UI's "Download" of a history.
      const { stdout } = await promisify(execFile)(
        path.join(REPO_ROOT, '.tools/bin/temporal'),
        ['workflow', 'show', '--workflow-id', id, '--address', config.temporal.address, '--namespace', config.temporal.namespace, '--output', 'json'],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      const history = JSON.parse(stdout) as { events: unknown[] };
      const target = path.join(REPO_ROOT, 'test/fixtures/histories', file);
      await writeFile(target, `${JSON.stringify({ workflowId: id, history }, null, 1)}\n`);
      console.log(`wrote ${path.relative(REPO_ROOT, target)} (${history.events.length} events)`);
    }
  });
} finally {
  await worker.stop();
}
