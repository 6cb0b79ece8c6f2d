// What an architecture module declares: its id and label, how its weights are recognised
// (key conditions), its configuration read from the weights, what a loaded model is, and
// its ONNX graph. registry.ts lists the modules; everything else derives from that list.
import type { StateDict } from '../weights/state-dict';
import type { KeyCondition } from '../weights/keys';
// Activations (SRVGGNetCompact's act_type) and who decided one, and what a model needs, are
// the contract's, so a model's metadata and what clients are told cannot drift apart.
import type { Activation, ActivationSource } from '../../contract/vocabulary';
import type { ModelTraits } from '../../contract/protocol';

export interface ActivationChoice {
  readonly activation: Activation;
  readonly source: ActivationSource;
}

/** Every hyper-parameter under its upstream constructor name, for display and the registry. */
export type Params = Readonly<Record<string, number | string | boolean | readonly number[]>>;

/** What a loaded model is: the description a configuration gives. */
export interface ModelDescription {
  /** Human-readable variant, e.g. "RRDBNet (old ESRGAN keys)", "SwinIR lightweight". */
  readonly variant: string;
  readonly scale: number;
  /**
   * The input multiple the network itself works in (its window). The graph pads to it
   * inside, as the upstream forward does, so this only guides tile sizes (1: none).
   */
  readonly inputMultiple: number;
  readonly traits: ModelTraits;
  readonly params: Params;
  /** Only where the activation can vary with the same keys (SRVGGNetCompact): which one, and who decided. */
  readonly activation?: ActivationChoice;
}

/** The model line a module's models belong to, where it is not the architecture itself. */
export interface Family {
  readonly id: string;
  readonly label: string;
}

export interface ArchitectureModule<Id extends string = string, C = unknown> {
  /** spandrel's architecture id, lower-cased ('esrgan', 'compact', 'swinir', …). */
  readonly id: Id;
  /** How users know it, in lists and messages. */
  readonly label: string;
  /** The family its models are listed under, when not the architecture (Compact: Real-ESRGAN). */
  readonly family?: Family;
  /** Which state dicts are this architecture's; registry.ts orders modules whose keys overlap. */
  readonly keys: KeyCondition;
  /**
   * Every hyper-parameter, read from key names, shapes and stored buffers, with every tensor
   * the graph uses checked against it. Throws WeightError naming the key when the weights do
   * not fit, NotConvertedError for a variant of the architecture the graph does not build.
   */
  readConfig(sd: StateDict): C;
  describe(config: C): ModelDescription;
  /**
   * The ONNX model: input `input` float32 [1, C, 'height', 'width'], output `output`
   * [1, C', 'out_height', 'out_width'], any height and width (padding, where the forward
   * pads, happens inside the graph), reproducing the forward spandrel's descriptor calls.
   */
  build(sd: StateDict, config: C): Uint8Array;
  /**
   * Present only where the weights may not tell the activation: the configuration with
   * the caller's choice, or an error when the weights contradict it. A module without it
   * has its activations fixed, so a choice is refused.
   */
  chooseActivation?(config: C, activation: Activation): C;
}

/** The traits most architectures share, to spread and override. */
export const PLAIN_TRAITS: ModelTraits = {
  channels: { input: 3, output: 3 },
  size: { minimum: 0, multiple: 1, square: false },
  tiling: 'supported',
  context: 'local',
  fp16: true,
  bf16: true,
};

const CHANNEL_NAMES: Readonly<Record<number, string>> = { 1: 'grey', 4: 'RGBA' };

/** What a variant label says of its image channels: '' for RGB, ', grey', ', RGBA', ', 4 → 1 channels'. */
export function channelsNote(channels: ModelTraits['channels']): string {
  const { input, output } = channels;
  if (input !== output) return `, ${input} → ${output} channels`;
  return input === 3 ? '' : `, ${CHANNEL_NAMES[input] ?? `${input} channels`}`;
}

/**
 * A size requirement as spandrel's SizeRequirements states it: the minimum is rounded up to
 * a multiple of `multiple`.
 */
export function sizeRequirement(minimum: number, multiple = 1, square = false): ModelTraits['size'] {
  return { minimum: Math.ceil(minimum / multiple) * multiple, multiple, square };
}
