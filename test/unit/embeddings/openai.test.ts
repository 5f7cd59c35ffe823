import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { countTokens, MAX_TOKENS_PER_INPUT, OpenAIEmbedder, OPENAI_MODEL_ID, planRequests, retryAfterMs, truncateForModel } from '../../../src/embeddings/openai.js';
import { fakeVector, startFakeOpenAI, type FakeOpenAI } from '../../helpers/fake-openai.js';

let fake: FakeOpenAI;
let embedder: OpenAIEmbedder;

before(async () => {
  fake = await startFakeOpenAI();
  embedder = new OpenAIEmbedder({ apiKey: 'sk-test', baseURL: fake.baseURL, timeoutMs: 10_000 });
});
beforeEach(() => fake.reset());
after(() => fake.close());

/** The values a float32 round trip gives (base64 embeddings are float32). */
const asFloat32 = (v: number[]): number[] => Array.from(Float32Array.from(v));

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await promise.then(
    () => assert.fail('expected the embedder to throw'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

test('more than 2048 inputs are split into requests of at most 2048, in order', async () => {
  const texts = Array.from({ length: 2050 }, (_, i) => `trace number ${i}`);
  const vectors = await embedder.embed(texts);
  assert.deepEqual(fake.requests.map((r) => r.inputs), [2048, 2]);
  assert.ok(fake.requests.every((r) => r.model === OPENAI_MODEL_ID && r.dimensions === 1536 && r.encodingFormat === 'base64'));
  assert.equal(vectors.length, 2050);
  // Each vector belongs to its own input: order survives the split. They arrive as float32.
  for (const i of [0, 2047, 2048, 2049]) assert.deepEqual(vectors[i], asFloat32(fakeVector(texts[i]!)));
});

test('requests stay within the token budget, and long inputs are truncated to the model limit', async () => {
  // ~10,000 tokens each (" 1" is one token), cut to 8191: 36 fit in 300K.
  const texts = Array.from({ length: 60 }, (_, i) => `${i}${' 1'.repeat(10_000)}`);
  const vectors = await embedder.embed(texts);
  assert.deepEqual(fake.requests.map((r) => r.inputs), [36, 24]);
  assert.ok(fake.requests.every((r) => r.status === 200 && r.maxInputTokens === MAX_TOKENS_PER_INPUT), fake.requests.map((r) => r.maxInputTokens).join(','));
  assert.equal(vectors.length, 60);
  assert.deepEqual(vectors[59], asFloat32(fakeVector(truncateForModel(texts[59]!))));
});

test('requests are planned by real token counts, not a characters-per-token guess', async () => {
  // 20,000 characters but ~4,000 tokens each: 60 of them (240K tokens) are one request, uncut.
  // A 2-characters-per-token guess would cut each to 16,382 characters and send [36, 24].
  const texts = Array.from({ length: 60 }, (_, i) => `${i}${' word'.repeat(4_000)}`);
  await embedder.embed(texts);
  assert.deepEqual(fake.requests.map((r) => [r.inputs, r.maxInputChars]), [[60, texts[59]!.length]]);
  assert.equal(fake.requests[0]!.tokens, texts.reduce((n, t) => n + countTokens(t), 0));
});

test('tokens are counted with cl100k_base, and special-token text is plain text', () => {
  assert.equal(countTokens('hello world'), 2); // [15339, 1917] in cl100k_base
  // Not the single special token (which would be 1), and no throw as gpt-tokenizer's default does.
  assert.ok(countTokens('<|endoftext|>') > 1);
});

test('truncation keeps an input at most 8191 tokens, as a prefix that splits no character', () => {
  const checks: [string, string][] = [
    ['spaced words', 'retry with backoff '.repeat(3_000)],
    ['multi-byte characters', 'é 漢字 😀 '.repeat(3_000)],
    ['emoji without spaces', '😀'.repeat(4_500)],
  ];
  for (const [name, text] of checks) {
    assert.ok(countTokens(text) > MAX_TOKENS_PER_INPUT, name);
    const cut = truncateForModel(text);
    const tokens = countTokens(cut);
    assert.ok(tokens <= MAX_TOKENS_PER_INPUT && tokens >= MAX_TOKENS_PER_INPUT - 3, `${name}: ${tokens} tokens`);
    assert.ok(text.startsWith(cut), `${name}: not a prefix`);
    assert.doesNotMatch(cut, /[\uD800-\uDBFF]$/, `${name}: ends on half a surrogate pair`);
    // The longest such prefix: one more character is over the limit.
    assert.ok(countTokens(text.slice(0, cut.length + 2)) > MAX_TOKENS_PER_INPUT, `${name}: cut too short`);
  }
  assert.equal(truncateForModel('short'), 'short');
});

test('planRequests never sends an empty request and keeps single oversize inputs alone', () => {
  assert.deepEqual(planRequests([]), []);
  assert.deepEqual(planRequests(['a', 'b', 'c'], 2).map((b) => b.length), [2, 1]);
  // Two tokens each against a budget of one.
  assert.deepEqual(planRequests(['hello world', 'one two', 'a'], 10, 1).map((b) => b.length), [1, 1, 1]);
});

test('a 429 is a retryable failure whose next retry waits for Retry-After', async () => {
  fake.failNext({ status: 429, retryAfterSeconds: 3 });
  const failure = await failureOf(embedder.embed(['hello']));
  assert.equal(failure.nonRetryable, false);
  assert.equal(failure.type, 'EmbeddingRateLimited');
  assert.equal(failure.nextRetryDelay, 3000);
  assert.match(failure.message, /429/);
});

test('Retry-After in seconds, as an HTTP date, and retry-after-ms are all understood', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  assert.equal(retryAfterMs(new Headers({ 'retry-after': '7' }), now), 7000);
  assert.equal(retryAfterMs(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:05 GMT' }), now), 5000);
  assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '7' }), now), 250);
  assert.equal(retryAfterMs(new Headers({}), now), undefined);
});

test('a 500 and a refused connection are retryable failures', async () => {
  fake.failNext({ status: 500 });
  const failure = await failureOf(embedder.embed(['hello']));
  assert.equal(failure.nonRetryable, false);
  assert.equal(failure.type, 'EmbeddingUnavailable');
  assert.equal(failure.nextRetryDelay, undefined, 'no Retry-After: the retry policy decides');

  const closed = await startFakeOpenAI();
  await closed.close();
  const unreachable = new OpenAIEmbedder({ apiKey: 'sk-test', baseURL: closed.baseURL, timeoutMs: 2_000 });
  const refused = await failureOf(unreachable.embed(['hello']));
  assert.equal(refused.nonRetryable, false);
  assert.match(refused.message, /connection failed/);
});

test('a wrong dimension is non-retryable and says what to check', async () => {
  fake.failNext({ wrongDimensions: 768 });
  const failure = await failureOf(embedder.embed(['hello']));
  assert.equal(failure.nonRetryable, true);
  assert.equal(failure.type, 'EmbeddingDimensionMismatch');
  assert.match(failure.message, /768-dimension.*vector\(1536\).*OPENAI_BASE_URL/);
});

test('a 401 is non-retryable and names OPENAI_API_KEY', async () => {
  fake.failNext({ status: 401 });
  const failure = await failureOf(embedder.embed(['hello']));
  assert.equal(failure.nonRetryable, true);
  assert.equal(failure.type, 'EmbeddingAuthError');
  assert.match(failure.message, /OPENAI_API_KEY/);
  assert.equal(fake.requests.length, 1, 'the SDK does not retry on its own');
});
