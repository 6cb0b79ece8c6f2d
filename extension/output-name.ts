// Where a job's result will go, before it runs, for the descriptions of "Upscale Image
// With…": the daemon names outputs (its template, format and clash rules), so the extension
// asks it, with a dry run of the very request the job will send.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BatchItem } from './batch';
import type { DaemonClient } from './client';
import type { UpscaleSettings } from './config';
import { upscaleParams, type JobSpec } from './job-params';

/**
 * The file name the daemon will give the result of `spec` on `item`. An output folder the
 * job would create does not exist yet, so the name is then asked for beside the source.
 */
export async function outputNameOf(
  client: Pick<DaemonClient, 'upscale'>,
  item: BatchItem,
  spec: JobSpec,
  settings: UpscaleSettings,
): Promise<string> {
  const folder = fs.existsSync(item.outputFolder) ? item.outputFolder : path.dirname(item.input);
  const plan = await client.upscale({ ...upscaleParams(item.input, folder, spec, settings), dryRun: true });
  return path.basename(plan.outputPath);
}
