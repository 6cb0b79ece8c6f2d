// The refusal of a file Upscale recognises but does not convert: an architecture spandrel
// loads that has no module yet, or a variant of a converted architecture its module does
// not build. The message names what the file is and the way around.

/** The way around every refusal: chaiNNer exports what spandrel loads. */
const WAY_AROUND = 'export it to ONNX (chaiNNer can) and import the .onnx';

/**
 * 'a' or 'an' before a name: 'an' before a vowel (but U: "a Uformer"), and before an
 * initialism read letter by letter (its leading capitals hold no vowel) that starts with a
 * letter named with a vowel sound ("an RGT", "an MMRealSR", but "a GRL", "a HAT").
 */
export function article(name: string): 'a' | 'an' {
  if (/^[AEIO]/i.test(name)) return 'an';
  const capitals = /^[A-Z]+/.exec(name)?.[0] ?? '';
  const spelledOut = capitals.length > 1 && !/[AEIOU]/.test(capitals);
  return spelledOut && /^[FHLMNRSX]/.test(capitals) ? 'an' : 'a';
}

export class NotConvertedError extends Error {
  constructor(
    /** The architecture's id (spandrel's, lower-cased), e.g. 'grl', 'esrgan'. */
    readonly architecture: string,
    /** What the file is, e.g. "GRL", "ESRGAN+ (RRDB blocks with 1×1 convs)". */
    readonly what: string,
    /** The file, when known: the message then starts with it. */
    readonly file?: string,
  ) {
    super(
      `${file === undefined ? '' : `${file}: `}this is ${article(what)} ${what} model, which Upscale does not convert yet; ${WAY_AROUND}`,
    );
  }

  /** The same refusal, naming `file`. */
  inFile(file: string): NotConvertedError {
    return new NotConvertedError(this.architecture, this.what, file);
  }
}
