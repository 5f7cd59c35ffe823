/**
 * The API that workflows load-test when no base URL is given: served inside the worker process on
 * config.api.host:port, started once per worker and reused after. If the port already holds a
 * healthy CommonTrace API (another worker in this process, or `npm run cli -- api`), that one is used.
 */
import type { Config } from '../config.js';
import { ApiClient } from './api-client.js';
import { SERVICE_NAME } from './health.js';
import { startApiServer, type ApiDeps, type RunningApi } from './server.js';

export type LocalApiSource = 'started' | 'running' | 'reused';

export class ApiPortBusyError extends Error {
  constructor(url: string, cause: string) {
    super(
      `Cannot serve the API on ${url}: ${cause}, and what answers there is not a healthy CommonTrace API. ` +
        'Free the port, set API_PORT to another one, or pass the base URL of a running API.',
    );
    this.name = 'ApiPortBusyError';
  }
}

/** Keyed by the worker's dependency object: one server per worker, closed with that worker. */
const servers = new WeakMap<ApiDeps, Promise<RunningApi>>();

export function localBaseUrl(config: Config): string {
  const { host, port } = config.api;
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

export async function isCommonTraceApi(baseUrl: string): Promise<boolean> {
  const res = await new ApiClient(baseUrl, 2_000).health();
  return res.status === 200 && res.body?.service === SERVICE_NAME;
}

export async function ensureLocalApiServer(deps: ApiDeps): Promise<{ baseUrl: string; source: LocalApiSource }> {
  const mine = servers.get(deps);
  if (mine) {
    await mine;
    return { baseUrl: localBaseUrl(deps.config), source: 'running' };
  }
  const baseUrl = localBaseUrl(deps.config);
  if (await isCommonTraceApi(baseUrl)) return { baseUrl, source: 'reused' };
  if (!servers.has(deps)) servers.set(deps, startApiServer(deps.config, { deps }));
  try {
    await servers.get(deps);
    return { baseUrl, source: 'started' };
  } catch (err) {
    servers.delete(deps);
    // Another worker in this process may have won the race for the port.
    if (await isCommonTraceApi(baseUrl)) return { baseUrl, source: 'reused' };
    throw new ApiPortBusyError(baseUrl, (err as Error).message);
  }
}

/** Closes the API this worker started, if any (the worker's own pool and Redis stay open). */
export async function stopLocalApiServer(deps: ApiDeps): Promise<void> {
  const running = servers.get(deps);
  servers.delete(deps);
  await (await running?.catch(() => undefined))?.close();
}
