/** The database bench:search fills and keeps between runs (its capacity database); bench:filter-route reads it. */
export const BENCH_DATABASE = 'commontrace_bench_search';
