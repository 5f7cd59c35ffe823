/**
 * The seeds the capacity database is given are checked against the seed schema first: a malformed
 * fixture is refused, naming each problem, before anything is migrated or imported.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { readCapacitySeeds } from '../../src/db/capacity-database.js';

let dir: string;
let sample: Record<string, unknown>[];

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'capacity-seeds-'));
  sample = JSON.parse(await readFile('fixtures/sample_traces.json', 'utf8')) as Record<string, unknown>[];
});
after(() => rm(dir, { recursive: true, force: true }));

async function fixture(name: string, content: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, content);
  return file;
}

/** The refusal readCapacitySeeds throws for `file`. */
async function refusal(file: string): Promise<ApplicationFailure> {
  const err = await readCapacitySeeds(file).then(() => null, (e: unknown) => e);
  assert.ok(err instanceof ApplicationFailure, `refused with an ApplicationFailure, got ${String(err)}`);
  assert.equal(err.type, 'InvalidSeedFixture');
  assert.equal(err.nonRetryable, true, 'a bad file is bad on every retry');
  assert.match(err.message, /nothing was imported into the capacity database/);
  return err;
}

test('a valid fixture gives its entries, in order', async () => {
  const seeds = await readCapacitySeeds('fixtures/sample_traces.json');
  assert.equal(seeds.length, 12);
  assert.deepEqual(seeds.map((s) => s.seed_key), sample.map((s) => s['seed_key']));
});

test('entries that break the seed schema are refused, each problem named by entry and field', async () => {
  const broken = sample.map((s) => ({ ...s }));
  delete broken[1]!['title'];
  broken[4]!['colour'] = 'blue';
  const err = await refusal(await fixture('broken.json', JSON.stringify(broken)));
  assert.match(err.message, /has 2 schema problem\(s\)/);
  assert.match(err.message, /\[1\] title: required field is missing/);
  assert.match(err.message, /\[4\] colour: unknown field/);
  assert.match(err.message, /seeds validate .*broken\.json/);
});

test('a file that is not JSON, or not an array, is refused', async () => {
  assert.match((await refusal(await fixture('truncated.json', '[{"seed_key": '))).message, /cannot be read as JSON/);
  assert.match((await refusal(await fixture('object.json', '{"seeds": []}'))).message, /is not a JSON array of seed traces/);
});
