/**
 * `bench report --runway`: loads the stored capacity re-check figures, fits and projects them
 * (src/benchmark/runway.ts), prints the projections and writes reports/runway/runway.html.
 */
import type pg from 'pg';
import { projectRunway, type RunwayForecast, type RunwaySample } from '../benchmark/runway.js';
import { loadRunwaySamples } from '../benchmark/runway-store.js';
import { growthLine, runwayTables, writeRunwayReport } from '../report/runway.js';
import { textTable } from './format.js';

export interface RunwayOutput {
  forecast: RunwayForecast;
  samples: RunwaySample[];
  html: string;
}

export async function runwayReport(pool: pg.Pool, reportsDir?: string): Promise<RunwayOutput> {
  const samples = await loadRunwaySamples(pool);
  const forecast = projectRunway(samples);
  return { forecast, samples, html: await writeRunwayReport(forecast, samples, reportsDir) };
}

export function formatRunway({ forecast, samples, html }: RunwayOutput): string {
  const tables = runwayTables(forecast, samples).map((t) => `${t.title}\n${textTable(t.header, t.rows)}`);
  const notes = forecast.notes.map((n) => `note: ${n}`);
  return [`capacity runway: ${growthLine(forecast)}`, ...notes, '', ...tables.join('\n\n').split('\n'), '', `report: ${html}`].join('\n');
}
