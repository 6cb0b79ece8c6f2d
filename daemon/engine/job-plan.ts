// The plan of one job, decided before a pixel is decoded: the geometry and passes, the
// tiles, the model, the output's name, format, channels and depth, with every limit
// checked. Pure: the image's header, the request, the model, the limits and what the file
// system said about the output's place go in; the plan, or a DaemonError naming the
// problem, comes out. A dry run returns its summary, and the sidecar records it.
import * as path from 'node:path';
import { DaemonError } from '../../contract/errors';
import { DEFAULT_OVERLAP } from '../../contract/limits';
import type { ModelTraits, PlannedPass, UpscalePlan } from '../../contract/protocol';
import { parseBackground, type Rgba } from '../../contract/request';
import {
  DEFAULT_PADDING,
  TTA_LEVELS,
  type AlphaMode,
  type OutputFormat,
  type Padding,
  type Target,
  type TtaLevel,
} from '../../contract/vocabulary';
import {
  ALPHA_FORMATS,
  SIXTEEN_BIT_FORMATS,
  checkOutputSize,
  extensionFor,
  formatForName,
  outputFormatFor,
} from '../../contract/formats';
import { applyTemplate, DEFAULT_TEMPLATE, fileNameProblem, templateExtension } from '../../contract/naming';
import type { ImageHeader } from '../image/types';
import type { PassPlan, Size } from './plan';
import { planStages, type Branch, type Stage } from './chain-plan';
import { passGrid } from './tiled-pass';
import { chooseTile, fixedSizeOverlap, fixedSizeTile, memoryBudgetBytes, type TileBudget } from './tile-size';
import type { OnnxIo } from '../../models/onnx/image-io';
import { ttaTransforms } from './dihedral';
import { checkModelChannels, modelChannels, takesAlpha } from './channels';
import type { DeviceTensorLimit } from './device-tile';

export interface PipelineRequest {
  readonly input: string;
  readonly output?: string;
  readonly template?: string;
  readonly target: Target;
  /** Tile size in input pixels, 0 for the whole image, undefined for automatic. */
  readonly tile?: number;
  readonly overlap?: number;
  /** MiB the model's working memory may take (the automatic tile); 0 or none: a share of the machine's memory. */
  readonly memoryBudget?: number;
  readonly format?: OutputFormat;
  readonly quality?: number;
  readonly alpha: AlphaMode;
  readonly overwrite: boolean;
  readonly previewWidth?: number;
  /** With previewWidth: a preview every this many finished tiles of a pass, and its last. */
  readonly previewEvery?: number;
  /** Padding colour for fit 'contain': `#rrggbb`, `#rgb` or `transparent`. */
  readonly background?: string;
  readonly padding?: Padding;
  /** Test-time augmentation: the symmetries each tile runs through the model (2, 4 or 8). */
  readonly tta?: number;
  /** Plan and check only; nothing is decoded, run or written. */
  readonly dryRun?: boolean;
  /** Write the reproducibility record beside the output. */
  readonly sidecar?: boolean;
  /** The request as received, for the sidecar. */
  readonly params?: Readonly<Record<string, unknown>>;
  /** Why this model was chosen, for the plan. */
  readonly modelReason?: string;
}

export interface PipelineModel {
  readonly id: string;
  readonly scale: number;
  readonly inputMultiple: number;
  /** The ONNX file, hashed into the sidecar. */
  readonly onnxPath?: string;
  /** Peak activation bytes per input pixel, when known: heavy models get smaller automatic tiles. */
  readonly activationBytesPerPixel?: number | null;
  /** Multiply-accumulates per input pixel, when known: a model never run still gets a time estimate. */
  readonly macsPerPixel?: number | null;
  /** The ONNX file's size: loading it takes time in proportion. */
  readonly sizeBytes?: number;
  /** Known for models converted from weights: their channels (channels.ts) and context (automatic tiles). */
  readonly traits?: ModelTraits;
  /** An imported ONNX file's input: a fixed size makes the tiles exactly that size. */
  readonly io?: Pick<OnnxIo, 'fixedSize'>;
}

/** A second model whose result is mixed into the first's: `(1 − weight)·first + weight·second`. */
export interface BlendModel {
  readonly model: PipelineModel;
  readonly weight: number;
}

/** The models a job runs besides its main one (chain-plan.ts). */
export interface JobModels {
  /** Run once each, in order, before the main model (restoration models, say). */
  readonly before: readonly PipelineModel[];
  /** Run once each, in order, after the main model's passes. */
  readonly after: readonly PipelineModel[];
  readonly blend: BlendModel | null;
}

/** A job of one model. */
export const ONE_MODEL: JobModels = { before: [], after: [], blend: null };

/** Pixel limits, and the machine's memory and the GPU's tensor limit (for the automatic tile size). */
export interface JobLimits {
  readonly maxInputPixels: number;
  readonly maxOutputPixels: number;
  readonly memoryBytes: number;
  /** What one tensor may take on the provider's device; absent on the CPU and where unknown. */
  readonly device?: DeviceTensorLimit;
}

/** Where the output goes, as the file system answered before planning. */
export interface OutputPlace {
  readonly folder: string;
  /** The file name the request gave, or undefined when the template names the output. */
  readonly name: string | undefined;
  readonly folderExists: boolean;
}

/** The output file: the name wanted (until it is claimed), and whether the user gave it (`named`: kept or refused, never changed). */
export interface OutputChoice {
  readonly file: string;
  readonly format: OutputFormat;
  readonly named: boolean;
}

/** One pass's model and geometry: input size, tile and grid. */
export interface PassLayout {
  readonly model: PipelineModel;
  /** The output's own passes, or the blend's. */
  readonly branch: Branch;
  readonly input: Size;
  readonly output: Size;
  readonly tileWidth: number;
  readonly tileHeight: number;
  readonly columns: number;
  readonly rows: number;
  /** The tensor the model sees per tile (padded extent when one tile spans an axis). */
  readonly tensorWidth: number;
  readonly tensorHeight: number;
}

export interface JobPlan {
  readonly input: Size & { readonly format: string };
  /** The main model: the one whose passes reach the target. */
  readonly model: PipelineModel;
  /** The models the output goes through, in order (the main model alone, or a chain). */
  readonly chain: readonly PipelineModel[];
  /** Where the main model is in the chain. */
  readonly mainIndex: number;
  readonly blend: BlendModel | null;
  readonly modelReason: string;
  readonly geometry: PassPlan;
  readonly layouts: readonly PassLayout[];
  readonly overlap: number;
  readonly edgePad: number;
  readonly padding: Padding;
  /** Model runs per tile: the TTA level, 1 without. */
  readonly tta: TtaLevel;
  /** The input pixels a tile decides, as the result reports it: the largest of the passes (0: whole). */
  readonly tile: number;
  readonly output: OutputChoice;
  /** The padding colour, or null when the content fills the output. */
  readonly background: { readonly text: string; readonly rgba: Rgba } | null;
  readonly depth: 8 | 16;
  readonly alpha: AlphaMode;
  /** Whether the image has an alpha channel: as its header says, until its pixels settle it (settleAlpha). */
  readonly hasAlpha: boolean;
  /** Planes each pass runs through the model: 2 when the model upscales the alpha too, as a plane of its own. */
  readonly planes: 1 | 2;
  /** The model upscales the alpha inside the colour tiles (an RGBA model). */
  readonly alphaWithColour: boolean;
  readonly channels: 3 | 4;
  readonly warnings: readonly string[];
  /** The plan as the protocol describes it: what a dry run returns and the sidecar records. */
  readonly summary: UpscalePlan;
}

/**
 * Mirrored border around the image with `padding: 'reflect'`, in input pixels. Not the
 * default: a whole-image run with it is no longer the model's own output, and on five
 * photos and two models the outer 8 output pixels of a crop came out closer to the same
 * model run with the crop's real surroundings without it in 8 cases of 10, level in one
 * and 0.3 dB behind in one (`npm run bench -- --only border`).
 */
export const EDGE_PAD = 4;
/** Largest output raster: one typed array, which Node 20 limits to 2^32 bytes. */
export const MAX_RASTER_BYTES = 2 ** 32;

/**
 * The border added around the image. None by default. Mirrored, it is context for edge
 * tiles, so it is no wider than the context inner tiles get: with --overlap 0 a 512 px
 * tile covers a 512 px image in one piece, not two. With wrap padding the image's edges
 * are seams inside a repeating texture, so they get the context a seam between tiles gets
 * (2 x overlap).
 */
export function edgePadFor(padding: Padding, overlap: number): number {
  switch (padding) {
    case 'none':
      return 0;
    case 'reflect':
      return Math.min(EDGE_PAD, overlap);
    case 'wrap':
      return Math.max(EDGE_PAD, 2 * overlap);
  }
}

/** The request's TTA level (validated where the field is defined: 2, 4 or 8), 1 without. */
function ttaLevel(tta: number | undefined): TtaLevel {
  if (tta === undefined) return 1;
  const level = TTA_LEVELS.find((l) => l === tta);
  if (level === undefined) throw new DaemonError('InvalidParams', `upscale: 'tta' is ${tta}; expected 2, 4 or 8`);
  return level;
}

function checkInputPixels(file: string, input: { width: number; height: number }, maxInputPixels: number): void {
  const pixels = input.width * input.height;
  if (pixels > maxInputPixels) {
    throw new DaemonError(
      'ImageTooLarge',
      `${file}: ${input.width}x${input.height} is ${pixels} pixels, above the input limit of ${maxInputPixels}`,
      file,
    );
  }
}

/** The result's `tile`: the most input pixels a tile of any pass decides, its context left out (0: whole images). */
function largestCore(layouts: readonly { tileWidth: number; tileHeight: number }[], overlap: number): number {
  const shared = 2 * overlap;
  return Math.max(0, ...layouts.map((l) => Math.max(l.tileWidth - shared, l.tileHeight - shared, 0)));
}

/**
 * What each model's automatic tile is chosen within: the whole image wherever it fits the
 * budget (and, on a GPU, the device's tensor limit), for every model (a model with global
 * context gives its own output only that way), else the fastest tiling that fits.
 */
function tileBudgetOf(requestMib: number | undefined, limits: JobLimits): (m: PipelineModel) => TileBudget {
  const budgetBytes = memoryBudgetBytes(requestMib, limits.memoryBytes);
  return (m) => ({
    bytesPerPixel: m.activationBytesPerPixel,
    budgetBytes,
    ...(limits.device && { device: limits.device }),
  });
}

/** Checks the request against the header and the limits, and plans the job (see the top of this file). */
export function planJob(
  header: ImageHeader,
  req: PipelineRequest,
  model: PipelineModel,
  limits: JobLimits,
  place: OutputPlace,
  models: JobModels = ONE_MODEL,
): JobPlan {
  const input = { width: header.width, height: header.height, format: header.format };
  checkInputPixels(req.input, input, limits.maxInputPixels);
  const chain = [...models.before, model, ...models.after];
  for (const m of [...chain, ...(models.blend ? [models.blend.model] : [])])
    checkModelChannels(modelChannels(m), m.onnxPath ?? m.id);
  const { geometry, stages } = planGeometry(req, input, model, models, limits.maxOutputPixels);
  const output = chooseOutput(req, chain, input, geometry.final, place);
  const warnings: string[] = [];
  const background = resolveBackground(req, geometry, output.format, warnings);
  const tta = ttaLevel(req.tta);
  const overlap = plannedOrRefused(() =>
    overlapFor([...chain, ...(models.blend ? [models.blend.model] : [])], req.overlap, tta),
  );
  const padding = req.padding ?? DEFAULT_PADDING;
  const edgePad = edgePadFor(padding, overlap);
  const layouts = passLayouts(stages, req.tile, overlap, edgePad, tileBudgetOf(req.memoryBudget, limits));
  const depth = outputDepth(header.depth, output.format);
  const transparentPad = background !== null && background.rgba.a === 0;
  checkRasterSize(req.input, geometry.final, header.hasAlpha || transparentPad ? 4 : 3, depth);
  const tile = largestCore(layouts, overlap);
  return withAlpha(
    {
      input,
      model,
      chain,
      mainIndex: models.before.length,
      blend: models.blend,
      modelReason: req.modelReason ?? 'named in the request',
      geometry,
      layouts,
      overlap,
      edgePad,
      padding,
      tta,
      tile,
      output,
      background,
      depth,
      alpha: req.alpha,
      warnings,
    },
    header.hasAlpha,
  );
}

/**
 * The plan once the pixels are decoded: an alpha channel that is opaque everywhere is
 * dropped by the decoder (decode.ts), so the job runs, and records, no alpha plane.
 */
export function settleAlpha(plan: JobPlan, hasAlpha: boolean): JobPlan {
  return hasAlpha === plan.hasAlpha ? plan : withAlpha(plan, hasAlpha);
}

/** The plan with the output file claimed (a name the program chose may have moved to a free one). */
export function withOutputFile(plan: JobPlan, file: string): JobPlan {
  return { ...plan, output: { ...plan.output, file }, summary: { ...plan.summary, outputPath: file } };
}

type AlphaFree = Omit<JobPlan, 'hasAlpha' | 'planes' | 'alphaWithColour' | 'channels' | 'summary'>;

function withAlpha(plan: AlphaFree, hasAlpha: boolean): JobPlan {
  const transparentPad = plan.background !== null && plan.background.rgba.a === 0;
  const modelAlpha = hasAlpha && plan.alpha === 'model';
  // The alpha joins the colour only where every model takes it (RGBA models); otherwise it
  // is a plane of its own, which any model upscales (channels.ts).
  const models = [...plan.chain, ...(plan.blend ? [plan.blend.model] : [])];
  const alphaWithColour = modelAlpha && models.every((m) => takesAlpha(modelChannels(m)));
  const planes: 1 | 2 = modelAlpha && !alphaWithColour ? 2 : 1;
  const channels: 3 | 4 = hasAlpha || transparentPad ? 4 : 3;
  const settled = { ...plan, hasAlpha, planes, alphaWithColour, channels };
  return { ...settled, summary: describePlan(settled) };
}

function planGeometry(
  req: PipelineRequest,
  input: Size,
  main: PipelineModel,
  models: JobModels,
  maxOutputPixels: number,
): { geometry: PassPlan; stages: readonly Stage<PipelineModel>[] } {
  let planned: { geometry: PassPlan; stages: readonly Stage<PipelineModel>[] };
  try {
    planned = planStages(input, req.target, { ...models, main, blend: models.blend?.model ?? null });
  } catch (e) {
    throw new DaemonError('InvalidParams', (e as Error).message);
  }
  for (const size of [...planned.stages.map((s) => s.output), planned.geometry.final]) {
    if (size.width * size.height > maxOutputPixels) {
      throw new DaemonError(
        'ImageTooLarge',
        `${req.input}: upscaling needs a ${size.width}x${size.height} image (${size.width * size.height} pixels), above the output limit of ${maxOutputPixels}; choose a smaller scale`,
        req.input,
      );
    }
  }
  return planned;
}

/** The output's name and format: the name the request gave, or the template's; the format its extension names. */
function chooseOutput(
  req: PipelineRequest,
  chain: readonly PipelineModel[],
  input: Size & { readonly format: string },
  final: Size,
  place: OutputPlace,
): OutputChoice {
  const { folder } = place;
  let name = place.name;
  let format: OutputFormat;
  try {
    if (name !== undefined) {
      const given = path.join(folder, name);
      const problem = fileNameProblem(name);
      if (problem !== null) throw new Error(`${given}: the name ${problem}; choose another output name`);
      format = formatForName(given, req.format);
    } else {
      const fallback = outputFormatFor(input, req.format);
      const template = req.template ?? DEFAULT_TEMPLATE;
      name = applyTemplate(template, {
        name: path.parse(req.input).name,
        scale: req.target.kind === 'scale' ? req.target.scale : final.width / input.width,
        width: final.width,
        height: final.height,
        model: chain.map((m) => m.id).join('+'),
        ext: extensionFor(fallback).replace(/^\./, ''),
      });
      const ext = templateExtension(template);
      format = ext === '{ext}' ? fallback : formatForName(path.join(folder, name), req.format, ext);
    }
  } catch (e) {
    throw new DaemonError('InvalidParams', (e as Error).message, req.output);
  }
  if (!place.folderExists)
    throw new DaemonError('OutputNotWritable', `${folder}: output folder does not exist`, folder);
  const file = path.join(folder, name);
  try {
    checkOutputSize(format, final.width, final.height);
  } catch (e) {
    throw new DaemonError('ImageTooLarge', `${file}: ${(e as Error).message}`, file);
  }
  return { file, format, named: place.name !== undefined };
}

/** The padding colour, or null when the output has no padding. */
function resolveBackground(
  req: PipelineRequest,
  geometry: PassPlan,
  format: OutputFormat,
  warnings: string[],
): JobPlan['background'] {
  const padded = geometry.content.width !== geometry.final.width || geometry.content.height !== geometry.final.height;
  if (!padded) return null;
  const canAlpha = ALPHA_FORMATS.has(format);
  const text = req.background ?? (canAlpha ? 'transparent' : '#ffffff');
  const rgba = parseBackground(text);
  if (rgba === null)
    throw new DaemonError('InvalidParams', `upscale: 'background' is "${text}"; expected #rrggbb, #rgb or transparent`);
  if (rgba.a === 0 && !canAlpha) {
    warnings.push(
      `${format.toUpperCase()} cannot store transparency: the padding is white. Choose PNG, WebP, TIFF or AVIF, or --background.`,
    );
    return { text: '#ffffff', rgba: { r: 1, g: 1, b: 1, a: 1 } };
  }
  return { text, rgba };
}

/**
 * The job's overlap: the one asked for, or the default. A model that takes one input size
 * (fixed-size ONNX) must have room for it inside its tiles, and cannot take the quarter turns
 * of TTA 8 unless its size is square.
 */
function overlapFor(models: readonly PipelineModel[], requested: number | undefined, tta: TtaLevel): number {
  let overlap = requested ?? DEFAULT_OVERLAP;
  for (const m of models) {
    const fixed = m.io?.fixedSize;
    if (!fixed) continue;
    if (fixed.width !== fixed.height && ttaTransforms(tta).some((t) => t.transpose)) {
      throw new RangeError(
        `'tta' is ${tta}, which turns tiles by a quarter, but model '${m.id}' takes a fixed ${fixed.width}x${fixed.height} input; expected 2 or 4`,
      );
    }
    overlap = Math.min(overlap, fixedSizeOverlap(requested, fixed, DEFAULT_OVERLAP));
  }
  return overlap;
}

/** A tile-planning rule's refusal of the request, as the request's error. */
function plannedOrRefused<T>(plan: () => T): T {
  try {
    return plan();
  } catch (e) {
    throw new DaemonError('InvalidParams', `upscale: ${(e as Error).message}`);
  }
}

function passLayouts(
  stages: readonly Stage<PipelineModel>[],
  tile: number | undefined,
  overlap: number,
  edgePad: number,
  budget: (model: PipelineModel) => TileBudget,
): PassLayout[] {
  const layouts: PassLayout[] = [];
  for (const { model, branch, input: current, output } of stages) {
    const [width, height] = [current.width + 2 * edgePad, current.height + 2 * edgePad];
    const fixed = model.io?.fixedSize;
    const t = fixed
      ? plannedOrRefused(() => fixedSizeTile(fixed, tile, width, height, overlap))
      : chooseTile(tile, width, height, overlap, budget(model));
    const grid = passGrid(current, { tileWidth: t.width, tileHeight: t.height, overlap: 2 * overlap, edgePad });
    const [c0] = grid.cols;
    const [r0] = grid.rows;
    if (c0 === undefined || r0 === undefined) throw new RangeError('a pass has at least one tile per axis');
    layouts.push({
      model,
      branch,
      input: current,
      output,
      tileWidth: t.width,
      tileHeight: t.height,
      columns: grid.cols.length,
      rows: grid.rows.length,
      tensorWidth: c0.end - c0.start,
      tensorHeight: r0.end - r0.start,
    });
  }
  return layouts;
}

/** The output raster is one typed array (at most 2^32 bytes in Node 20). */
function checkRasterSize(file: string, final: Size, channels: number, depth: 8 | 16): void {
  const bytes = final.width * final.height * channels * (depth / 8);
  if (bytes > MAX_RASTER_BYTES) {
    throw new DaemonError(
      'ImageTooLarge',
      `${file}: a ${final.width}x${final.height} output with ${channels} channels needs ${(bytes / 2 ** 30).toFixed(1)} GiB in one buffer, above the ${MAX_RASTER_BYTES / 2 ** 30} GiB a raster can have; choose a smaller scale or size`,
      file,
    );
  }
}

function outputDepth(sourceDepth: 8 | 16, format: OutputFormat): 8 | 16 {
  return sourceDepth === 16 && SIXTEEN_BIT_FORMATS.has(format) ? 16 : 8;
}

/** Planes a pass runs through its model: the blend mixes colour only, so its passes run no alpha. */
export function layoutPlanes(plan: Pick<JobPlan, 'planes'>, layout: PassLayout): 1 | 2 {
  return layout.branch === 'blend' ? 1 : plan.planes;
}

function describePlan(plan: Omit<JobPlan, 'summary'>): UpscalePlan {
  const { geometry, model } = plan;
  const passes: PlannedPass[] = plan.layouts.map((l) => ({
    model: l.model.id,
    scale: l.model.scale,
    branch: l.branch,
    inputWidth: l.input.width,
    inputHeight: l.input.height,
    outputWidth: l.output.width,
    outputHeight: l.output.height,
    tileWidth: l.tensorWidth,
    tileHeight: l.tensorHeight,
    overlap: 2 * plan.overlap,
    columns: l.columns,
    rows: l.rows,
    tiles: l.columns * l.rows * layoutPlanes(plan, l),
    runs: l.columns * l.rows * layoutPlanes(plan, l) * plan.tta,
  }));
  const last = plan.geometry.passSizes.at(-1);
  return {
    inputWidth: plan.input.width,
    inputHeight: plan.input.height,
    model: model.id,
    modelReason: plan.modelReason,
    chain: plan.chain.map((m) => m.id),
    blend: plan.blend && { model: plan.blend.model.id, weight: plan.blend.weight },
    tta: plan.tta,
    passes,
    finalResize:
      geometry.resize && last
        ? {
            fromWidth: last.width,
            fromHeight: last.height,
            toWidth: geometry.content.width,
            toHeight: geometry.content.height,
          }
        : null,
    fit: geometry.fit,
    content: geometry.content,
    background: plan.background?.text ?? null,
    padding: plan.padding,
    alpha: plan.hasAlpha ? plan.alpha : null,
    outputPath: plan.output.file,
    format: plan.output.format,
    width: geometry.final.width,
    height: geometry.final.height,
    channels: plan.channels,
    depth: plan.depth,
  };
}
