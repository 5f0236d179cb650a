// Running a CLI command in-process (its exported `xxxCommand(args)`), capturing what it
// prints: what the CLI tests assert on.

import { vi } from 'vitest';

export interface Captured {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** `command(args)` with stdout and stderr captured (and kept off the test output) */
export async function runCaptured(command: (args: string[]) => Promise<number>, args: string[]): Promise<Captured> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    return { code: await command(args), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
