import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { lazyModule } from '../../src/lazy-module.js';

test('a lazy module is loaded when first called, then the same module every time', () => {
  const yaml = lazyModule<{ parse(text: string): unknown }>('yaml');
  const first = yaml();
  assert.equal(yaml(), first);
  assert.equal(first, createRequire(import.meta.url)('yaml'));
  assert.deepEqual(first.parse('a: [1, 2]'), { a: [1, 2] });
});

test('a package that is not installed fails where it is first used, not where it is declared', () => {
  const missing = lazyModule('commontrace-no-such-package');
  assert.throws(() => missing(), /Cannot find module 'commontrace-no-such-package'/);
});
