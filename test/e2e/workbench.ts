// Drives VS Code's workbench (code-server in Chromium) the way a user does: the Command
// Palette, quick picks, the Explorer's context menu, notifications, the status bar and
// webviews. Every wait has a deadline and fails with what it was waiting for.
import type { FrameLocator, Locator, Page } from './playwright';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A RegExp matching exactly `text` (Playwright's hasText, whitespace-trimmed). */
export function exactly(text: string): RegExp {
  return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${what}${last ? ` (${(last as Error).message.split('\n')[0]})` : ''}`,
      );
    }
    await sleep(everyMs);
  }
}

export interface Toast {
  readonly message: string;
  readonly buttons: string[];
  readonly item: Locator;
}

export class Workbench {
  constructor(readonly page: Page) {}

  async ready(timeoutMs = 90_000): Promise<void> {
    await this.page.locator('.monaco-workbench').waitFor({ state: 'attached', timeout: timeoutMs });
    // The Explorer's tree is there once the folder is open.
    await this.page
      .locator('.explorer-folders-view .monaco-list-row')
      .first()
      .waitFor({ state: 'visible', timeout: timeoutMs });
    await sleep(1500);
  }

  // ---- Command Palette and quick picks -------------------------------------------------

  private get quickInput(): Locator {
    return this.page.locator('.quick-input-widget');
  }

  async quickInputVisible(): Promise<boolean> {
    return this.quickInput.isVisible();
  }

  async escape(times = 1): Promise<void> {
    for (let i = 0; i < times; i++) {
      await this.page.keyboard.press('Escape');
      await sleep(150);
    }
  }

  /** Runs a command by its palette title ("Upscale: Import Model…"). */
  async command(title: string): Promise<void> {
    if (await this.quickInputVisible()) await this.escape();
    await this.page.keyboard.press('F1');
    const input = this.quickInput.locator('.quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(`>${title}`);
    await this.pickRow(title, 15_000);
  }

  /** Waits for a visible quick pick with rows (a model list may take the daemon's start). */
  async waitQuickPick(timeoutMs = 60_000): Promise<void> {
    await until(
      'a quick pick with rows',
      async () => {
        if (!(await this.quickInput.isVisible())) return false;
        return (await this.quickInput.locator('.quick-input-list .monaco-list-row').first().isVisible()) || undefined;
      },
      timeoutMs,
    );
  }

  /** The rows of the open quick pick (their labels). */
  async quickPickLabels(): Promise<string[]> {
    await this.waitQuickPick();
    return this.quickInput.locator('.quick-input-list .monaco-list-row .label-name').allInnerTexts();
  }

  /** The rows of the open quick pick, whole text (label, description, detail). */
  async quickPickRows(): Promise<string[]> {
    await this.waitQuickPick();
    return this.quickInput.locator('.quick-input-list .monaco-list-row').allInnerTexts();
  }

  async quickPickTitle(): Promise<string> {
    return (
      await this.quickInput
        .locator('.quick-input-title')
        .innerText()
        .catch(() => '')
    ).trim();
  }

  /** Upscale Image With…'s optional extras (restoration model, blend, TTA): Enter with none ticked. */
  async noExtras(): Promise<void> {
    await this.pickExtras([]);
  }

  /** Upscale Image With…'s extras: ticks the rows whose labels match, then accepts them. */
  async pickExtras(labels: readonly RegExp[]): Promise<void> {
    await until(
      'the extras pick (Combine … with…)',
      async () => (await this.quickPickTitle()).startsWith('Combine') || undefined,
      30_000,
    );
    for (const label of labels) {
      const row = this.quickInput
        .locator('.quick-input-list .monaco-list-row')
        .filter({ has: this.page.locator('.label-name', { hasText: label }) })
        .first();
      // In a pick of many, a click on the row toggles its box.
      await row.click();
      await sleep(200);
    }
    await this.quickInput.locator('.quick-input-box input').press('Enter');
    await sleep(300);
  }

  /** Clicks the quick-pick row whose label is `label` (exactly, or matching a RegExp). */
  async pickRow(label: string | RegExp, timeoutMs = 20_000): Promise<void> {
    const rows = this.quickInput.locator('.quick-input-list .monaco-list-row');
    const row =
      typeof label === 'string'
        ? rows.filter({ has: this.page.locator('.label-name', { hasText: exactly(label) }) }).first()
        : rows.filter({ has: this.page.locator('.label-name', { hasText: label }) }).first();
    await row.waitFor({ state: 'visible', timeout: timeoutMs }).catch(async () => {
      const seen = await this.quickPickLabels().catch(() => []);
      throw new Error(`no quick-pick row ${String(label)} (rows: ${seen.join(' | ')})`);
    });
    await row.click();
    await sleep(300);
  }

  /** Types into the open quick input / input box and presses Enter. */
  async typeAndEnter(text: string): Promise<void> {
    const input = this.quickInput.locator('.quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await input.fill(text);
    await sleep(400);
    await input.press('Enter');
    await sleep(300);
  }

  /** The message under the input box (validation text of an input box). */
  async inputMessage(): Promise<string> {
    return (
      await this.quickInput
        .locator('.quick-input-message')
        .innerText()
        .catch(() => '')
    ).trim();
  }

  /** The simple file dialog (code-server's showOpenDialog): type the path, accept. */
  async openDialogPath(file: string): Promise<void> {
    const input = this.quickInput.locator('.quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 15_000 });
    await sleep(500);
    await input.fill(file);
    await sleep(800);
    await input.press('Enter');
    await sleep(500);
    // The dialog may first complete the path; a second Enter accepts it.
    if (await this.quickInputVisible()) {
      const value = await input.evaluate((el) => (el as { value: string }).value);
      if (value.replace(/\/$/, '') === file || value === file) {
        await input.press('Enter');
        await sleep(500);
      }
    }
  }

  // ---- Explorer ---------------------------------------------------------------------

  explorerRow(name: string): Locator {
    return this.page
      .locator('.explorer-folders-view .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: exactly(name) }) })
      .first();
  }

  async waitExplorerRow(name: string, timeoutMs = 20_000): Promise<Locator> {
    const row = this.explorerRow(name);
    await row.waitFor({ state: 'visible', timeout: timeoutMs });
    return row;
  }

  async explorerSelect(names: readonly string[]): Promise<void> {
    for (const [i, name] of names.entries()) {
      const row = await this.waitExplorerRow(name);
      await row.click(i === 0 ? {} : { modifiers: ['Control'] });
      await sleep(200);
    }
  }

  /** Right-clicks an Explorer row and clicks a context-menu item by its title. */
  async explorerContext(name: string, item: string): Promise<void> {
    // Contributed items appear once the extension host has read the extensions: retry a while.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const row = await this.waitExplorerRow(name);
      await row.click({ button: 'right' });
      try {
        await this.menuItem(item, Date.now() < deadline ? 3_000 : 10_000);
        return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await this.escape();
        await sleep(1000);
      }
    }
  }

  /**
   * The entries of an Explorer row's context menu, top to bottom, with "---" for each
   * separator; the menu is closed again.
   */
  async explorerMenu(name: string): Promise<string[]> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const row = await this.waitExplorerRow(name);
      await row.click({ button: 'right' });
      await this.contextMenu.waitFor({ state: 'visible', timeout: 10_000 });
      const entries = await this.contextMenu.locator('.actions-container > li').evaluateAll((items) =>
        items.map((li) => {
          const item = li as { className: string; querySelector(s: string): { textContent: string | null } | null };
          if (/\bseparator\b/.test(item.className) || item.querySelector('.separator')) return '---';
          return (item.querySelector('.action-label')?.textContent ?? '').trim();
        }),
      );
      await this.escape();
      // Contributed items appear once the extension host has read the extensions.
      if (entries.some((e) => /^Upscale/.test(e)) || Date.now() > deadline) return entries;
      await sleep(1000);
    }
  }

  private get contextMenu(): Locator {
    return this.page.locator('.context-view .monaco-menu');
  }

  async menuItem(title: string, timeoutMs = 10_000): Promise<void> {
    const entry = this.contextMenu
      .locator('.action-item')
      .filter({ has: this.page.locator('.action-label', { hasText: exactly(title) }) })
      .first();
    await entry.waitFor({ state: 'visible', timeout: timeoutMs }).catch(async () => {
      const seen = await this.contextMenu
        .locator('.action-label')
        .allInnerTexts()
        .catch(() => []);
      throw new Error(`no context-menu item "${title}" (menu: ${seen.filter((s) => s.trim()).join(' | ')})`);
    });
    // The menu ignores a click that comes right after it opened (the right button's release).
    await sleep(400);
    await entry.hover();
    await sleep(150);
    await entry.click();
    await sleep(400);
    if (await this.contextMenu.isVisible().catch(() => false)) {
      await this.page.keyboard.press('Enter');
      await sleep(300);
    }
    if (await this.contextMenu.isVisible().catch(() => false))
      throw new Error(`the context menu stayed open after clicking "${title}"`);
  }

  // ---- Notifications ----------------------------------------------------------------

  /** Every visible toast, newest first. */
  async toasts(): Promise<Toast[]> {
    const items = this.page.locator('.notifications-toasts .notification-list-item');
    const n = await items.count();
    const out: Toast[] = [];
    for (let i = 0; i < n; i++) {
      const item = items.nth(i);
      const message = (
        await item
          .locator('.notification-list-item-message')
          .innerText()
          .catch(() => '')
      ).trim();
      const buttons = (
        await item
          .locator('.notification-list-item-buttons-container .monaco-button')
          .allInnerTexts()
          .catch(() => [])
      )
        .map((s) => s.trim())
        .filter(Boolean);
      out.push({ message, buttons, item });
    }
    return out;
  }

  async waitToast(match: RegExp, timeoutMs = 60_000): Promise<Toast> {
    return until(
      `a notification matching ${match}`,
      async () => {
        const all = await this.toasts();
        return all.find((t) => match.test(t.message));
      },
      timeoutMs,
    ).catch(async (e: Error) => {
      const seen = (await this.toasts().catch(() => [])).map((t) => `"${t.message}"`).join(', ');
      throw new Error(`${e.message}; notifications shown: ${seen || 'none'}`);
    });
  }

  /**
   * Clicks a toast's button. A progress toast re-renders on every report, so the button is
   * found afresh by the toast's text and clicked with a dispatched event until it is gone.
   */
  async clickToastButton(toast: Toast | RegExp, label: string): Promise<void> {
    const match = toast instanceof RegExp ? toast : exactly(toast.message);
    const button = () =>
      this.page
        .locator('.notifications-toasts .notification-list-item')
        .filter({ has: this.page.locator('.notification-list-item-message', { hasText: match }) })
        .locator('.notification-list-item-buttons-container .monaco-button')
        .filter({ hasText: exactly(label) })
        .first();
    await button().waitFor({ state: 'visible', timeout: 10_000 });
    const deadline = Date.now() + 15_000;
    while ((await button().count()) > 0 && Date.now() < deadline) {
      await button()
        .dispatchEvent('click')
        .catch(() => undefined);
      await sleep(500);
    }
  }

  /** Whether a click at the centre of a toast's button reaches that button (nothing covers it). */
  async toastButtonReachable(match: RegExp, label: string): Promise<boolean> {
    const button = this.page
      .locator('.notifications-toasts .notification-list-item')
      .filter({ has: this.page.locator('.notification-list-item-message', { hasText: match }) })
      .locator('.notification-list-item-buttons-container .monaco-button')
      .filter({ hasText: exactly(label) })
      .first();
    // A summary that a closing progress notification took away has no box either.
    const box = await button.boundingBox({ timeout: 5_000 }).catch(() => null);
    if (!box) return false;
    const hit = await this.page.evaluate(
      ({ x, y }) => {
        interface Hit {
          closest(selector: string): { textContent: string | null } | null;
        }
        const doc = (globalThis as unknown as { document: { elementFromPoint(x: number, y: number): Hit | null } })
          .document;
        return (doc.elementFromPoint(x, y)?.closest('.monaco-button')?.textContent ?? '').trim();
      },
      { x: box.x + box.width / 2, y: box.y + box.height / 2 },
    );
    return hit === label;
  }

  async clearNotifications(): Promise<void> {
    await this.command('Notifications: Clear All Notifications').catch(() => this.escape());
    await sleep(300);
  }

  // ---- Status bar, editors, webviews ------------------------------------------------

  async statusBarUpscale(): Promise<string> {
    const item = this.page
      .locator('#workbench\\.parts\\.statusbar .statusbar-item')
      .filter({ hasText: /Upscale/ })
      .first();
    const text = (await item.innerText({ timeout: 5_000 }).catch(() => '')).trim();
    const aria =
      (await item
        .locator('a, .statusbar-item-label')
        .first()
        .getAttribute('aria-label', { timeout: 2_000 })
        .catch(() => null)) ?? '';
    return `${text}${aria && aria !== text ? ` [${aria}]` : ''}`;
  }

  /** The open editors' tab labels (aria-label: the title, without the name/extension split). */
  async editorTabs(): Promise<string[]> {
    const tabs = this.page.locator('.tabs-container .tab');
    const out: string[] = [];
    for (let i = 0, n = await tabs.count(); i < n; i++)
      out.push(
        (
          (await tabs
            .nth(i)
            .getAttribute('aria-label')
            .catch(() => null)) ?? ''
        ).trim(),
      );
    return out;
  }

  async editorGroups(): Promise<number> {
    return this.page.locator('.editor-group-container').count();
  }

  /** A webview's width as its own page sees it (the panel's usable width), in CSS pixels. */
  async webviewWidth(view: FrameLocator): Promise<number> {
    return view
      .locator('body')
      .evaluate(
        (body) =>
          (body as { ownerDocument: { defaultView: { innerWidth: number } } }).ownerDocument.defaultView.innerWidth,
      );
  }

  /**
   * Resizes the browser window until the webview is `width` CSS pixels wide, within 4 px
   * (editor groups share a change of the window's width, so it aims by the rate seen);
   * returns the width reached.
   */
  async resizeWebviewTo(view: FrameLocator, width: number): Promise<number> {
    let rate = 1;
    let now = await this.webviewWidth(view);
    for (let i = 0; i < 8 && Math.abs(now - width) > 4; i++) {
      const step = Math.round((width - now) / rate);
      await this.setViewport({ ...this.viewport, width: Math.max(400, this.viewport.width + step) });
      const next = await this.webviewWidth(view);
      if (next !== now && step !== 0) rate = Math.max(0.2, (next - now) / step);
      now = next;
    }
    return now;
  }

  /** The browser window's size; run.ts opens each window at 1440 × 900. */
  viewport = { width: 1440, height: 900 };

  async setViewport(size: { width: number; height: number }): Promise<void> {
    this.viewport = size;
    await this.page.setViewportSize(size);
    await sleep(600);
  }

  /** An extension's webview document (iframe.webview → #active-frame); VS Code's image preview is a webview too. */
  webview(extensionId: string, index = 0): FrameLocator {
    return this.page
      .frameLocator(`iframe.webview[src*="extensionId=${extensionId}"]`)
      .nth(index)
      .frameLocator('#active-frame');
  }

  async shot(file: string): Promise<void> {
    await this.page.screenshot({ path: file });
  }
}
