// How a model's channels meet an image's planes, tile by tile, as chaiNNer's
// convenient_upscale adapts them: the model keeps its true channel counts and the engine
// adapts the image to it. The planes are colour (3 channels; a grey source arrives as
// three equal ones), alpha (1), or colour with alpha (4) where an RGBA model takes the
// alpha with the colour.
//
// - a grey (1 → 1) model on colour: each channel alone, the results stacked;
// - a colour model on a one-channel plane: the plane as three equal channels, the mean out;
// - a grey-in colour-out (1 → 3) model on colour: run on the mean of the channels;
// - an RGBA model on colour alone: an opaque alpha added, the model's alpha dropped.
//
// Pure: the model is the TileInference passed in, so tests give fake ones.
import { DaemonError } from '../../contract/errors';
import { outside } from '../image/checked';
import type { ModelTraits } from '../../contract/protocol';
import type { PlanarImage } from '../image/types';
import type { TileInference } from './tiled-pass';

/** What a model takes and gives, in channels. */
export interface ModelChannels {
  readonly input: number;
  readonly output: number;
}

/** A model's channels, from its traits; one without traits (ONNX, ncnn, TF.js as imported) is taken as RGB. */
export function modelChannels(model: { readonly traits?: ModelTraits }): ModelChannels {
  return model.traits?.channels ?? { input: 3, output: 3 };
}

const COUNTS = new Set([1, 3, 4]);

/**
 * Refuses, naming the model's file, a model whose channels the engine cannot adapt: each
 * count 1, 3 or 4, and an RGBA input only with an RGBA output (the alpha it takes must come
 * back).
 */
export function checkModelChannels(channels: ModelChannels, file: string): void {
  const { input, output } = channels;
  if (COUNTS.has(input) && COUNTS.has(output) && (input !== 4 || output === 4)) return;
  throw new DaemonError(
    'ModelInvalid',
    `${file}: the model takes ${input} channels and gives ${output}; Upscale adapts models of 1, 3 or 4 channels in and out (4 in only with 4 out)`,
    file,
  );
}

/** Whether an image's alpha goes through this model inside the colour tiles (an RGBA model). */
export function takesAlpha(channels: ModelChannels): boolean {
  return channels.input === 4;
}

/** `infer`, a model of `channels`, as an operation on tiles of `planeChannels` giving as many. */
export function adaptChannels(infer: TileInference, channels: ModelChannels, planeChannels: number): TileInference {
  const { input, output } = channels;
  if (input === planeChannels && output === planeChannels) return infer;
  if (input === 1 && output === 1) return eachChannel(infer);
  return async (tile) => {
    const out = await infer(convert(tile, input));
    if (out.channels !== output) {
      throw new DaemonError(
        'ModelInvalid',
        `the model gave ${out.channels} channels where its description says ${output}`,
      );
    }
    return convert(out, planeChannels);
  };
}

/** Each channel of the tile through a one-channel model alone, the results stacked. */
function eachChannel(infer: TileInference): TileInference {
  return async (tile) => {
    const plane = tile.width * tile.height;
    const outputs: PlanarImage[] = [];
    for (let c = 0; c < tile.channels; c++) {
      const data = tile.data.slice(c * plane, (c + 1) * plane);
      outputs.push(await infer({ width: tile.width, height: tile.height, channels: 1, data }));
    }
    const [first] = outputs;
    if (!first) throw new RangeError('eachChannel: a tile has at least one channel');
    const data = new Float32Array(tile.channels * first.width * first.height);
    outputs.forEach((o, c) => data.set(o.data, c * o.data.length));
    return { width: first.width, height: first.height, channels: tile.channels, data };
  };
}

/**
 * The tile with `channels` channels: one from colour by the mean, colour from one by
 * repeating it, an opaque alpha added to colour, an alpha dropped (and the colour's mean
 * where one channel is wanted).
 */
function convert(tile: PlanarImage, channels: number): PlanarImage {
  if (tile.channels === channels) return tile;
  const plane = tile.width * tile.height;
  const colour = tile.channels === 4 ? tile.data.subarray(0, 3 * plane) : tile.data;
  const colourChannels = Math.min(tile.channels, 3);
  const data = new Float32Array(channels * plane);
  if (channels === 1) {
    if (colourChannels !== 3) throw new RangeError(`convert: ${tile.channels} channels to 1`);
    meanInto(colour, plane, data);
  } else {
    for (let c = 0; c < Math.min(channels, 3); c++)
      data.set(colourChannels === 1 ? colour : colour.subarray(c * plane, (c + 1) * plane), c * plane);
    if (channels === 4) data.fill(1, 3 * plane);
  }
  return { width: tile.width, height: tile.height, channels, data };
}

function meanInto(rgb: Float32Array, plane: number, out: Float32Array): void {
  for (let i = 0; i < plane; i++) {
    const r = rgb[i];
    const g = rgb[plane + i];
    const b = rgb[2 * plane + i];
    if (r === undefined || g === undefined || b === undefined) throw outside('meanInto', i);
    out[i] = (r + g + b) / 3;
  }
}
