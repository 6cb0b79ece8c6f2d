// Where the preview opens, from the editor layout as `vscode.getEditorLayout` gives it
// (sizes in pixels along the parent's axis, as VS Code's grid reports them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupBoxes, MIN_PREVIEW_WIDTH, placePreview, type GroupBox } from '../../extension/preview/placement';

const row = (...widths: number[]) => ({ orientation: 0, groups: widths.map((size) => ({ size })) });

function boxes(layout: unknown): GroupBox[] {
  const b = groupBoxes(layout);
  assert.ok(b, 'a layout');
  return b;
}

test('groups are numbered in grid order with their boxes in pixels', () => {
  assert.deepEqual(
    boxes(row(700, 390)).map((b) => [b.column, b.left, b.width]),
    [
      [1, 0, 700],
      [2, 700, 390],
    ],
  );
  // Two columns, the right one split into a top and a bottom group.
  const nested = boxes({
    orientation: 0,
    groups: [{ size: 600 }, { size: 500, groups: [{ size: 300 }, { size: 400 }] }],
  });
  assert.deepEqual(
    nested.map((b) => [b.column, b.left, b.top, b.width, b.height]),
    [
      [1, 0, 0, 600, 700],
      [2, 600, 0, 500, 300],
      [3, 600, 300, 500, 400],
    ],
  );
  // A stack of full-width groups: their width is not in the answer.
  const stacked = boxes({ orientation: 1, groups: [{ size: 300 }, { size: 400 }] });
  assert.ok(stacked.every((b) => Number.isNaN(b.width)));
  assert.deepEqual(
    stacked.map((b) => b.height),
    [300, 400],
  );
});

test('anything else is not a layout', () => {
  for (const bad of [
    undefined,
    null,
    'layout',
    { orientation: 2, groups: [{ size: 1 }] },
    { orientation: 0, groups: [] },
    { orientation: 0, groups: [{ size: -1 }] },
    { orientation: 0, groups: [{ size: 10, groups: [] }] },
    { orientation: 0, groups: [{}] },
  ])
    assert.equal(groupBoxes(bad), undefined, JSON.stringify(bad));
});

test('one wide group holding the image: split beside it', () => {
  assert.deepEqual(placePreview({ boxes: boxes(row(1100)), source: 1, active: 1 }), { kind: 'beside' });
  // The last group may be split from another active group: a column past the last one.
  assert.deepEqual(placePreview({ boxes: boxes(row(400, 1100)), source: 2, active: 1 }), {
    kind: 'column',
    column: 3,
  });
});

test('one group too narrow to halve: a tab in the same group, never a column under 480 px', () => {
  assert.deepEqual(placePreview({ boxes: boxes(row(900)), source: 1, active: 1 }), { kind: 'column', column: 1 });
  assert.equal(MIN_PREVIEW_WIDTH, 480);
});

test("the issue's case: the image in the right of two columns: the left one, not a third of 345 px", () => {
  assert.deepEqual(placePreview({ boxes: boxes(row(690, 690)), source: 2, active: 2 }), {
    kind: 'column',
    column: 1,
  });
});

test('a wide group right of the image is used as it is', () => {
  assert.deepEqual(placePreview({ boxes: boxes(row(690, 690)), source: 1, active: 1 }), {
    kind: 'column',
    column: 2,
  });
  // Of two groups stacked on the right, the taller one's width is the same; the first is taken.
  const b = boxes({ orientation: 0, groups: [{ size: 600 }, { size: 500, groups: [{ size: 300 }, { size: 400 }] }] });
  assert.deepEqual(placePreview({ boxes: b, source: 1, active: 1 }), { kind: 'column', column: 2 });
});

test('a narrow group right of a wide image group: neither split (VS Code would use the neighbour) nor the narrow one', () => {
  assert.deepEqual(placePreview({ boxes: boxes(row(1000, 300)), source: 1, active: 1 }), {
    kind: 'column',
    column: 1,
  });
});

test('an open preview keeps its column for the next image', () => {
  assert.deepEqual(placePreview({ boxes: boxes(row(690, 690)), source: 1, active: 1, previewColumn: 2 }), {
    kind: 'column',
    column: 2,
  });
  // A column that no longer exists is not reused.
  assert.deepEqual(placePreview({ boxes: boxes(row(1100)), source: 1, active: 1, previewColumn: 2 }), {
    kind: 'beside',
  });
});

test('a group of unknown width (a single group, a stack) is split, with its own group to fall back to', () => {
  // What code-server 4.139 answered for one group holding the image.
  const single = boxes({ orientation: 1, groups: [{ size: 835 }] });
  assert.deepEqual(placePreview({ boxes: single, source: 1, active: 1 }), { kind: 'beside', fallback: 1 });
  const stack = boxes({ orientation: 1, groups: [{ size: 300 }, { size: 400 }] });
  assert.deepEqual(placePreview({ boxes: stack, source: 2, active: 2 }), { kind: 'beside', fallback: 2 });
  // Not the active group: VS Code can only split it as the last group, and then blind.
  assert.deepEqual(placePreview({ boxes: stack, source: 1, active: 2 }), { kind: 'column', column: 1 });
});

test('nothing open: the empty group takes the panel', () => {
  const single = boxes({ orientation: 1, groups: [{ size: 835 }] });
  assert.deepEqual(placePreview({ boxes: single, source: 1, active: 1, sourceEmpty: true }), {
    kind: 'column',
    column: 1,
  });
});
