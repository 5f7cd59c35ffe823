/** EXPLAIN helpers: the benchmark proves which access path it measured instead of assuming it. */
import type pg from 'pg';

export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

export interface ExplainedPlan {
  nodes: PlanNode[];
  /** e.g. "Limit > Index Scan on traces (ix_traces_embedding_hnsw)". */
  outline: string;
}

function flatten(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(flatten)];
}

/** The plan of `sql` with `params`, under whatever settings the client's transaction has. */
export async function explain(client: pg.ClientBase, sql: string, params: unknown[]): Promise<ExplainedPlan> {
  const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${sql}`, params);
  const nodes = flatten(rows[0]!['QUERY PLAN'][0].Plan);
  const outline = nodes
    .map((n) => n['Node Type'] + (n['Relation Name'] ? ` on ${n['Relation Name']}` : '') + (n['Index Name'] ? ` (${n['Index Name']})` : ''))
    .join(' > ');
  return { nodes, outline };
}
