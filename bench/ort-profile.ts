// Where the ceiling's own time goes: onnxruntime's profiler over one whole-image run,
// summed per operator type (Conv, PRelu, the NCHWc Reorder ops around non-NCHWc
// operators, ...), to tell a slow convolution kernel from layout or elementwise overhead.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { sessionOptions } from '../daemon/runtime/session-options';
import type { ExecutionProvider } from '../contract/vocabulary';

export interface OpShare {
  readonly op: string;
  readonly ms: number;
  readonly share: number;
  readonly count: number;
}

export interface OperatorProfile {
  readonly model: string;
  readonly size: number;
  readonly totalKernelMs: number;
  readonly ops: readonly OpShare[];
}

interface ProfileEvent {
  readonly cat?: string;
  readonly name?: string;
  readonly dur?: number;
  readonly args?: { readonly op_name?: string };
}

export async function profileOperators(
  modelPath: string,
  model: string,
  provider: ExecutionProvider,
  size: number,
  dir: string,
): Promise<OperatorProfile> {
  const prefix = path.join(dir, `ort-profile-${model}`);
  const session = await ort.InferenceSession.create(modelPath, {
    ...sessionOptions(provider),
    enableProfiling: true,
    profileFilePrefix: prefix,
  });
  const input = new ort.Tensor('float32', new Float32Array(3 * size * size).fill(0.5), [1, 3, size, size]);
  const feeds = { [session.inputNames[0] as string]: input };
  await session.run(feeds); // warm-up, profiled too: only the last run is summed below
  await session.run(feeds);
  session.endProfiling();
  await session.release();
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(path.basename(prefix)) && f.endsWith('.json'));
  const newest = files.map((f) => path.join(dir, f)).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
  if (!newest) throw new Error(`onnxruntime wrote no profile under ${dir}`);
  const events = (JSON.parse(fs.readFileSync(newest, 'utf8')) as ProfileEvent[]).filter(
    (e) => e.cat === 'Node' && e.name?.endsWith('_kernel_time'),
  );
  // Two runs were profiled; the second half of the kernel events is the warm run.
  const warm = events.slice(Math.floor(events.length / 2));
  const byOp = new Map<string, { us: number; count: number }>();
  let totalUs = 0;
  for (const e of warm) {
    const op = e.args?.op_name ?? 'unknown';
    const entry = byOp.get(op) ?? { us: 0, count: 0 };
    entry.us += e.dur ?? 0;
    entry.count++;
    byOp.set(op, entry);
    totalUs += e.dur ?? 0;
  }
  const ops = [...byOp.entries()]
    .map(([op, v]) => ({ op, ms: v.us / 1000, share: v.us / totalUs, count: v.count }))
    .sort((a, b) => b.ms - a.ms);
  return { model, size, totalKernelMs: totalUs / 1000, ops };
}
