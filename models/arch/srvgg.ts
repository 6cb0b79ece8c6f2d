// Real-ESRGAN's SRVGGNetCompact (realesr-general-x4v3, realesr-animevideov3, and community
// "compact" models): a plain conv stack `body.0, body.2, ...` with an activation after every
// conv but the last, a PixelShuffle, and the nearest-upsampled input added as a skip.
import type { Activation } from '../../contract/vocabulary';
import type { ActivationChoice, ArchInfo, Architecture, Detected } from './types';
import type { StateDict } from '../readers/state-dict';
import { GraphBuilder } from '../onnx/graph';
import { LayerBuilder } from '../onnx/layers';
import { resolveActivation } from './srvgg-activation';

export interface SrvggConfig {
  readonly numFeat: number;
  /** Convs between the first and the last (upstream's num_conv). */
  readonly numConv: number;
  readonly upscale: number;
  /**
   * PReLU keeps a weight per channel at every odd body index; ReLU and LeakyReLU keep none,
   * so detection reads those as ReLU, assumed, and chooseActivation takes the user's word
   * (srvgg-activation.ts). Every released Real-ESRGAN compact model uses PReLU.
   */
  readonly activation: Activation;
}

const WHY = 'SRVGGNetCompact';
const IMAGE_CHANNELS = 3;
const LEAKY_SLOPE = 0.1;
const BODY_KEY = /^body\.(\d+)\.(weight|bias)$/;

function describe(shape: readonly number[] | undefined): string {
  return shape ? `[${shape.join(', ')}]` : 'missing';
}

function requireShape(sd: StateDict, key: string, expected: readonly number[]): void {
  const t = sd.get(key);
  if (!t) throw new Error(`${WHY}: the weights have no tensor '${key}' (expected shape [${expected.join(', ')}])`);
  if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`${WHY}: tensor '${key}' has shape ${describe(t.shape)}, expected [${expected.join(', ')}]`);
  }
}

/** Reads the body's layout; null when a key is not `body.N.weight` / `body.N.bias`. */
function bodyIndices(sd: StateDict): { convs: number[]; activations: number[] } | null {
  const convs = new Set<number>();
  const activations = new Set<number>();
  for (const [key, t] of sd) {
    const m = BODY_KEY.exec(key);
    if (!m) return null;
    if (m[2] !== 'weight') continue;
    (t.shape.length === 4 ? convs : activations).add(Number(m[1]));
  }
  const ascending = (a: number, b: number): number => a - b;
  return { convs: [...convs].sort(ascending), activations: [...activations].sort(ascending) };
}

export function detectSrvgg(sd: StateDict): Detected<SrvggConfig> | null {
  const first = sd.get('body.0.weight');
  if (!first || first.shape.length !== 4) return null;
  const layout = bodyIndices(sd);
  if (!layout) return null;

  const numFeat = first.shape[0] as number;
  requireShape(sd, 'body.0.weight', [numFeat, IMAGE_CHANNELS, 3, 3]);
  const lastIndex = layout.convs[layout.convs.length - 1] as number;
  if (lastIndex < 2 || lastIndex % 2 !== 0) {
    throw new Error(
      `${WHY}: the last conv is 'body.${lastIndex}.weight', expected an even index of at least 2 (convs at body.0, body.2, ...)`,
    );
  }
  const numConv = lastIndex / 2 - 1;

  const lastOut = sd.get(`body.${lastIndex}.weight`)?.shape[0] as number;
  const upscale = Math.round(Math.sqrt(lastOut / IMAGE_CHANNELS));
  if (upscale < 1 || IMAGE_CHANNELS * upscale * upscale !== lastOut) {
    throw new Error(
      `${WHY}: the last conv 'body.${lastIndex}.weight' has ${lastOut} output channels, expected 3 * scale * scale ` +
        '(12 for x2, 27 for x3, 48 for x4)',
    );
  }

  for (let i = 0; i <= lastIndex; i += 2) {
    const outCh = i === lastIndex ? lastOut : numFeat;
    requireShape(sd, `body.${i}.weight`, [outCh, i === 0 ? IMAGE_CHANNELS : numFeat, 3, 3]);
    requireShape(sd, `body.${i}.bias`, [outCh]);
  }

  const choice = resolveActivation(layout.activations.length > 0, undefined);
  if (choice.activation === 'prelu') {
    for (let i = 1; i < lastIndex; i += 2) {
      const key = `body.${i}.weight`;
      const shape = sd.get(key)?.shape;
      // Upstream uses one slope per channel; PReLU() with a single shared slope loads the same way.
      if (!shape || shape.length !== 1 || (shape[0] !== numFeat && shape[0] !== 1)) {
        throw new Error(
          `${WHY}: PReLU tensor '${key}' is ${describe(shape)}, expected [${numFeat}] (body.1, body.3, ... hold the PReLU slopes)`,
        );
      }
    }
  }
  const expectedCount = 2 * (numConv + 2) + (choice.activation === 'prelu' ? numConv + 1 : 0);
  if (sd.size !== expectedCount) {
    const extra = [...sd.keys()].filter((k) => {
      const index = Number(BODY_KEY.exec(k)?.[1]);
      return index > lastIndex || (index % 2 === 1 && !k.endsWith('.weight'));
    });
    throw new Error(
      `${WHY}: ${sd.size} tensors, expected ${expectedCount} for ${numConv + 2} convs up to 'body.${lastIndex}'` +
        (extra.length > 0
          ? `; unexpected: ${extra
              .slice(0, 5)
              .map((k) => `'${k}'`)
              .join(', ')}`
          : ''),
    );
  }

  return described({ numFeat, numConv, upscale, activation: choice.activation }, choice);
}

/** The registry's view of a configuration; the variant says when the activation was not read from the weights. */
function described(config: SrvggConfig, choice: ActivationChoice): Detected<SrvggConfig> {
  const { numFeat, numConv, upscale, activation } = config;
  const how = choice.source === 'weights' ? '' : choice.source === 'assumed' ? ', assumed' : ', chosen';
  const info: ArchInfo = {
    family: 'real-esrgan',
    variant: `SRVGGNetCompact (${numConv} convs, ${activation}${how})`,
    scale: upscale,
    inputMultiple: 1,
    params: {
      num_in_ch: IMAGE_CHANNELS,
      num_out_ch: IMAGE_CHANNELS,
      num_feat: numFeat,
      num_conv: numConv,
      upscale,
      act_type: activation,
    },
    activation: choice,
  };
  return { info, config };
}

/** The user's activation in place of the detected one; throws when the weights say otherwise. */
export function chooseSrvggActivation(detected: Detected<SrvggConfig>, activation: Activation): Detected<SrvggConfig> {
  const choice = resolveActivation(detected.info.activation?.source === 'weights', activation);
  return described({ ...detected.config, activation: choice.activation }, choice);
}

function activate(lb: LayerBuilder, x: string, index: number, config: SrvggConfig): string {
  switch (config.activation) {
    case 'relu':
      return lb.g.op('Relu', [x]);
    case 'leakyrelu':
      return lb.leakyRelu(x, LEAKY_SLOPE);
    case 'prelu': {
      // ONNX broadcasts from the last axis, so per-channel slopes need shape [C, 1, 1].
      const key = `body.${index}.weight`;
      const slopes = lb.sd.get(key);
      if (!slopes || !(slopes.data instanceof Float32Array))
        throw new Error(`${WHY}: the weights have no float tensor '${key}' (PReLU slopes)`);
      const slope = lb.g.initializer(key, slopes.data, [slopes.data.length, 1, 1]);
      return lb.g.op('PRelu', [x, slope]);
    }
  }
}

export function buildSrvgg(sd: StateDict, config: SrvggConfig): Uint8Array {
  const g = new GraphBuilder('srvgg');
  const lb = new LayerBuilder(g, sd);
  const input = g.input('input', [1, IMAGE_CHANNELS, 'height', 'width']);
  const lastIndex = 2 * (config.numConv + 1);
  let x = input;
  for (let i = 0; i < lastIndex; i += 2) x = activate(lb, lb.conv2d(x, `body.${i}`), i + 1, config);
  const residual = lb.pixelShuffle(lb.conv2d(x, `body.${lastIndex}`), config.upscale);
  const base = lb.upsampleNearest(input, config.upscale);
  g.output(lb.add(residual, base), 'output', [1, IMAGE_CHANNELS, 'out_height', 'out_width']);
  return g.toBytes(`SRVGGNetCompact x${config.upscale}`);
}

export const srvgg: Architecture<SrvggConfig> = {
  name: 'srvgg',
  detect: detectSrvgg,
  build: buildSrvgg,
  chooseActivation: chooseSrvggActivation,
};
