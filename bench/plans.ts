// What a full run and a `--quick` run measure. The quick plan fits in about three
// minutes on a 2-core CPU: fewer sizes, x4plus only at 64², one photo, small sweeps.
import type { SpeedPlan } from './speed';
import type { SweepPlan } from './sweep';
import type { PrecisionCase } from './precision';
import type { BudgetRow } from './budget';

export interface BenchPlan {
  readonly speed: readonly SpeedPlan[];
  readonly sweeps: readonly SweepPlan[];
  readonly memoryModel: string;
  readonly memorySizes: readonly number[];
  /** The budget section's jobs of memoryModel (bench/budget.ts): the README's trade-off table. */
  readonly budgets: readonly BudgetRow[];
  /** The combos section (bench/combos.ts): photos and the side of their centred crops. */
  readonly combos: { readonly photos: readonly string[]; readonly crop: number };
  readonly cancelModel: string;
  readonly cancelInputSize: number;
  readonly cancelWhen: readonly ('mid-tile' | 'after-tile')[];
  readonly startupRuns: number;
  readonly loadModels: readonly string[];
  readonly qualityPhotos: readonly string[];
  /** A centred square crop of each photo for quality, or null for whole photos. */
  readonly qualityCrop: number | null;
  /** Models and photos for the border section (bench/border.ts). */
  readonly borders: readonly { model: string; photos: readonly string[] }[];
  /** fp16 against fp32 (bench/precision.ts), on a GPU provider. */
  readonly precision: { readonly cases: readonly PrecisionCase[]; readonly photos: readonly string[] };
  readonly matmulSize: number;
  readonly matmulRuns: number;
  /** The arch section's whole-image input side and timed runs per model (bench/arch.ts). */
  readonly archSize: number;
  readonly archRuns: number;
}

const GENERAL = 'realesr-general-x4v3';
const X4PLUS = 'realesrgan-x4plus';

export const FULL_PLAN: BenchPlan = {
  speed: [
    { model: GENERAL, sizes: [64, 128, 256, 512, 1024], smallRepeats: 5, largeRepeats: 3, searchSize: 512 },
    { model: X4PLUS, sizes: [64, 128, 256, 512], smallRepeats: 3, largeRepeats: 1, searchSize: 192 },
  ],
  sweeps: [
    { model: GENERAL, photo: 'baboon', crop: 512, tiles: [64, 128, 256, 512], overlaps: [0, 8, 16, 32] },
    { model: X4PLUS, photo: 'baboon', crop: 128, tiles: [32, 64], overlaps: [0, 8, 16] },
  ],
  memoryModel: GENERAL,
  memorySizes: [1024, 1536, 2048],
  budgets: [
    { inputSize: 256, budgetMib: null },
    { inputSize: 512, budgetMib: null },
    { inputSize: 512, budgetMib: 256 },
    { inputSize: 2000, budgetMib: null },
    { inputSize: 2000, budgetMib: 2600 },
    { inputSize: 2000, budgetMib: 1024 },
    { inputSize: 2000, budgetMib: 512 },
  ],
  combos: { photos: ['baboon', 'fruits', 'butterfly', 'messi5'], crop: 512 },
  cancelModel: GENERAL,
  cancelInputSize: 1024,
  cancelWhen: ['mid-tile', 'after-tile'],
  startupRuns: 3,
  loadModels: [GENERAL, X4PLUS],
  qualityPhotos: ['baboon', 'fruits', 'butterfly', 'messi5'],
  qualityCrop: null,
  borders: [
    { model: GENERAL, photos: ['baboon', 'fruits', 'butterfly', 'messi5', 'building'] },
    { model: X4PLUS, photos: ['baboon', 'fruits', 'butterfly', 'messi5', 'building'] },
  ],
  // Crops small enough for a software adapter (lavapipe runs x4plus at 48² in about 10 s).
  precision: {
    cases: [
      { model: GENERAL, crop: 96 },
      { model: X4PLUS, crop: 48 },
      { model: 'upscalerjs-esrgan-slim-x4', crop: 96 },
    ],
    photos: ['baboon', 'fruits', 'butterfly', 'messi5', 'building'],
  },
  matmulSize: 2048,
  matmulRuns: 7,
  archSize: 256,
  archRuns: 3,
};

export const QUICK_PLAN: BenchPlan = {
  speed: [
    { model: GENERAL, sizes: [64, 128, 256], smallRepeats: 3, largeRepeats: 1, searchSize: 256 },
    { model: X4PLUS, sizes: [64], smallRepeats: 1, largeRepeats: 1, searchSize: 64 },
  ],
  sweeps: [{ model: GENERAL, photo: 'baboon', crop: 192, tiles: [64, 128], overlaps: [0, 16] }],
  memoryModel: GENERAL,
  memorySizes: [256, 384],
  budgets: [
    { inputSize: 256, budgetMib: null },
    { inputSize: 256, budgetMib: 128 },
  ],
  combos: { photos: ['baboon'], crop: 256 },
  cancelModel: GENERAL,
  cancelInputSize: 768,
  cancelWhen: ['mid-tile'],
  startupRuns: 2,
  loadModels: [GENERAL, X4PLUS],
  qualityPhotos: ['baboon'],
  qualityCrop: 256,
  borders: [{ model: GENERAL, photos: ['baboon', 'fruits'] }],
  precision: { cases: [{ model: GENERAL, crop: 64 }], photos: ['baboon'] },
  matmulSize: 2048,
  matmulRuns: 3,
  archSize: 256,
  archRuns: 2,
};
