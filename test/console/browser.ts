/**
 * The real browser the console tests drive: Debian's headless Chromium (.ci/run installs it) or
 * the one CHROMIUM_PATH names, through puppeteer-core; screenshots go to runs/console/.
 */
import fs from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { repoRoot } from '../../chaos/cluster.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SHOTS = path.join(repoRoot(), 'runs', 'console');
/** How long a page may take to draw what it fetched. */
export const PAGE_MS = 15_000;

/** Fails at once, saying what to install, when there is no Chromium; makes the screenshot folder. */
export function requireChromium(): void {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
  fs.mkdirSync(SHOTS, { recursive: true });
}

export function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/** Saves the whole page as runs/console/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}
