/**
 * Known pgvector bugs, fixed upstream, that this project's workload triggers: the parallel HNSW
 * build (indexBuild) and HNSW vacuuming after cleanup's bulk delete. One table, read by preflight
 * (which names the ones that apply), the index build (no parallel workers while affected) and
 * cleanup (no HNSW vacuum after its bulk delete while affected). Pure: no I/O.
 */

/** The installed version; run it on any connection. NULL (no row) when the extension is not created. */
export const PGVECTOR_VERSION_SQL = `SELECT extversion FROM pg_extension WHERE extname = 'vector'`;

export interface PgvectorAdvisory {
  id: string;
  /** How a report names it in one phrase. */
  label: string;
  summary: string;
  /** First affected version; every earlier one when absent. */
  introducedIn?: string;
  fixedIn: string;
  reference: string;
  /** What this project does while the installed version is affected. */
  mitigation: string;
  /** Whether preflight fails in production (APP_ENV=production) while it applies; it warns elsewhere. */
  failsInProduction: boolean;
  /** Which of this project's operations it hits. */
  affects: 'parallel-build' | 'vacuum';
}

const VACUUM_MITIGATION = 'capacity cleanup drops the HNSW index before its bulk delete and rebuilds it after, so no HNSW vacuum follows';

export const PGVECTOR_ADVISORIES: readonly PgvectorAdvisory[] = [
  {
    id: 'CVE-2026-3172',
    label: 'CVE-2026-3172',
    summary: 'buffer overflow in parallel HNSW index builds',
    introducedIn: '0.6.0',
    fixedIn: '0.8.2',
    reference: 'pgvector issue 959',
    mitigation: 'index builds run with max_parallel_maintenance_workers = 0',
    failsInProduction: true,
    affects: 'parallel-build',
  },
  {
    id: 'hnsw-vacuum-corruption',
    label: 'HNSW vacuum can corrupt the index',
    summary: 'HNSW vacuuming can corrupt the index',
    fixedIn: '0.8.3',
    reference: 'pgvector 0.8.3 changelog',
    mitigation: VACUUM_MITIGATION,
    failsInProduction: false,
    affects: 'vacuum',
  },
  {
    id: 'hnsw-vacuum-graph-not-repaired',
    label: 'HNSW vacuum "graph not repaired"',
    summary: 'HNSW vacuum can fail with "hnsw graph not repaired"',
    fixedIn: '0.8.4',
    reference: 'pgvector issue 993',
    mitigation: VACUUM_MITIGATION,
    failsInProduction: false,
    affects: 'vacuum',
  },
];

/** Numeric comparison of dotted versions ("0.8.10" > "0.8.9"); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

export function isAffected(advisory: PgvectorAdvisory, version: string): boolean {
  return (advisory.introducedIn === undefined || compareVersions(version, advisory.introducedIn) >= 0) && compareVersions(version, advisory.fixedIn) < 0;
}

/** The advisories that apply to `version`, in table order. */
export function advisoriesFor(version: string): PgvectorAdvisory[] {
  return PGVECTOR_ADVISORIES.filter((a) => isAffected(a, version));
}

/** The lowest version with every fix of the advisories given (the upgrade target). */
export function upgradeTarget(advisories: readonly PgvectorAdvisory[]): string | null {
  return advisories.map((a) => a.fixedIn).sort(compareVersions).at(-1) ?? null;
}

function blocker(version: string, affects: PgvectorAdvisory['affects']): string | null {
  const applying = advisoriesFor(version).filter((a) => a.affects === affects);
  const target = upgradeTarget(applying);
  if (!target) return null;
  return `pgvector ${version} < ${target}: ${applying.map((a) => a.label).join('; ')}`;
}

/** Why an HNSW build must not use parallel workers on `version` (null: it may). */
export function parallelBuildBlocker(version: string): string | null {
  return blocker(version, 'parallel-build');
}

/** Why an HNSW index must not be vacuumed after a bulk delete on `version` (null: it may). */
export function vacuumBlocker(version: string): string | null {
  return blocker(version, 'vacuum');
}

export interface AdvisoryVerdict {
  status: 'pass' | 'warn' | 'fail';
  value: string;
  detail: string;
}

/** The preflight verdict for `version`: fail in production for an advisory that demands it, warn otherwise. */
export function advisoryVerdict(version: string, production: boolean): AdvisoryVerdict {
  const applying = advisoriesFor(version);
  if (applying.length === 0) return { status: 'pass', value: version, detail: 'no known fixed pgvector bug applies' };
  const fails = production && applying.some((a) => a.failsInProduction);
  const listed = applying.map((a) => `${a.id}: ${a.summary}, fixed in ${a.fixedIn} (${a.reference}); meanwhile ${a.mitigation}`);
  return {
    status: fails ? 'fail' : 'warn',
    value: `${version}: ${applying.length} fixed bug${applying.length === 1 ? '' : 's'} apply`,
    detail: `${listed.join('. ')}. Upgrade pgvector to >= ${upgradeTarget(applying)} (install the build, then ALTER EXTENSION vector UPDATE)` +
      (fails ? '; production refuses versions below the CVE fix' : ''),
  };
}
