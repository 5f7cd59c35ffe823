/**
 * The tags synthetic capacity rows carry and the share of rows that carries each (about 10% and
 * about 1%: the two selectivities of the filtered benchmark). Plain data, so workflows can read it;
 * capacity/generator assigns them.
 */
export const CAPACITY_TAGS = [
  { name: 'capacity-10pct', share: 0.1 },
  { name: 'capacity-1pct', share: 0.01 },
] as const;

export type CapacityTagName = (typeof CAPACITY_TAGS)[number]['name'];
