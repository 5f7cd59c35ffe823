import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes } from '../../src/bytes.js';

test('byte sizes are in binary units, three significant digits', () => {
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(128 * 1024 ** 2), '128 MiB');
  assert.equal(formatBytes(1.5 * 1024 ** 3), '1.5 GiB');
  // 123,456,789 bytes is 117.7 MiB (and 123 MB in decimal units): the unit matches the divisor.
  assert.equal(formatBytes(123_456_789), '118 MiB');
});
