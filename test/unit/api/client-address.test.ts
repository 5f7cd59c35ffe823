import { test } from 'node:test';
import assert from 'node:assert/strict';
import { limitAddress } from '../../../src/api/client-address.js';
import { addressSubject, bucketKey } from '../../../src/ratelimit/token-bucket.js';

test('IPv4 counts per address; an IPv4-mapped IPv6 address is its IPv4 address', () => {
  assert.equal(limitAddress('127.0.0.1'), '127.0.0.1');
  assert.equal(limitAddress('203.0.113.9'), '203.0.113.9');
  assert.equal(limitAddress('::ffff:203.0.113.9'), '203.0.113.9');
  assert.equal(limitAddress('::ffff:7f00:1'), '127.0.0.1');
});

test('IPv6 counts per /64, whatever the spelling of the address', () => {
  assert.equal(limitAddress('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  assert.equal(limitAddress('2001:DB8:1:2::9'), '2001:db8:1:2::/64');
  assert.equal(limitAddress('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
  assert.equal(limitAddress('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(limitAddress('::1'), '0:0:0:0::/64');
  assert.equal(limitAddress('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(limitAddress('64:ff9b::192.0.2.33'), '64:ff9b:0:0::/64');
});

test('the register bucket key is rl:addr:<address>:register, apart from any user key', () => {
  assert.equal(bucketKey(addressSubject(limitAddress('::ffff:198.18.0.7')), 'register'), 'rl:addr:198.18.0.7:register');
  assert.equal(bucketKey(addressSubject(limitAddress('2001:db8:1:2::9')), 'register'), 'rl:addr:2001:db8:1:2::/64:register');
});
