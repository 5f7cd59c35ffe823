/**
 * The /healthz contract, shared by the API (routes.ts) and the callers that check it before a run:
 * 200 when it serves, 503 when a dependency is down or did not answer within its probe's limit. The
 * body names the service, so a caller can tell this API from anything else on the port.
 */
export const SERVICE_NAME = 'commontrace-api';

export interface HealthBody {
  service?: string;
  status?: string;
  database?: string;
  redis?: string;
}

/**
 * A CommonTrace API answering 503: it is there, and one of its dependencies is down or slow right
 * now (on a loaded host a probe can miss its one-second limit), so the check is worth retrying. Any
 * other non-200 answer is something that retrying will not fix.
 */
export function isDegradedCommonTrace(res: { status: number; body?: HealthBody | undefined }): boolean {
  return res.status === 503 && res.body?.service === SERVICE_NAME;
}

/** The dependencies a /healthz answer reports, for messages: "database down, redis ok". */
export function dependencyStates(body: HealthBody | undefined): string {
  return `database ${body?.database ?? 'unknown'}, redis ${body?.redis ?? 'unknown'}`;
}
