import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ParleyClient } from '@parley/client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Gateway } from '../../gateway/src/gateway.ts';
import { World } from '../../gateway/test/harness.ts';
import { launch } from './browser.ts';

export const WEB_DIR = join(import.meta.dirname, '..', 'dist');
/**
 * Where the screenshots go: the README's pictures (docs/screenshots) with
 * PARLEY_UPDATE_SCREENSHOTS=1, else test-results/screenshots (untracked), so that a plain
 * `npm test` leaves the working tree as it found it.
 */
export const SHOTS_DIR = process.env.PARLEY_UPDATE_SCREENSHOTS
  ? join(import.meta.dirname, '..', '..', '..', 'docs', 'screenshots')
  : join(import.meta.dirname, '..', 'test-results', 'screenshots');
export const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';

/** A real gateway (in-process, PGlite) serving the built page, a browser, and SDK helpers. */
export class Stage {
  browser!: Browser;
  world!: World;
  gw!: Gateway;
  private readonly contexts: BrowserContext[] = [];
  readonly errors: string[] = [];

  static async start(env: Record<string, string> = {}): Promise<Stage> {
    const s = new Stage();
    s.world = await World.create('pglite');
    s.gw = await s.world.start({ PARLEY_WEB_DIR: WEB_DIR, PARLEY_DEFAULT_CHANNELS: 'general', PARLEY_ADMIN_TOKEN: ADMIN_TOKEN, ...env });
    s.browser = await launch();
    return s;
  }

  get url(): string {
    return this.gw.url;
  }

  /** A fresh browser profile (own storage), failing the test on any page error or dialog. */
  /** `touch`: a phone's touch screen (no hover: `(hover: none)` styles apply; use `tap`). */
  async page(opts: { colorScheme?: 'light' | 'dark'; width?: number; height?: number; touch?: boolean } = {}): Promise<Page> {
    const ctx = await this.browser.newContext({
      colorScheme: opts.colorScheme ?? 'light',
      viewport: { width: opts.width ?? 1100, height: opts.height ?? 720 },
      hasTouch: opts.touch ?? false,
      isMobile: opts.touch ?? false,
    });
    this.contexts.push(ctx);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => this.errors.push(`pageerror: ${e.message}`));
    page.on('dialog', (d) => {
      this.errors.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    return page;
  }

  /** A connected SDK client (a second person, or a seeder). */
  async sdk(name: string, registered = true, url = this.url): Promise<ParleyClient> {
    if (!registered) {
      const c = new ParleyClient({ url, guestName: name });
      await c.connect();
      return c;
    }
    const token = await this.world.signup(this.gw, name);
    const c = new ParleyClient({ url, token });
    await c.connect();
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.contexts) await c.close().catch(() => undefined);
    await this.browser?.close().catch(() => undefined);
    await this.world?.close();
  }
}

export async function asGuest(page: Page, url: string, name: string, path = '/'): Promise<void> {
  await page.goto(`${url}${path}`);
  await page.getByLabel(/Guest name/).fill(name);
  await page.getByRole('button', { name: 'Continue as guest' }).click();
}

export async function signUp(page: Page, url: string, name: string, path = '/'): Promise<void> {
  await page.goto(`${url}${path}`);
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Create account' }).click();
}

export const composer = (page: Page, channel: string) => page.getByRole('combobox', { name: `Message #${channel}` });
export const log = (page: Page, channel: string) => page.getByRole('log', { name: `Messages in #${channel}` });

export async function say(page: Page, channel: string, text: string): Promise<void> {
  await composer(page, channel).fill(text);
  await composer(page, channel).press('Enter');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SHOTS_DIR, { recursive: true });
  await page.mouse.move(0, 0); // no hover state in the picture
  await page.screenshot({ path: join(SHOTS_DIR, `${name}.png`) });
}
