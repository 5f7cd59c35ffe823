import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { generateApiKey } from '../../src/api/auth.js';
import { ESCROW_TTL_SECONDS, KeyEscrow } from '../../src/activities/key-escrow.js';
import { baseConfig } from '../helpers/config.js';

const redis = new Redis(baseConfig.redisUrl);
after(() => redis.disconnect());

test('a sealed key opens for any holder of the handle until released, and reads as no key on its own', async () => {
  const escrow = new KeyEscrow(redis);
  const apiKey = generateApiKey();
  const sealed = await escrow.seal(apiKey);
  // What history would carry: neither the key nor anything shaped like one.
  assert.ok(!JSON.stringify(sealed).includes(apiKey));
  assert.doesNotMatch(sealed.sealed, /ct_/);
  const ttl = await redis.ttl(`commontrace:key-escrow:${sealed.handle}`);
  assert.ok(ttl > 0 && ttl <= ESCROW_TTL_SECONDS, `ttl ${ttl}`);
  // Another worker (another KeyEscrow on the same Redis) opens it.
  assert.equal(await new KeyEscrow(redis).open(sealed), apiKey);
  await escrow.release(sealed.handle);
  assert.equal(await escrow.open(sealed), null);
});

test('a sealed key opens only under the handle it was sealed for', async () => {
  const escrow = new KeyEscrow(redis);
  const [a, b] = [await escrow.seal(generateApiKey()), await escrow.seal(generateApiKey())];
  try {
    await assert.rejects(escrow.open({ handle: b.handle, sealed: a.sealed }), /unable to authenticate/i);
  } finally {
    await Promise.all([escrow.release(a.handle), escrow.release(b.handle)]);
  }
});
