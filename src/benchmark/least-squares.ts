/** Ordinary least squares of a line, shared by the drift detector and the capacity runway. */

export interface Line {
  intercept: number;
  slope: number;
}

/** y = intercept + slope · x over the points; null with fewer than two points or when x does not vary. */
export function fitLine(points: readonly { x: number; y: number }[]): Line | null {
  if (points.length < 2) return null;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  return { intercept: my - slope * mx, slope };
}

/** y = slope · x over the points (least squares through the origin: Σxy / Σx²); null without a point off x = 0. */
export function fitThroughOrigin(points: readonly { x: number; y: number }[]): number | null {
  const sxx = points.reduce((s, p) => s + p.x * p.x, 0);
  if (sxx === 0) return null;
  return points.reduce((s, p) => s + p.x * p.y, 0) / sxx;
}
