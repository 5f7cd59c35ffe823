/**
 * An OpenAI-compatible embeddings server on loopback: the one test double the project allows. It
 * answers POST /v1/embeddings with deterministic vectors (a PRNG seeded by the input's hash), after a
 * configurable latency, and can be scripted to fail the way the real API does (429 with Retry-After,
 * 500, 401, a wrong dimension). Like the API, it counts tokens with cl100k_base and answers 400 to an
 * input over 8191 tokens or a request over 300K. Every request is logged with its arrival time and
 * input count.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { countTokens } from 'gpt-tokenizer/model/text-embedding-3-small';

export type FakeFailure =
  | { status: 429; retryAfterSeconds?: number }
  | { status: 500 }
  | { status: 401 }
  | { wrongDimensions: number };

export interface FakeRequest {
  /** performance.now() when the request arrived, in ms. */
  at: number;
  inputs: number;
  /** Longest input in characters (truncation is the client's job). */
  maxInputChars: number;
  /** Longest input in cl100k_base tokens, and all inputs together. */
  maxInputTokens: number;
  tokens: number;
  model: string;
  dimensions: number | undefined;
  /** The encoding asked for: 'base64' (little-endian float32, as the API sends it) or 'float' (JSON numbers). */
  encodingFormat: string;
  /** HTTP status answered. */
  status: number;
}

export interface FakeOpenAI {
  /** Base URL for the OpenAI client, e.g. http://127.0.0.1:41234/v1 */
  readonly baseURL: string;
  readonly requests: FakeRequest[];
  latencyMs: number;
  /** Failures answered to the next requests, one each, in order; then normal answers resume. */
  failNext(...failures: FakeFailure[]): void;
  /** Answer every request with this failure until cleared with null. */
  failAlways(failure: FakeFailure | null): void;
  reset(): void;
  close(): Promise<void>;
}

export const FAKE_DIMENSIONS = 1536;
const MAX_TOKENS_PER_INPUT = 8191;
const MAX_TOKENS_PER_REQUEST = 300_000;

/** A unit vector derived from the text alone: the same text always gets the same vector. */
export function fakeVector(text: string, dimensions = FAKE_DIMENSIONS): number[] {
  const seed = createHash('sha256').update(text).digest();
  let state = seed.readUInt32LE(0) || 1;
  const v = new Array<number>(dimensions);
  let sum = 0;
  for (let i = 0; i < dimensions; i++) {
    // xorshift32: cheap and deterministic; quality does not matter for a double.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    const x = state / 0xffffffff - 0.5;
    v[i] = x;
    sum += x * x;
  }
  const norm = Math.sqrt(sum);
  return v.map((x) => Math.round((x / norm) * 1e6) / 1e6);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function apiError(message: string, type: string) {
  return { error: { message, type, param: null, code: null } };
}

export async function startFakeOpenAI(options: { latencyMs?: number } = {}): Promise<FakeOpenAI> {
  const requests: FakeRequest[] = [];
  const queue: FakeFailure[] = [];
  let always: FakeFailure | null = null;

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: Error) => send(res, 400, apiError(err.message, 'invalid_request_error')));
  });

  const fake: FakeOpenAI = {
    baseURL: '',
    requests,
    latencyMs: options.latencyMs ?? 0,
    failNext: (...failures) => void queue.push(...failures),
    failAlways: (failure) => void (always = failure),
    reset() {
      requests.length = 0;
      queue.length = 0;
      always = null;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = performance.now();
    if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
      send(res, 404, apiError(`no route ${req.method} ${req.url}`, 'invalid_request_error'));
      return;
    }
    const body = (await readJson(req)) as { input: string | string[]; model: string; dimensions?: number; encoding_format?: string };
    const encodingFormat = body.encoding_format ?? 'float';
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    const counts = inputs.map((t) => countTokens(t, { disallowedSpecial: new Set() }));
    const maxInputTokens = Math.max(0, ...counts);
    const tokens = counts.reduce((a, b) => a + b, 0);
    const tooLong = maxInputTokens > MAX_TOKENS_PER_INPUT || tokens > MAX_TOKENS_PER_REQUEST;
    const failure = queue.shift() ?? always;
    const status = tooLong ? 400 : failure && 'status' in failure ? failure.status : 200;
    requests.push({
      at,
      inputs: inputs.length,
      maxInputChars: Math.max(0, ...inputs.map((t) => t.length)),
      maxInputTokens,
      tokens,
      model: body.model,
      dimensions: body.dimensions,
      encodingFormat,
      status,
    });
    if (fake.latencyMs > 0) await new Promise((r) => setTimeout(r, fake.latencyMs));

    if (tooLong) {
      const what = maxInputTokens > MAX_TOKENS_PER_INPUT ? `an input of ${maxInputTokens} tokens (at most ${MAX_TOKENS_PER_INPUT})` : `${tokens} tokens in one request (at most ${MAX_TOKENS_PER_REQUEST})`;
      send(res, 400, apiError(`Invalid request: ${what}`, 'invalid_request_error'));
      return;
    }
    if (failure && 'status' in failure) {
      if (failure.status === 429) {
        const headers: Record<string, string> = failure.retryAfterSeconds === undefined ? {} : { 'retry-after': String(failure.retryAfterSeconds) };
        send(res, 429, apiError('Rate limit reached for text-embedding-3-small', 'requests'), headers);
      } else if (failure.status === 401) {
        send(res, 401, apiError('Incorrect API key provided', 'invalid_request_error'));
      } else {
        send(res, 500, apiError('The server had an error while processing your request', 'server_error'));
      }
      return;
    }
    const dimensions = failure ? failure.wrongDimensions : (body.dimensions ?? FAKE_DIMENSIONS);
    send(res, 200, {
      object: 'list',
      model: body.model,
      data: inputs.map((text, index) => {
        const vector = fakeVector(text, dimensions);
        const embedding = encodingFormat === 'base64' ? Buffer.from(Float32Array.from(vector).buffer).toString('base64') : vector;
        return { object: 'embedding', index, embedding };
      }),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  // Idle keep-alive sockets stay open for minutes, as the real API's do. With Node's 5 s default, a
  // test process busy for longer between two requests (the client and this server share its event
  // loop) had the server close the socket just as the client reused it: "Connection error.".
  server.keepAliveTimeout = 120_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return Object.assign(fake, { baseURL: `http://127.0.0.1:${port}/v1` });
}
