// The preview panel's HTML, as a pure function of what changes per load (nonce, CSP source,
// resource URIs), so its security properties are unit-tested.
//
// The page is static markup; webview/main.ts binds behaviour to it by id. No inline script,
// no inline style (not even `style=` attributes): the CSP allows neither.

import { randomBytes } from 'node:crypto';

export interface PreviewHtmlInput {
  /** Fresh per load; from `createNonce`. */
  readonly nonce: string;
  /** `webview.cspSource`. */
  readonly cspSource: string;
  /** Webview URIs of dist/webview.js and media/preview.css. */
  readonly scriptUri: string;
  readonly styleUri: string;
  /** The panel's title, shown as the document title. */
  readonly title: string;
}

/** 128 random bits; a new one for every load of the page. */
export function createNonce(): string {
  return randomBytes(16).toString('base64');
}

/**
 * The Content-Security-Policy. Nothing is allowed by default; scripts only with the nonce
 * (the one bundled file); styles from the extension's files plus nonce'd <style> elements.
 * No 'unsafe-inline' and no 'unsafe-eval': @vscode-elements/elements styles its shadow roots
 * with constructable stylesheets (adoptedStyleSheets), which CSP does not govern in
 * Chromium, and Lit's <style> fallback for other engines takes `window.litNonce`, which the
 * webview sets from its script's nonce. Images: the two files (cspSource), and data:/blob:
 * for decoded tile previews.
 */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data: blob:`,
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
  ].join('; ');
}

/** Escapes text for HTML content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function previewHtml(input: PreviewHtmlInput): string {
  const nonce = escapeHtml(input.nonce);
  const csp = escapeHtml(contentSecurityPolicy(input.cspSource, input.nonce));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(input.styleUri)}" nonce="${nonce}">
<title>${escapeHtml(input.title)}</title>
</head>
<body>
<header class="toolbar">
  <div class="group" role="group" aria-label="Zoom, relative to the upscaled image">
    <vscode-button id="zoom-fit" secondary aria-pressed="true" aria-label="Zoom to fit" title="Fit the image to the panel (0)">Fit</vscode-button>
    <vscode-button id="zoom-100" secondary aria-pressed="false" aria-label="Zoom to 100% of the upscaled image" title="100% of the upscaled image: one of its pixels per screen pixel (1)">100%</vscode-button>
    <vscode-button id="zoom-200" secondary aria-pressed="false" aria-label="Zoom to 200% of the upscaled image" title="200% of the upscaled image (2)">200%</vscode-button>
    <vscode-button id="zoom-400" secondary aria-pressed="false" aria-label="Zoom to 400% of the upscaled image" title="400% of the upscaled image (4)">400%</vscode-button>
  </div>
  <div class="group" role="group" aria-label="Comparison mode">
    <vscode-button id="mode-side" secondary aria-pressed="true" title="Original and upscaled side by side">Side by Side</vscode-button>
    <vscode-button id="mode-split" secondary aria-pressed="false" title="Upscaled over original with a divider">Split</vscode-button>
  </div>
</header>
<vscode-progress-bar id="progress-bar" class="progress-bar" hidden aria-label="Progress"></vscode-progress-bar>
<div id="live-announcer" class="visually-hidden" role="status" aria-live="polite"></div>
<div id="error" class="error" role="alert" hidden></div>
<main id="views" class="views side" aria-label="Comparison. Drag to pan, wheel or pinch to zoom; arrow keys pan, + and - zoom, 0 fits.">
  <section id="viewport-original" class="viewport original" tabindex="0" aria-label="Original image">
    <div class="layer"><div id="stage-original" class="stage"><img id="image-original" class="image" alt="Original image" draggable="false"></div></div>
    <span class="caption" aria-hidden="true">Original <span id="scale-original" class="scale"></span></span>
  </section>
  <section id="viewport-upscaled" class="viewport upscaled" tabindex="0" aria-label="Upscaled image">
    <div class="layer"><div id="stage-upscaled" class="stage"><canvas id="live-canvas" class="live" aria-hidden="true"></canvas><img id="image-upscaled" class="image" alt="Upscaled image" draggable="false" hidden></div></div>
    <span class="caption" aria-hidden="true">Upscaled <span id="scale-upscaled" class="scale"></span></span>
  </section>
  <div id="divider" class="divider" role="slider" tabindex="0" aria-label="Split position: original on the left, upscaled on the right" aria-valuemin="0" aria-valuemax="100" aria-valuenow="50" aria-orientation="horizontal" hidden><span class="handle"></span></div>
  <div id="empty" class="empty" role="status" hidden></div>
</main>
<footer class="info" aria-label="Result">
  <dl class="facts">
    <div class="status"><dt class="visually-hidden">Status</dt><dd id="status-text"></dd></div>
    <div><dt>Input</dt><dd id="info-input">–</dd></div>
    <div><dt>Output</dt><dd id="info-output">–</dd></div>
    <div><dt>Model</dt><dd id="info-model">–</dd></div>
    <div><dt>Provider</dt><dd id="info-provider">–</dd></div>
    <div><dt>Passes</dt><dd id="info-passes">–</dd></div>
    <div><dt>Time</dt><dd id="info-time">–</dd></div>
  </dl>
  <div class="output-row">
    <span id="info-path" class="path" role="link" tabindex="-1" aria-label="Open the output file"></span>
    <div class="actions">
      <vscode-button id="action-reveal" secondary disabled aria-label="Reveal the output file">Reveal</vscode-button>
      <vscode-button id="action-save" secondary disabled aria-label="Save a copy of the output as…">Save As…</vscode-button>
      <vscode-button id="action-again" aria-label="Upscale the original again with another model or scale">Upscale Again With…</vscode-button>
    </div>
  </div>
</footer>
<script nonce="${nonce}" src="${escapeHtml(input.scriptUri)}"></script>
</body>
</html>
`;
}
