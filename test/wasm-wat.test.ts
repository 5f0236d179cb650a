// The committed .wat text is what runs: wabt (a devDependency: the reference assembler, simd
// enabled) assembles every generated/<model>/wasm/*.wat, and the bytes must equal the binary
// convgen's own encoder embedded in wasm/kernels.ts. The same for every kernel module of the
// shared case table, printed and encoded afresh (instruction shapes the examples may lack:
// i32 max, guarded selects, if-results). And the encoder's binaries validate on their own.

import { beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import wabtInit from 'wabt';
import { CASES, planCase } from './cases.ts';
import { lowerModel } from '../src/kernels/index.ts';
import { kernelModule } from '../src/wasm/run.ts';
import { encodeModule } from '../src/wasm/encode.ts';
import { printWat } from '../src/wasm/wat-text.ts';
import type { Kernel } from '../src/ir/types.ts';

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabt: Wabt;
beforeAll(async () => {
  wabt = await wabtInit();
});

function assemble(name: string, text: string): Uint8Array {
  const mod = wabt.parseWat(name, text, { simd: true });
  try {
    mod.validate();
    return Uint8Array.from(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

describe('committed .wat assembles (wabt) to the embedded binary, byte for byte', () => {
  const models = readdirSync('generated').filter((d) => readdirSync(join('generated', d)).includes('wasm'));
  it('finds the examples', () => expect(models.length).toBeGreaterThanOrEqual(10));
  for (const m of models) {
    it(m, () => {
      const dir = join('generated', m, 'wasm');
      const kernelsTs = readFileSync(join(dir, 'kernels.ts'), 'utf8');
      // layer modules live in wasm/layers/ under the identifier layers_<layer>
      const wats = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.wat'));
      expect(wats.filter((f) => f.startsWith('layers/')).length).toBeGreaterThan(0);
      for (const f of wats) {
        const name = f.slice(0, -'.wat'.length).replace('/', '_');
        const b64 = new RegExp(`const ${name}_wasm = '([A-Za-z0-9+/=]+)';`).exec(kernelsTs)?.[1];
        expect(b64, `${f}: no embedded binary`).toBeDefined();
        const embedded = Uint8Array.from(Buffer.from(b64!, 'base64'));
        expect(equalBytes(assemble(f, readFileSync(join(dir, f), 'utf8')), embedded), `${m}/wasm/${f}`).toBe(true);
        expect(WebAssembly.validate(embedded)).toBe(true);
      }
    });
  }
});

describe('the case table: printed text and our encoding agree', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const prog = lowerModel(planCase(c));
      const kernels: Kernel[] = prog.layers.flatMap((l) => [...l.forward, ...l.backward, ...(l.eval?.forward ?? []), ...(l.eval?.backward ?? [])].map((k) => k.kernel));
      for (const k of [prog.loss, ...Object.values(prog.optimizers ?? {})]) if (k) kernels.push(k);
      const def = kernelModule(kernels);
      const mine = encodeModule(def);
      expect(equalBytes(assemble(c.name, printWat(def)), mine)).toBe(true);
    });
  }
});
