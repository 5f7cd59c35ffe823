import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  advisoriesFor, advisoryVerdict, compareVersions, parallelBuildBlocker, PGVECTOR_ADVISORIES, vacuumBlocker,
} from '../../../src/db/pgvector-advisories.js';
import { planCleanupIndex } from '../../../src/capacity/cleanup.js';

test('versions compare numerically, part by part', () => {
  const cases: [string, string, number][] = [
    ['0.5.1', '0.6.0', -1],
    ['0.6.0', '0.6.0', 0],
    ['0.8.0', '0.8.2', -1],
    ['0.8.1', '0.8.2', -1],
    ['0.8.2', '0.8.2', 0],
    ['0.8.3', '0.8.2', 1],
    ['0.8.10', '0.8.9', 1],
    ['0.8', '0.8.0', 0],
    ['1.0.0', '0.8.7', 1],
    ['0.8.7', '1.0.0', -1],
  ];
  for (const [a, b, expected] of cases) assert.equal(compareVersions(a, b), expected, `${a} vs ${b}`);
});

test('the advisory table: ids, fix versions and references', () => {
  assert.deepEqual(
    PGVECTOR_ADVISORIES.map((a) => [a.id, a.introducedIn ?? null, a.fixedIn, a.reference, a.failsInProduction]),
    [
      ['CVE-2026-3172', '0.6.0', '0.8.2', 'pgvector issue 959', true],
      ['hnsw-vacuum-corruption', null, '0.8.3', 'pgvector 0.8.3 changelog', false],
      ['hnsw-vacuum-graph-not-repaired', null, '0.8.4', 'pgvector issue 993', false],
    ],
  );
});

test('which fixed bugs apply to which installed version', () => {
  const CVE = 'CVE-2026-3172';
  const CORRUPT = 'hnsw-vacuum-corruption';
  const REPAIR = 'hnsw-vacuum-graph-not-repaired';
  const expected: Record<string, string[]> = {
    '0.5.1': [CORRUPT, REPAIR],
    '0.6.0': [CVE, CORRUPT, REPAIR],
    '0.8.0': [CVE, CORRUPT, REPAIR],
    '0.8.1': [CVE, CORRUPT, REPAIR],
    '0.8.2': [CORRUPT, REPAIR],
    '0.8.3': [REPAIR],
    '0.8.4': [],
    '0.8.7': [],
    '1.0.0': [],
  };
  for (const [version, ids] of Object.entries(expected)) {
    assert.deepEqual(advisoriesFor(version).map((a) => a.id), ids, version);
  }
});

test('preflight verdict: FAIL in production below the CVE fix, WARN elsewhere, PASS from 0.8.4', () => {
  const expected: Record<string, [production: string, elsewhere: string]> = {
    '0.5.1': ['warn', 'warn'],
    '0.6.0': ['fail', 'warn'],
    '0.8.0': ['fail', 'warn'],
    '0.8.1': ['fail', 'warn'],
    '0.8.2': ['warn', 'warn'],
    '0.8.3': ['warn', 'warn'],
    '0.8.4': ['pass', 'pass'],
    '0.8.7': ['pass', 'pass'],
    '1.0.0': ['pass', 'pass'],
  };
  for (const [version, [production, elsewhere]] of Object.entries(expected)) {
    assert.equal(advisoryVerdict(version, true).status, production, `${version} in production`);
    assert.equal(advisoryVerdict(version, false).status, elsewhere, `${version} elsewhere`);
  }
  const v = advisoryVerdict('0.8.0', false);
  assert.equal(v.value, '0.8.0: 3 fixed bugs apply');
  for (const named of ['CVE-2026-3172', 'fixed in 0.8.2', 'pgvector issue 959', 'fixed in 0.8.3', 'graph not repaired', 'fixed in 0.8.4', 'Upgrade pgvector to >= 0.8.4']) {
    assert.ok(v.detail.includes(named), `detail names ${named}: ${v.detail}`);
  }
  assert.match(advisoryVerdict('0.8.3', false).detail, /Upgrade pgvector to >= 0\.8\.4/);
  assert.doesNotMatch(advisoryVerdict('0.8.3', false).detail, /CVE-2026-3172/);
});

test('the index build runs without parallel workers below 0.8.2 (from 0.6.0), and says why', () => {
  assert.equal(parallelBuildBlocker('0.8.0'), 'pgvector 0.8.0 < 0.8.2: CVE-2026-3172');
  assert.equal(parallelBuildBlocker('0.8.1'), 'pgvector 0.8.1 < 0.8.2: CVE-2026-3172');
  assert.equal(parallelBuildBlocker('0.6.0'), 'pgvector 0.6.0 < 0.8.2: CVE-2026-3172');
  for (const v of ['0.5.1', '0.8.2', '0.8.3', '0.8.4', '0.8.7', '1.0.0']) assert.equal(parallelBuildBlocker(v), null, v);
});

test('cleanup keeps HNSW vacuum away from its bulk delete below 0.8.4', () => {
  assert.equal(vacuumBlocker('0.8.0'), 'pgvector 0.8.0 < 0.8.4: HNSW vacuum can corrupt the index; HNSW vacuum "graph not repaired"');
  assert.equal(vacuumBlocker('0.8.3'), 'pgvector 0.8.3 < 0.8.4: HNSW vacuum "graph not repaired"');
  for (const v of ['0.8.4', '0.8.7', '1.0.0']) assert.equal(vacuumBlocker(v), null, v);

  const plan = (pgvectorVersion: string, remainingVectors: number, state: 'valid' | 'invalid' | 'missing' = 'valid', capacityVectors = 100_000) =>
    planCleanupIndex({ state, pgvectorVersion, capacityVectors, remainingVectors });
  assert.equal(plan('0.8.0', 1_000_000).drop, true, 'affected: dropped even with a large live table');
  assert.match(plan('0.8.0', 1_000_000).reason, /^pgvector 0\.8\.0 < 0\.8\.4: .*dropped before deleting 100000 vectors/);
  assert.equal(plan('0.8.3', 1_000_000).drop, true);
  assert.equal(plan('0.8.4', 1_000_000).drop, false, 'fixed, and rebuilding 1M vectors is slower than vacuuming');
  assert.equal(plan('0.8.4', 300).drop, true, 'fixed, but a rebuild over 300 vectors is quicker');
  assert.equal(plan('0.8.0', 300, 'missing').drop, false, 'nothing to drop');
  assert.equal(plan('0.8.4', 1_000_000, 'invalid').drop, true, 'an INVALID index always goes');
  assert.equal(plan('0.8.0', 300, 'valid', 0).drop, false, 'no capacity vectors, no delete to protect');
});
