import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, LOCAL_DATABASE_URL, MAX_RATE_LIMIT_PER_MINUTE } from '../../src/config.js';
import { MAX_CAPACITY, REFILL_WINDOW_SECONDS } from '../../src/ratelimit/token-bucket.js';

test('defaults point at the local stack', () => {
  const config = loadConfig({});
  assert.equal(config.databaseUrl, LOCAL_DATABASE_URL);
  assert.equal(config.redisUrl, 'redis://127.0.0.1:6379');
  assert.equal(config.temporal.address, '127.0.0.1:7233');
  assert.equal(config.temporal.namespace, 'default');
  assert.equal(config.temporal.taskQueue, 'launch-readiness');
  assert.equal(config.temporal.tls, false);
  assert.equal(config.embedding.provider, 'local');
  assert.equal(config.appEnv, 'development');
  assert.deepEqual(config.rateLimit, { readPerMinute: 60, writePerMinute: 20, registerPerMinute: 60, failMode: 'open' });
  assert.equal(config.api.bodyLimitBytes, 65_536);
  assert.equal(config.api.trustProxy, false);
});

test('an OpenAI key selects the OpenAI embedder unless the provider is pinned', () => {
  assert.equal(loadConfig({ OPENAI_API_KEY: 'sk-test' }).embedding.provider, 'openai');
  assert.equal(loadConfig({ OPENAI_API_KEY: 'sk-test', EMBEDDING_PROVIDER: 'local' }).embedding.provider, 'local');
});

test('an API key turns on TLS for Temporal Cloud', () => {
  const config = loadConfig({ TEMPORAL_API_KEY: 'key', TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233' });
  assert.equal(config.temporal.tls, true);
  assert.equal(config.temporal.apiKey, 'key');
});

test('every bad variable is reported at once, with the expected form', () => {
  const env = {
    DATABASE_URL: 'mysql://root@localhost/x',
    REDIS_URL: 'not a url',
    TEMPORAL_ADDRESS: 'localhost',
    APP_ENV: 'prod',
    RATE_LIMIT_READ_PER_MINUTE: '-5',
    RATE_LIMIT_WRITE_PER_MINUTE: 'many',
    EMBEDDING_PROVIDER: 'cohere',
    API_PORT: '70000',
  };
  assert.throws(() => loadConfig(env), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.problems.length, 8);
    const message = err.message;
    assert.match(message, /^Invalid configuration \(8 problems\)/);
    assert.match(message, /DATABASE_URL: expected a URL like postgresql:\/\/postgres@127\.0\.0\.1:55432\/commontrace \(got "mysql:\/\/root@localhost\/x"\)/);
    assert.match(message, /REDIS_URL: expected a URL like redis:\/\/127\.0\.0\.1:6379/);
    assert.match(message, /TEMPORAL_ADDRESS: expected host:port, e\.g\. 127\.0\.0\.1:7233 \(got "localhost"\)/);
    assert.match(message, /APP_ENV: expected development, staging or production \(got "prod"\)/);
    assert.match(message, /RATE_LIMIT_READ_PER_MINUTE: expected an integer from 1 to 1000000 \(got "-5"\)/);
    assert.match(message, /RATE_LIMIT_WRITE_PER_MINUTE: expected an integer from 1 to 1000000 \(got "many"\)/);
    assert.match(message, /EMBEDDING_PROVIDER: expected local or openai \(got "cohere"\)/);
    assert.match(message, /API_PORT: expected a TCP port \(1-65535\) \(got "70000"\)/);
    return true;
  });
});

test('openai without a key, and half an mTLS pair, are rejected with what to do', () => {
  assert.throws(
    () => loadConfig({ EMBEDDING_PROVIDER: 'openai', TEMPORAL_TLS_CERT_PATH: '/tmp/c.pem' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [
        'OPENAI_API_KEY: required when EMBEDDING_PROVIDER=openai (or set EMBEDDING_PROVIDER=local for the offline embedder)',
        'TEMPORAL_TLS_CERT_PATH / TEMPORAL_TLS_KEY_PATH: set both for mTLS, or neither',
      ]);
      return true;
    },
  );
});

test('empty strings count as unset', () => {
  assert.equal(loadConfig({ OPENAI_API_KEY: '', OPENAI_BASE_URL: '' }).embedding.provider, 'local');
});

test('the API-key cache: 10 s and 10,000 keys by default; TTL 0..300000 ms (0 = off), size 1..1000000', () => {
  const defaults = loadConfig({});
  assert.deepEqual([defaults.api.keyCacheTtlMs, defaults.api.keyCacheMax], [10_000, 10_000]);
  const edges = [
    { env: { API_KEY_CACHE_TTL_MS: '0', API_KEY_CACHE_MAX: '1' }, expected: [0, 1] },
    { env: { API_KEY_CACHE_TTL_MS: '300000', API_KEY_CACHE_MAX: '1000000' }, expected: [300_000, 1_000_000] },
    { env: { API_KEY_CACHE_TTL_MS: '', API_KEY_CACHE_MAX: ' ' }, expected: [10_000, 10_000] },
  ];
  for (const { env, expected } of edges) {
    const { api } = loadConfig(env);
    assert.deepEqual([api.keyCacheTtlMs, api.keyCacheMax], expected, JSON.stringify(env));
  }
  const bad = { API_KEY_CACHE_TTL_MS: '300001', API_KEY_CACHE_MAX: '0' };
  assert.throws(() => loadConfig(bad), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems, [
      'API_KEY_CACHE_TTL_MS: expected an integer from 0 to 300000 (got "300001")',
      'API_KEY_CACHE_MAX: expected an integer from 1 to 1000000 (got "0")',
    ]);
    return true;
  });
  for (const [name, value] of [
    ['API_KEY_CACHE_TTL_MS', '-1'],
    ['API_KEY_CACHE_TTL_MS', '2.5'],
    ['API_KEY_CACHE_TTL_MS', '10s'],
    ['API_KEY_CACHE_MAX', '1000001'],
    ['API_KEY_CACHE_MAX', 'many'],
  ] as const) {
    assert.throws(() => loadConfig({ [name]: value }), ConfigError, `${name}=${value}`);
  }
});

test('rate limits are 1..1000000 per minute and the body limit 1..10 MiB; the error names the variable, value and range', () => {
  const top = loadConfig({
    RATE_LIMIT_READ_PER_MINUTE: '1000000',
    RATE_LIMIT_WRITE_PER_MINUTE: '1000000',
    RATE_LIMIT_REGISTER_PER_MINUTE: '1000000',
    API_BODY_LIMIT_BYTES: '10485760',
  });
  assert.deepEqual(
    [top.rateLimit.readPerMinute, top.rateLimit.writePerMinute, top.rateLimit.registerPerMinute, top.api.bodyLimitBytes],
    [1_000_000, 1_000_000, 1_000_000, 10_485_760],
  );
  const bottom = loadConfig({ RATE_LIMIT_READ_PER_MINUTE: '1', RATE_LIMIT_WRITE_PER_MINUTE: '1', RATE_LIMIT_REGISTER_PER_MINUTE: '1', API_BODY_LIMIT_BYTES: '1' });
  assert.deepEqual([bottom.rateLimit.readPerMinute, bottom.rateLimit.writePerMinute, bottom.rateLimit.registerPerMinute, bottom.api.bodyLimitBytes], [1, 1, 1, 1]);

  const over = {
    RATE_LIMIT_READ_PER_MINUTE: '1000001',
    RATE_LIMIT_WRITE_PER_MINUTE: '100000000',
    RATE_LIMIT_REGISTER_PER_MINUTE: '0',
    API_BODY_LIMIT_BYTES: '10485761',
  };
  assert.throws(() => loadConfig(over), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems, [
      'RATE_LIMIT_READ_PER_MINUTE: expected an integer from 1 to 1000000 (got "1000001")',
      'RATE_LIMIT_WRITE_PER_MINUTE: expected an integer from 1 to 1000000 (got "100000000")',
      'RATE_LIMIT_REGISTER_PER_MINUTE: expected an integer from 1 to 1000000 (got "0")',
      'API_BODY_LIMIT_BYTES: expected an integer from 1 to 10485760 (got "10485761")',
    ]);
    return true;
  });
  assert.throws(() => loadConfig({ RATE_LIMIT_REGISTER_PER_MINUTE: '2.5' }), /RATE_LIMIT_REGISTER_PER_MINUTE: expected an integer from 1 to 1000000 \(got "2\.5"\)/);
});

test('the rate-limit ceiling keeps the Lua bucket exact: capacity × window in microseconds stays below 2^53', () => {
  assert.equal(MAX_RATE_LIMIT_PER_MINUTE, 1_000_000);
  assert.ok(MAX_RATE_LIMIT_PER_MINUTE * REFILL_WINDOW_SECONDS * 1_000_000 < 2 ** 53);
  // Twice that (a full bucket plus a full window of refill, before the script caps it) still fits.
  assert.ok(2 * MAX_RATE_LIMIT_PER_MINUTE * REFILL_WINDOW_SECONDS * 1_000_000 < 2 ** 53);
  assert.ok(MAX_RATE_LIMIT_PER_MINUTE <= MAX_CAPACITY, 'every configurable limit is a capacity the limiter accepts');
});

test('API_TRUST_PROXY is a boolean, false by default', () => {
  assert.equal(loadConfig({ API_TRUST_PROXY: 'true' }).api.trustProxy, true);
  assert.equal(loadConfig({ API_TRUST_PROXY: '0' }).api.trustProxy, false);
  assert.throws(() => loadConfig({ API_TRUST_PROXY: 'loopback' }), /API_TRUST_PROXY: expected true or false \(got "loopback"\)/);
});
