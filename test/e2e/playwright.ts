// The slice of playwright-core's API the e2e suite uses. playwright-core is installed by
// scripts/e2e-setup.sh in a cache folder outside the repository (it is not a dependency of
// the extension), so it is loaded at run time from there and typed here by hand.
import * as path from 'node:path';

export interface ClickOptions {
  readonly button?: 'left' | 'right' | 'middle';
  readonly modifiers?: readonly ('Alt' | 'Control' | 'Meta' | 'Shift')[];
  readonly timeout?: number;
  readonly force?: boolean;
  readonly position?: { x: number; y: number };
}

export interface Locator {
  click(options?: ClickOptions): Promise<void>;
  hover(options?: { timeout?: number }): Promise<void>;
  dispatchEvent(type: string): Promise<void>;
  first(): Locator;
  last(): Locator;
  nth(index: number): Locator;
  filter(options: { hasText?: string | RegExp; has?: Locator }): Locator;
  locator(selector: string, options?: { hasText?: string | RegExp }): Locator;
  waitFor(options?: { state?: 'attached' | 'detached' | 'visible' | 'hidden'; timeout?: number }): Promise<void>;
  count(): Promise<number>;
  innerText(options?: { timeout?: number }): Promise<string>;
  textContent(options?: { timeout?: number }): Promise<string | null>;
  allInnerTexts(): Promise<string[]>;
  allTextContents(): Promise<string[]>;
  getAttribute(name: string, options?: { timeout?: number }): Promise<string | null>;
  isVisible(): Promise<boolean>;
  fill(value: string, options?: { timeout?: number }): Promise<void>;
  press(key: string, options?: { timeout?: number }): Promise<void>;
  focus(options?: { timeout?: number }): Promise<void>;
  boundingBox(options?: { timeout?: number }): Promise<{ x: number; y: number; width: number; height: number } | null>;
  evaluate<R>(fn: (el: unknown) => R): Promise<R>;
  evaluateAll<R>(fn: (els: unknown[]) => R): Promise<R>;
}

export interface FrameLocator {
  locator(selector: string): Locator;
  frameLocator(selector: string): FrameLocator;
  nth(index: number): FrameLocator;
}

export interface Keyboard {
  press(key: string, options?: { delay?: number }): Promise<void>;
  type(text: string, options?: { delay?: number }): Promise<void>;
  insertText(text: string): Promise<void>;
  down(key: string): Promise<void>;
  up(key: string): Promise<void>;
}

export interface Page {
  goto(
    url: string,
    options?: { timeout?: number; waitUntil?: 'load' | 'domcontentloaded' | 'networkidle' | 'commit' },
  ): Promise<unknown>;
  locator(selector: string, options?: { hasText?: string | RegExp }): Locator;
  frameLocator(selector: string): FrameLocator;
  keyboard: Keyboard;
  screenshot(options: { path: string; fullPage?: boolean }): Promise<Buffer>;
  waitForTimeout(ms: number): Promise<void>;
  setViewportSize(size: { width: number; height: number }): Promise<void>;
  evaluate<R, A>(fn: (arg: A) => R, arg: A): Promise<R>;
  reload(options?: { timeout?: number }): Promise<unknown>;
  close(): Promise<void>;
  on(event: 'console' | 'pageerror', listener: (arg: { text?: () => string; message?: string }) => void): void;
  setDefaultTimeout(ms: number): void;
}

export interface BrowserContext {
  newPage(): Promise<Page>;
  /** Runs before any of the page's own scripts, outside its Content-Security-Policy. */
  addInitScript(script: { content: string }): Promise<void>;
  close(): Promise<void>;
}

export interface Browser {
  newContext(options?: {
    viewport?: { width: number; height: number };
    deviceScaleFactor?: number;
  }): Promise<BrowserContext>;
  close(): Promise<void>;
}

export interface Playwright {
  readonly chromium: {
    launch(options: {
      executablePath: string;
      headless?: boolean;
      args?: readonly string[];
      timeout?: number;
    }): Promise<Browser>;
  };
}

/** playwright-core from the e2e cache (scripts/e2e-setup.sh). */
export function loadPlaywright(cacheDir: string): Playwright {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(cacheDir, 'pw', 'node_modules', 'playwright-core')) as Playwright;
}
