// The schedule part of a retraining CronJob's spec, shared by the plain target's (render-retraining.ts) and KServe's.
import { BayesServeError } from "../errors.js";

const CRON_FIELD = /^[-*/,0-9A-Za-z?]+$/;

/**
 * The cron schedule, checked, its time zone, one run at a time, three runs of each outcome kept, and a run that could
 * not start within 10 minutes skipped.
 */
export function cronJobSchedule(options: { schedule: string; timeZone?: string }) {
  const fields = options.schedule.trim().split(/\s+/);
  const macro = /^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(options.schedule.trim());
  if (!macro && (fields.length !== 5 || !fields.every((f) => CRON_FIELD.test(f)))) {
    throw new BayesServeError(
      "CONFIG",
      `--schedule "${options.schedule}" is not a cron schedule: expected five fields "minute hour day-of-month month day-of-week", e.g. "0 3 * * *" (03:00 every day), or @daily/@hourly/…`,
    );
  }
  return {
    schedule: options.schedule.trim(),
    ...(options.timeZone !== undefined ? { timeZone: options.timeZone } : {}),
    concurrencyPolicy: "Forbid",
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 3,
    startingDeadlineSeconds: 600,
  } as const;
}
