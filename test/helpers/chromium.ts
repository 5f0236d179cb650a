// Debian's Chromium (/usr/bin/chromium), driven by playwright-core, for the tests that open a
// built page in a real browser. Same rule as the WebGPU adapter (helpers/webgpu.ts): in CI
// (CI=true) a missing Chromium fails the test; elsewhere the browser tests skip and say how
// to get it. No browser is ever downloaded.

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.CONVGEN_CHROMIUM ?? '/usr/bin/chromium';

export const NO_CHROMIUM = `no Chromium at ${CHROMIUM}: install Debian's (apt-get install -y --no-install-recommends chromium, as .ci/run does) or set CONVGEN_CHROMIUM; the browser tests need it`;

// headless and quiet: no GPU (the page runs on the CPU), no QUIC, no background traffic
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** whether the browser tests run here; in CI a missing Chromium throws */
export function haveChromium(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') throw new Error(`CI: ${NO_CHROMIUM}`);
  console.warn(NO_CHROMIUM);
  return false;
}

/** a browser with a fresh profile; close() also removes the profile */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'convgen-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
