/**
 * A small HTTP client for the CommonTrace API, used by the rate-limit validation and the benchmark
 * against any base URL. Network failures come back as status 0 with the error, never as throws, so a
 * burst can count them next to 200s and 429s.
 */
import type { HealthBody } from './health.js';

export interface ApiResponse<T = unknown> {
  /** 0 when no HTTP response arrived (refused, reset, timed out). */
  status: number;
  body?: T;
  error?: string;
  retryAfter: string | null;
  rateLimit: string | null;
  rateLimitPolicy: string | null;
  /** The Server-Timing header (per-stage durations of the request on the server), if sent. */
  serverTiming: string | null;
  /** Wall-clock ms, comparable across activities on different workers. */
  sentAt: number;
  receivedAt: number;
}

export interface RegisteredUser {
  userId: string;
  apiKey: string;
}

export interface TraceContribution {
  title: string;
  context: string;
  solution: string;
  tags?: string[];
  agent_model?: string;
  agent_version?: string;
}

export class ApiRequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ApiRequestError';
  }
}

const DEFAULT_TIMEOUT_MS = 15_000;

export class ApiClient {
  readonly baseUrl: string;

  constructor(baseUrl: string, private readonly timeoutMs = DEFAULT_TIMEOUT_MS) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  async request<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, options: { body?: unknown; apiKey?: string } = {}): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {};
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
    const sentAt = Date.now();
    try {
      const res = await fetch(this.baseUrl + path, {
        method,
        headers,
        ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.text();
      let body: T | undefined;
      try {
        body = text ? (JSON.parse(text) as T) : undefined;
      } catch {
        body = text as T;
      }
      return {
        status: res.status,
        body,
        retryAfter: res.headers.get('retry-after'),
        rateLimit: res.headers.get('ratelimit'),
        rateLimitPolicy: res.headers.get('ratelimit-policy'),
        serverTiming: res.headers.get('server-timing'),
        sentAt,
        receivedAt: Date.now(),
      };
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      return {
        status: 0,
        error: `${(err as Error).message}${cause ? ` (${cause})` : ''}`,
        retryAfter: null,
        rateLimit: null,
        rateLimitPolicy: null,
        serverTiming: null,
        sentAt,
        receivedAt: Date.now(),
      };
    }
  }

  async register(email: string): Promise<RegisteredUser> {
    const res = await this.request<{ user_id?: string; api_key?: string; message?: string }>('POST', '/api/v1/auth/register', { body: { email } });
    if (res.status !== 201 || !res.body?.user_id || !res.body.api_key) {
      throw new ApiRequestError(res.status, `register ${email} at ${this.baseUrl}: ${describe(res)}`);
    }
    return { userId: res.body.user_id, apiKey: res.body.api_key };
  }

  /**
   * Deletes the key's own user (DELETE /api/v1/users/me; its traces cascade). 'gone' when the API no
   * longer knows the key (401): an earlier attempt already deleted the user. Throws on anything else.
   * The endpoint is not rate-limited, so a user that spent its whole budget can still be removed.
   */
  async deleteSelf(apiKey: string): Promise<'deleted' | 'gone'> {
    const res = await this.request('DELETE', '/api/v1/users/me', { apiKey });
    if (res.status === 204) return 'deleted';
    if (res.status === 401) return 'gone';
    const hint = res.status === 404 || res.status === 405 ? ' (does this API serve DELETE /api/v1/users/me?)' : '';
    throw new ApiRequestError(res.status, `delete a test user at ${this.baseUrl}: ${describe(res)}${hint}`);
  }

  search(apiKey: string, q: string, options: { limit?: number; tags?: string[] } = {}): Promise<ApiResponse> {
    return this.request('POST', '/api/v1/traces/search', { apiKey, body: { q, ...options } });
  }

  contribute(apiKey: string, trace: TraceContribution): Promise<ApiResponse> {
    return this.request('POST', '/api/v1/traces', { apiKey, body: trace });
  }

  health(): Promise<ApiResponse<HealthBody>> {
    return this.request('GET', '/healthz');
  }
}

export function describe(res: ApiResponse): string {
  if (res.status === 0) return `no response (${res.error})`;
  const message = (res.body as { message?: string } | undefined)?.message;
  return `HTTP ${res.status}${message ? `: ${message}` : ''}`;
}
