// Where the preview panel opens: beside the source image, in a column of usable width.
// Pure: the panel (extension/preview/panel.ts) reads the editor layout and the groups from
// VS Code and opens the panel where this says.
//
// `vscode.getEditorLayout` answers with the grid of editor groups: nested lists whose
// orientation alternates (0: side by side, 1: stacked), each node's `size` its extent in
// pixels along its parent's axis. Leaves in depth-first order are the view columns 1, 2, …
// (VS Code numbers groups in grid order). The root's own extent across its axis is not in
// the answer; a branch one level down tells it (its children add up to it), else it stays
// unknown. A single group is such a case (VS Code reports it as a stack of one, sized by
// its height): it is split, and the panel says how wide it came out (extension/preview/
// panel.ts moves it back into the image's group when that is too narrow).

/** Narrower than this, the toolbar wraps and each image of a side-by-side view is under 240 px. */
export const MIN_PREVIEW_WIDTH = 480;

/** One editor group's rectangle in the editor area, in pixels; NaN where the layout does not say. */
export interface GroupBox {
  readonly column: number;
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

interface Node {
  readonly size: number;
  readonly groups?: readonly Node[];
}

function parseNode(value: unknown): Node | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { size, groups } = value as { size?: unknown; groups?: unknown };
  if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) return undefined;
  if (groups === undefined) return { size };
  const children = parseChildren(groups);
  return children && { size, groups: children };
}

function parseChildren(value: unknown): Node[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const nodes: Node[] = [];
  for (const item of value) {
    const node = parseNode(item);
    if (!node) return undefined;
    nodes.push(node);
  }
  return nodes;
}

/**
 * Every group's box, in view-column order, from what `vscode.getEditorLayout` returned; or
 * undefined when that is not a layout (an older or different host).
 */
export function groupBoxes(layout: unknown): GroupBox[] | undefined {
  if (typeof layout !== 'object' || layout === null) return undefined;
  const { orientation, groups } = layout as { orientation?: unknown; groups?: unknown };
  if (orientation !== 0 && orientation !== 1) return undefined;
  const roots = parseChildren(groups);
  if (!roots) return undefined;
  const sideBySide = orientation === 0;
  const along = roots.reduce((sum, n) => sum + n.size, 0);
  const branch = roots.find((n) => n.groups);
  const across = branch?.groups ? branch.groups.reduce((sum, n) => sum + n.size, 0) : NaN;
  const boxes: GroupBox[] = [];
  const walk = (nodes: readonly Node[], sideBySideHere: boolean, left: number, top: number, w: number, h: number) => {
    let offset = 0;
    for (const node of nodes) {
      const box = sideBySideHere
        ? { left: left + offset, top, width: node.size, height: h }
        : { left, top: top + offset, width: w, height: node.size };
      offset += node.size;
      if (node.groups) walk(node.groups, !sideBySideHere, box.left, box.top, box.width, box.height);
      else boxes.push({ column: boxes.length + 1, ...box });
    }
  };
  walk(roots, sideBySide, 0, 0, sideBySide ? along : across, sideBySide ? across : along);
  return boxes;
}

/** Sashes and rounding: boxes this close are touching. */
const TOUCH = 2;

function overlapsVertically(a: GroupBox, b: GroupBox): boolean {
  // An unknown height is the whole height: a row of columns with no group stacked in it.
  if (Number.isNaN(a.height) || Number.isNaN(b.height)) return true;
  return a.top < b.top + b.height - TOUCH && b.top < a.top + a.height - TOUCH;
}

function rightOf(a: GroupBox, boxes: readonly GroupBox[]): GroupBox[] {
  return boxes.filter((b) => Math.abs(b.left - (a.left + a.width)) <= TOUCH && overlapsVertically(a, b));
}

function leftOf(a: GroupBox, boxes: readonly GroupBox[]): GroupBox[] {
  return boxes.filter((b) => Math.abs(b.left + b.width - a.left) <= TOUCH && overlapsVertically(a, b));
}

/**
 * An existing group (view column), or a new group split off the active group's right side;
 * when the split's width could not be known, `fallback` is the group to move to if the new
 * one turns out narrower than the minimum.
 */
export type Placement =
  { readonly kind: 'column'; readonly column: number } | { readonly kind: 'beside'; readonly fallback?: number };

export interface PlacementInput {
  readonly boxes: readonly GroupBox[];
  /** The group showing the source image, else the active group. */
  readonly source: number;
  /** The source group has no editors (nothing is open): the panel takes it. */
  readonly sourceEmpty?: boolean;
  readonly active: number;
  /** A group that already holds a preview panel. */
  readonly previewColumn?: number;
  readonly minWidth?: number;
}

/**
 * In order: the group that already has a preview; an empty source group; the group right of
 * the source when wide enough; a new group split off the source when both halves are wide
 * enough, or may be (possible only where VS Code can split it: the active group, or the
 * last one); the group left of the source when wide enough; else the source's own group, as
 * a tab beside the image.
 */
export function placePreview(input: PlacementInput): Placement {
  const { boxes, source, active, previewColumn } = input;
  const min = input.minWidth ?? MIN_PREVIEW_WIDTH;
  if (previewColumn !== undefined && boxes.some((b) => b.column === previewColumn))
    return { kind: 'column', column: previewColumn };
  const s = boxes.find((b) => b.column === source);
  if (!s) return { kind: 'beside' };
  if (input.sourceEmpty) return { kind: 'column', column: source };
  const right = rightOf(s, boxes);
  const wide = (b: GroupBox) => b.width >= min;
  const widestRight = right.filter(wide).sort((a, b) => b.width - a.width)[0];
  if (widestRight) return { kind: 'column', column: widestRight.column };
  const unknown = Number.isNaN(s.width);
  if (right.length === 0 && (unknown || s.width / 2 >= min)) {
    const check = unknown ? { fallback: source } : {};
    if (source === active) return { kind: 'beside', ...check };
    // A column past the last one splits the last group.
    if (source === boxes.length && !unknown) return { kind: 'column', column: boxes.length + 1 };
  }
  const widestLeft = leftOf(s, boxes)
    .filter(wide)
    .sort((a, b) => b.width - a.width)[0];
  if (widestLeft) return { kind: 'column', column: widestLeft.column };
  return { kind: 'column', column: source };
}
