// The live canvas: tile previews drawn where they belong while the job runs. Placement and
// sizing are the pure functions in tiles.ts; this is only the drawing.

import type { TilePreview } from '../messages';
import { growCanvasSize, placeTile, previewCanvasSize } from '../tiles';
import type { Size } from '../view';

export class LiveCanvas {
  /** Canvas pixels per output pixel: the previews' scale, fixed for a job. */
  private scale: number | undefined;
  private size: Size = { width: 0, height: 0 };
  /** Decoding is asynchronous; chaining keeps tiles drawn in arrival order, so a later
   *  pass's tile lands over the earlier pass's tile of the same region. */
  private queue: Promise<void> = Promise.resolve();
  /** Bumped by reset(), so tiles still decoding for an old job are dropped. */
  private epoch = 0;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly onResize: () => void,
  ) {}

  get canvasScale(): number | undefined {
    return this.scale;
  }

  get canvasSize(): Size {
    return this.size;
  }

  reset(): void {
    this.epoch++;
    this.scale = undefined;
    this.size = { width: 0, height: 0 };
    this.canvas.width = 0;
    this.canvas.height = 0;
  }

  /** Makes room for an output of (estimated) `output` pixels, keeping what is drawn. */
  reserve(output: Size): void {
    if (this.scale === undefined) return;
    this.resizeTo(previewCanvasSize(this.scale, output));
  }

  draw(preview: TilePreview, output: Size | undefined): void {
    if (this.scale !== undefined && Math.abs(this.scale - preview.scale) > 1e-9) this.reset();
    this.scale ??= preview.scale;
    const scale = this.scale;
    const placed = placeTile(preview.rect, preview.scale, scale);
    const wanted = output ? previewCanvasSize(scale, output) : this.size;
    this.resizeTo(growCanvasSize(wanted, placed));
    const epoch = this.epoch;
    const bytes = decodeBase64(preview.png);
    this.queue = this.queue
      .then(() => createImageBitmap(new Blob([bytes], { type: 'image/png' })))
      .then((bitmap) => {
        if (epoch === this.epoch) {
          this.canvas.getContext('2d')?.drawImage(bitmap, placed.x, placed.y, placed.width, placed.height);
        }
        bitmap.close();
      })
      .catch(() => undefined); // A tile that does not decode leaves a gap, not a broken view.
  }

  private resizeTo(next: Size): void {
    const width = Math.max(this.size.width, next.width);
    const height = Math.max(this.size.height, next.height);
    if (width === this.size.width && height === this.size.height) return;
    // Resizing a canvas clears it: copy what is drawn across.
    let copy: HTMLCanvasElement | undefined;
    if (this.size.width > 0 && this.size.height > 0) {
      copy = document.createElement('canvas');
      copy.width = this.size.width;
      copy.height = this.size.height;
      copy.getContext('2d')?.drawImage(this.canvas, 0, 0);
    }
    this.canvas.width = width;
    this.canvas.height = height;
    if (copy) this.canvas.getContext('2d')?.drawImage(copy, 0, 0);
    this.size = { width, height };
    this.onResize();
  }
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
