// convgen check --target wgsl on a machine without WebGPU: exit 1 and say how to get an
// adapter, whether the `webgpu` package is missing or Dawn finds no adapter (stock
// bookworm Mesa: requestAdapter() resolves null). The package is mocked (and, end to end,
// the Vulkan loader pointed at no driver), so this runs everywhere.

import { afterEach, expect, it, vi } from 'vitest';
import { runCaptured } from './helpers/cli.ts';

afterEach(() => {
  vi.doUnmock('webgpu');
  vi.resetModules();
});

const check = async (args: string[]) => runCaptured((await import('../src/cli/check.ts')).checkCommand, args);

// the message is for users of the installed package too: packages by name, the script only as the repository's
it('no adapter: exit 1, nothing on stdout, a message naming what to install', async () => {
  vi.doMock('webgpu', () => ({ create: () => ({ requestAdapter: async () => null }), globals: {} }));
  const r = await check(['examples/seed.json', '--target', 'wgsl']);
  expect(r.code).toBe(1);
  expect(r.out).toBe('');
  expect(r.err).toMatch(/^convgen check: --target wgsl: no WebGPU adapter: Dawn's default backend found no adapter; install the `webgpu` package \(.*`npm install webgpu`\).*mesa-vulkan-drivers and libvulkan1.*In the convgen repository, scripts\/install-webgpu-deps\.sh does this.*\n$/);
  expect(r.err).not.toContain('sudo bash');
});

it('no `webgpu` package: exit 1 with the same instructions', async () => {
  vi.doMock('webgpu', () => {
    throw new Error("Cannot find package 'webgpu'");
  });
  const r = await check(['examples/seed.json', '--target', 'wgsl']);
  expect(r.code).toBe(1);
  expect(r.out).toBe('');
  expect(r.err).toMatch(/no WebGPU adapter: the `webgpu` package did not load \(.*\); install the `webgpu` package.*`npm install webgpu`.*mesa-vulkan-drivers.*install-webgpu-deps\.sh/);
});

it('a bad model file is still a usage error (exit 2 through main), before any device is opened', async () => {
  vi.doMock('webgpu', () => {
    throw new Error('must not be loaded');
  });
  const { ConvgenError } = await import('../src/errors.ts');
  await expect(check(['examples/missing.json', '--target', 'wgsl'])).rejects.toBeInstanceOf(ConvgenError);
});

it('through bin/convgen.js with no Vulkan driver: exit 1 with the message, and the process ends', async () => {
  const { spawnSync } = await import('node:child_process');
  // the Vulkan loader finds no driver: Dawn's real code path to "no adapter"
  const env = { ...process.env, VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' };
  const r = spawnSync(process.execPath, ['bin/convgen.js', 'check', 'examples/seed.json', '--target', 'wgsl'], { encoding: 'utf8', env, timeout: 60_000 });
  expect(r.status).toBe(1);
  expect(r.stdout).toBe('');
  // (or, where the package itself is missing, that it did not load)
  expect(r.stderr).toMatch(/convgen check: --target wgsl: no WebGPU adapter: .*; install the `webgpu` package.*`npm install webgpu`.*mesa-vulkan-drivers.*install-webgpu-deps\.sh/);
}, 60_000);
