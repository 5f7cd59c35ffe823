/**
 * OpenAI text-embedding-3-small. The SDK's own retries are off: a 429 or 5xx becomes a retryable
 * ApplicationFailure carrying Retry-After as `nextRetryDelay`, so Temporal owns the backoff and the
 * wait shows in the workflow history. Auth and shape errors are non-retryable with the fix named.
 */
import type * as OpenAISdk from 'openai';
import type OpenAI from 'openai';
import { ApplicationFailure } from '@temporalio/common';
import type * as Tokenizer from 'gpt-tokenizer/model/text-embedding-3-small';
import type { Embedder } from './embedder.js';
import { lazyModule } from '../lazy-module.js';

const openaiSdk = lazyModule<typeof OpenAISdk>('openai');
const tokenizer = lazyModule<typeof Tokenizer>('gpt-tokenizer/model/text-embedding-3-small');

export const OPENAI_MODEL_ID = 'text-embedding-3-small';
const DIMENSIONS = 1536;
/** API limits: 2048 inputs per request, 8191 tokens per input, 300K tokens per request. */
const MAX_INPUTS_PER_REQUEST = 2048;
export const MAX_TOKENS_PER_INPUT = 8191;
const MAX_TOKENS_PER_REQUEST = 300_000;
/**
 * Tokens are counted with text-embedding-3-small's own encoding (cl100k_base, through gpt-tokenizer's
 * module for the model). Text that merely looks like a special token (`<|endoftext|>`) is plain text.
 */
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

export function countTokens(text: string): number {
  return tokenizer().countTokens(text, PLAIN_TEXT);
}

/** `text` cut to the model's 8191-token input limit; the API rejects longer inputs. */
export function truncateForModel(text: string): string {
  return fitToModel(text).text;
}

function fitToModel(text: string): { text: string; tokens: number } {
  const tokens = countTokens(text);
  if (tokens <= MAX_TOKENS_PER_INPUT) return { text, tokens };
  // The longest prefix within the limit, searched by its length (decoding the first 8191 tokens
  // instead could end inside a character). Steps alternate between interpolating on the token
  // density, which lands within a few characters on ordinary text, and bisecting, which bounds the
  // count of encodings when the density is uneven. A prefix never ends on half a surrogate pair.
  const prefix = (n: number) => text.slice(0, /[\uD800-\uDBFF]/.test(text.charAt(n - 1)) ? n - 1 : n);
  let fits = { length: 0, tokens: 0 };
  let tooLong = { length: text.length, tokens };
  for (let step = 0; tooLong.length - fits.length > 1; step++) {
    const guess =
      step % 2 === 0
        ? fits.length + Math.floor(((tooLong.length - fits.length) * (MAX_TOKENS_PER_INPUT - fits.tokens)) / (tooLong.tokens - fits.tokens))
        : Math.floor((fits.length + tooLong.length) / 2);
    const length = Math.min(tooLong.length - 1, Math.max(fits.length + 1, guess));
    const probe = { length, tokens: countTokens(prefix(length)) };
    if (probe.tokens > MAX_TOKENS_PER_INPUT) tooLong = probe;
    else fits = probe;
  }
  return { text: prefix(fits.length), tokens: fits.tokens };
}

/** Splits inputs into requests that respect both the input-count and the token budget. */
export function planRequests(texts: string[], maxInputs = MAX_INPUTS_PER_REQUEST, maxTokens = MAX_TOKENS_PER_REQUEST): string[][] {
  const batches: string[][] = [];
  let current: string[] = [];
  let tokens = 0;
  for (const raw of texts) {
    const { text, tokens: t } = fitToModel(raw);
    if (current.length > 0 && (current.length >= maxInputs || tokens + t > maxTokens)) {
      batches.push(current);
      current = [];
      tokens = 0;
    }
    current.push(text);
    tokens += t;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Retry-After is seconds or an HTTP date; retry-after-ms is OpenAI's millisecond variant. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function toTemporalFailure(err: unknown): unknown {
  if (!(err instanceof openaiSdk().APIError)) return err;
  const status = err.status;
  if (status === 401 || status === 403) {
    return ApplicationFailure.nonRetryable(
      `OpenAI rejected the API key (HTTP ${status}): check OPENAI_API_KEY (and OPENAI_BASE_URL if you use a proxy).`,
      'EmbeddingAuthError',
    );
  }
  if (status === 429 || (status !== undefined && status >= 500) || status === undefined) {
    const delay = retryAfterMs(err.headers);
    return ApplicationFailure.create({
      message: `OpenAI embeddings ${status === undefined ? 'connection failed' : `HTTP ${status}`}: ${err.message}`,
      type: status === 429 ? 'EmbeddingRateLimited' : 'EmbeddingUnavailable',
      nonRetryable: false,
      ...(delay !== undefined && { nextRetryDelay: delay }),
    });
  }
  return ApplicationFailure.nonRetryable(`OpenAI embeddings HTTP ${status}: ${err.message}`, 'EmbeddingRequestError');
}

export class OpenAIEmbedder implements Embedder {
  readonly modelId = OPENAI_MODEL_ID;
  readonly dimensions = DIMENSIONS;
  readonly maxBatchSize = MAX_INPUTS_PER_REQUEST;
  private readonly client: OpenAI;

  constructor(options: { apiKey: string; baseURL?: string; timeoutMs?: number }) {
    this.client = new (openaiSdk().OpenAI)({ apiKey: options.apiKey, baseURL: options.baseURL, maxRetries: 0, timeout: options.timeoutMs ?? 60_000 });
  }

  async embed(texts: string[]): Promise<number[][]> {
    const out: number[][] = [];
    for (const batch of planRequests(texts)) {
      let response;
      try {
        // No encoding_format: the SDK then asks for base64 (little-endian float32, what the model
        // computes; a quarter of the bytes of JSON numbers) and decodes it to numbers itself.
        response = await this.client.embeddings.create({ model: this.modelId, input: batch, dimensions: this.dimensions });
      } catch (err) {
        throw toTemporalFailure(err);
      }
      const vectors = [...response.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
      if (vectors.length !== batch.length) {
        throw ApplicationFailure.nonRetryable(`OpenAI returned ${vectors.length} embeddings for ${batch.length} inputs`, 'EmbeddingShapeError');
      }
      const wrong = vectors.find((v) => v.length !== this.dimensions);
      if (wrong) {
        throw ApplicationFailure.nonRetryable(
          `OpenAI returned ${wrong.length}-dimension embeddings, but the schema stores vector(${this.dimensions}); ` +
            `check OPENAI_BASE_URL points at a ${this.modelId}-compatible endpoint`,
          'EmbeddingDimensionMismatch',
        );
      }
      out.push(...vectors);
    }
    return out;
  }
}
