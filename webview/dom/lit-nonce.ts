// Imported first by main.ts, before any component module runs. Lit styles shadow roots with
// constructable stylesheets where the browser has them (VS Code's Chromium does; CSP does
// not govern those); where it falls back to <style> elements it gives them
// `window.litNonce`, so they pass the page's `style-src 'nonce-…'` without 'unsafe-inline'.
// The nonce is read from this very script tag, which the CSP only ran because it carried it.

const script = document.currentScript;
if (script instanceof HTMLScriptElement && script.nonce) {
  (globalThis as { litNonce?: string }).litNonce = script.nonce;
}

export {};
