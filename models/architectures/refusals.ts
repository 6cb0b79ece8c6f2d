// The refusal of a file Upscale recognises but does not convert: an architecture spandrel
// loads that has no module yet, or a variant of a converted architecture its module does
// not build. The message names what the file is and the way around.

/** The way around every refusal: chaiNNer exports what spandrel loads. */
const WAY_AROUND = 'export it to ONNX (chaiNNer can) and import the .onnx';

export class NotConvertedError extends Error {
  constructor(
    /** The architecture's id (spandrel's, lower-cased), e.g. 'grl', 'esrgan'. */
    readonly architecture: string,
    /** What the file is, e.g. "GRL", "ESRGAN+ (RRDB blocks with 1×1 convs)". */
    readonly what: string,
    /** The file, when known: the message then starts with it. */
    readonly file?: string,
  ) {
    const article = /^[AEIOU]/i.test(what) ? 'an' : 'a';
    super(
      `${file === undefined ? '' : `${file}: `}this is ${article} ${what} model, which Upscale does not convert yet; ${WAY_AROUND}`,
    );
  }

  /** The same refusal, naming `file`. */
  inFile(file: string): NotConvertedError {
    return new NotConvertedError(this.architecture, this.what, file);
  }
}
