/**
 * Connection settings shared by the worker and the CLI, so both reach the same cluster the same way
 * (local dev server by default; Temporal Cloud with an API key or mTLS in production).
 */
import { readFileSync } from 'node:fs';
import { Connection, Client } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/client';
import type { Config } from './config.js';

export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
}

export function temporalConnectionOptions(config: Config): TemporalConnectionOptions {
  const t = config.temporal;
  let tls: TLSConfig | boolean | undefined;
  if (t.tlsCertPath && t.tlsKeyPath) {
    tls = { clientCertPair: { crt: readFileSync(t.tlsCertPath), key: readFileSync(t.tlsKeyPath) } };
  } else if (t.tls) {
    tls = true;
  }
  return { address: t.address, ...(tls !== undefined && { tls }), ...(t.apiKey && { apiKey: t.apiKey }) };
}

export class TemporalUnreachableError extends Error {
  constructor(address: string, cause: unknown) {
    super(
      `Cannot reach the Temporal server at ${address}: ${(cause as Error).message}. ` +
        'Start the local stack with `npm run stack:up`, or set TEMPORAL_ADDRESS (and TEMPORAL_API_KEY / TLS for Temporal Cloud).',
    );
    this.name = 'TemporalUnreachableError';
  }
}

export async function connectClient(config: Config): Promise<Client> {
  const options = temporalConnectionOptions(config);
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...options, connectTimeout: '5s' });
  } catch (err) {
    throw new TemporalUnreachableError(options.address, err);
  }
  return new Client({ connection, namespace: config.temporal.namespace });
}

export function workflowUiUrl(config: Config, workflowId: string, runId?: string): string {
  const base = `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}/history` : base;
}


export { rootCauseMessage } from './failure.js';
