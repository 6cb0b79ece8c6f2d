import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentSecurityPolicy, createNonce, escapeHtml, previewHtml } from '../../extension/preview/html';

const input = {
  nonce: 'abc123+/XYZ=',
  cspSource: 'https://*.vscode-cdn.net',
  scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.js',
  styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/preview.css',
  title: 'Upscale: <cat>.png',
};

function cspOf(html: string): string {
  const match = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
  assert.ok(match, 'the page has a CSP meta tag');
  return (match[1] as string).replace(/&#39;/g, "'");
}

test('the page carries a strict CSP: nothing by default, scripts by nonce only, no unsafe-*', () => {
  const html = previewHtml(input);
  const csp = cspOf(html);
  assert.equal(csp, contentSecurityPolicy(input.cspSource, input.nonce));
  const directives = new Map(
    csp.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name, values] as const;
    }),
  );
  assert.deepEqual(directives.get('default-src'), ["'none'"]);
  assert.deepEqual(directives.get('script-src'), [`'nonce-${input.nonce}'`]);
  assert.deepEqual(directives.get('style-src'), [input.cspSource, `'nonce-${input.nonce}'`]);
  assert.deepEqual(directives.get('img-src'), [input.cspSource, 'data:', 'blob:']);
  assert.doesNotMatch(csp, /unsafe-eval/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.doesNotMatch(csp, /\*(?!\.vscode-cdn)/, 'no wildcard sources beyond the webview resource origin');
});

test('every script tag carries the nonce and loads the bundle; there are no inline scripts, handlers or styles', () => {
  const html = previewHtml(input);
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.ok(scripts.length >= 1);
  for (const [, attributes, body] of scripts) {
    assert.match(attributes as string, new RegExp(`nonce="${escapeRe(input.nonce)}"`));
    assert.equal((body as string).trim(), '', 'no inline script');
  }
  assert.equal((html.match(/<script\b/g) ?? []).length, scripts.length);
  assert.match(html, new RegExp(`src="${escapeRe(input.scriptUri)}"`));
  assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
  assert.doesNotMatch(html, /\sstyle=/i, 'no inline style attributes');
  assert.doesNotMatch(html, /<style\b/i, 'no inline style elements');
  assert.match(html, new RegExp(`<link rel="stylesheet" href="${escapeRe(input.styleUri)}"`));
});

test('text put into the page is escaped', () => {
  const html = previewHtml({ ...input, title: '"><script>alert(1)</script>' });
  assert.equal((html.match(/<script\b/g) ?? []).length, 1);
  assert.equal(escapeHtml(`<a href="x">'&`), '&#60;a href=&#34;x&#34;&#62;&#39;&#38;');
});

test('every action and view control is in the page, labelled, and reachable by Tab', () => {
  const html = previewHtml(input);
  for (const id of [
    'zoom-fit',
    'zoom-100',
    'zoom-200',
    'zoom-400',
    'mode-side',
    'mode-split',
    'action-reveal',
    'action-save',
    'action-again',
  ]) {
    assert.match(html, new RegExp(`<vscode-button id="${id}"[^>]*>`), id);
  }
  for (const id of ['viewport-original', 'viewport-upscaled', 'divider']) {
    assert.match(html, new RegExp(`id="${id}"[^>]*tabindex="0"[^>]*aria-label="[^"]+"`), id);
  }
  assert.match(html, /role="slider"/);
});

test('nonces are fresh, long and CSP-safe', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const nonce = createNonce();
    assert.match(nonce, /^[A-Za-z0-9+/]{22}==$/);
    seen.add(nonce);
  }
  assert.equal(seen.size, 100);
});

function escapeRe(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
