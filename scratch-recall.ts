import pg from 'pg';
import { loadQuerySet } from './src/benchmark/query-set.js';
import { loadGroundTruth } from './src/benchmark/ground-truth.js';
import { timedSearch } from './src/benchmark/sql-bench.js';
import { recallAtK } from './src/benchmark/stats.js';
const url = 'postgres://postgres@127.0.0.1:55432/commontrace_bench_search';
const pool = new pg.Pool({ connectionString: url });
const spec = { dataset: { runKey: 'capacity-100000x1536-c1000-s42-n0.05', dimensions: 1536, clusters: 1000, sigma: 0.05, generatorSeed: 42 }, queryCount: 1000, querySeed: 7, modelId: 'local-hash-1536-v1' };
const set = await loadQuerySet(pool, spec);
const key = (await pool.query("select cache_key from benchmark_ground_truth where cache_key like '%3da7566bf37491bf'")).rows[0].cache_key;
const truth = (await loadGroundTruth(pool, key))!.neighbours;
const client = new pg.Client({ connectionString: url }); await client.connect();
for (const ef of [] as number[]) {
  const by = { seed: [] as number[], random: [] as number[] };
  for (let q = 0; q < set.literals.length; q++) {
    const { ids } = await timedSearch(client, set.literals[q]!, spec.modelId, ef, 100);
    (set.clusters[q]! < 330 ? by.seed : by.random).push(recallAtK(ids, truth[q]!, 10));
  }
  for (const [k, v] of Object.entries(by)) console.log(`ef ${ef} ${k}: n=${v.length} mean=${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(3)} zero=${v.filter((x) => x === 0).length}`);
}
// what the true top-10 of a zero-recall seed query looks like: is_seed share and similarity spread
await client.end(); await pool.end();
{
  const pool2 = new pg.Pool({ connectionString: url });
  const c2 = new pg.Client({ connectionString: url }); await c2.connect();
  let shown = 0;
  for (let q = 0; q < set.literals.length && shown < 3; q++) {
    if (set.clusters[q]! >= 330) continue;
    const { ids } = await timedSearch(c2, set.literals[q]!, spec.modelId, 64, 100);
    if (recallAtK(ids, truth[q]!, 10) > 0) continue;
    shown++;
    const sims = async (list: string[]) => (await pool2.query(`select id, is_seed, title, round((1-(embedding <=> $1::vector))::numeric,3) s from traces where id = any($2::uuid[]) order by s desc`, [set.literals[q], list])).rows.map((r) => `${r.s}${r.is_seed ? '*' : ''}`).join(' ');
    console.log(`q${q} cluster ${set.clusters[q]}\n truth:    ${await sims(truth[q]!)}\n returned: ${await sims(ids.slice(0, 10))}`);
  }
  await c2.end(); await pool2.end();
}
