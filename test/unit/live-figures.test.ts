import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveFigures, type StageRecord } from '../../src/workflows/messages.js';

const base: StageRecord = { stage: 'capacityPopulation', track: 'hardening', state: 'running', workflowId: 'launch-x-capacityPopulation' };
const live = { stage: 'capacityPopulation', state: 'running' as const, done: 1_200, total: 5_000, unit: 'rows' };

test('a running stage shows done/total unit and its ETA; any other shows nothing', () => {
  const cases: [string, StageRecord, { count: string; eta: string }][] = [
    ['running with an ETA', { ...base, live: { ...live, etaSeconds: 42 } }, { count: '1200/5000 rows', eta: '42 s' }],
    ['running, no rate yet', { ...base, live }, { count: '1200/5000 rows', eta: '' }],
    ['running, nothing reported', base, { count: '', eta: '' }],
    ['succeeded with a stale report', { ...base, state: 'succeeded', live: { ...live, etaSeconds: 3 } }, { count: '', eta: '' }],
    ['pending', { ...base, state: 'pending' }, { count: '', eta: '' }],
  ];
  for (const [name, record, expected] of cases) assert.deepEqual(liveFigures(record), expected, name);
});
