/** The contract of `report <id> --json` (and reports/<run>/launch.json) for tools that consume it. */
import { z } from 'zod';
import { LAUNCH_STAGES } from '../workflows/messages.js';

const stage = z.enum(LAUNCH_STAGES);

export const launchReportSchema = z.strictObject({
  verdict: z.enum(['GO', 'NO-GO']),
  workflowId: z.string().min(1),
  scale: z.number().int().nonnegative(),
  startedAt: z.iso.datetime(),
  seconds: z.number().nonnegative(),
  criteria: z
    .array(
      z.strictObject({
        id: z.string().min(1),
        description: z.string().min(1),
        passed: z.boolean(),
        value: z.string(),
        threshold: z.string(),
        stage,
      }),
    )
    .min(1),
  stages: z
    .array(
      z.object({
        stage,
        track: z.enum(['preflight', 'coldStart', 'hardening']),
        state: z.enum(['pending', 'running', 'succeeded', 'failed', 'skipped']),
        workflowId: z.string(),
        startedAt: z.string().optional(),
        seconds: z.number().optional(),
        summary: z.string().optional(),
        error: z.string().optional(),
        live: z.unknown().optional(),
      }),
    )
    .length(LAUNCH_STAGES.length),
  results: z.record(stage, z.unknown()),
});
