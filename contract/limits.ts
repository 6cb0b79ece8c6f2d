// The numbers a request is held to, wherever it is written: the daemon's validation, the
// command line, the editor's settings and the engine read them from here.

/** Smallest tile, in input pixels: the least a request may ask for (0, the whole image, aside), and where splitting a tile that ran out of memory stops. */
export const MIN_TILE = 32;
/** Largest tile a request may ask for, in input pixels. */
export const MAX_TILE = 8192;
/** Context added on each side of a tile, in input pixels (Real-ESRGAN's tile_pad), when the request does not say. */
export const DEFAULT_OVERLAP = 16;
export const MAX_OVERLAP = 256;
/** Largest width or height a target may ask for. */
export const MAX_SIDE = 1_000_000;
/** Largest scale factor a request may ask for. */
export const MAX_SCALE = 64;
/** Most intra-op threads a request may ask for (0 is every core). */
export const MAX_THREADS = 256;
/** A request's memory budget for the automatic tile, in MiB (0 is a third of the machine's memory). */
export const MIN_MEMORY_BUDGET_MIB = 64;
export const MAX_MEMORY_BUDGET_MIB = 1_048_576;
