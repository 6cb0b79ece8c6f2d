// What an architecture module offers the importer: recognise its weights, describe what
// it found, and build an ONNX graph from them.
import type { StateDict } from '../readers/state-dict';

export type Family = 'esrgan' | 'real-esrgan' | 'swinir' | 'hat' | 'dat';

// Activations (SRVGGNetCompact's act_type) and who decided one are the contract's, so a
// model's metadata and what clients are told cannot drift apart.
import type { Activation, ActivationSource } from '../../contract/vocabulary';

export interface ActivationChoice {
  readonly activation: Activation;
  readonly source: ActivationSource;
}

/** What detection read from the weights; stored in the model registry. */
export interface ArchInfo {
  readonly family: Family;
  /** Human-readable variant, e.g. "RRDBNet (old ESRGAN keys)", "SwinIR lightweight". */
  readonly variant: string;
  readonly scale: number;
  /**
   * Input height/width multiple the network itself needs (window size). The built ONNX
   * pads internally as upstream's forward does, so this only guides tile sizes.
   */
  readonly inputMultiple: number;
  /** Every hyper-parameter read from the weights, for display and the registry. */
  readonly params: Readonly<Record<string, number | string | boolean | readonly number[]>>;
  /** Only where the activation can vary with the same keys (SRVGGNetCompact): which one, and who decided. */
  readonly activation?: ActivationChoice;
}

export interface Detected<C> {
  readonly info: ArchInfo;
  readonly config: C;
}

export interface Architecture<C> {
  readonly name: string;
  /**
   * Null when the state dict's keys are not this architecture's. Throws (naming the key,
   * what was found and what was expected) when they are but are inconsistent.
   */
  detect(sd: StateDict): Detected<C> | null;
  /**
   * An ONNX model: input `input` float32 [1, 3, 'height', 'width'] in [0, 1] RGB, output
   * `output` [1, 3, 'out_height', 'out_width'], any height and width (dynamic axes).
   */
  build(sd: StateDict, config: C): Uint8Array;
  /**
   * Present only where the weights may not tell the activation: the detection redone with
   * the caller's choice, or an error when the weights contradict it. An architecture
   * without it has its activations fixed, so a choice is refused.
   */
  chooseActivation?(detected: Detected<C>, activation: Activation): Detected<C>;
}
