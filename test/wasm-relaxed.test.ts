// Relaxed SIMD (f32x4.relaxed_madd) behind a probe, with the mul + add modules as the fallback.
// One binary per module is embedded; the relaxed one is derived from it by rewriting each
// multiply-add in place (src/wasm/relax.ts, the generated runtime's relaxBinary). Here:
//   - the rewrite is exact: on the case table and on every committed example, the embedded
//     offsets cover every f32x4.mul, and rewriting them gives the bytes wabt (relaxed_simd on)
//     assembles from the relaxed text;
//   - the fallback is what runs in this process (the other wasm tests: bits equal the scalar
//     module's) unless the engine has relaxed SIMD;
//   - the relaxed path, in a child process with --experimental-wasm-relaxed-simd: the checker's
//     kernels and the generated wasm.ts against the reference within its tolerance (relaxed
//     results may differ from mul + add in the last bits, so never bit for bit).

import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import wabtInit from 'wabt';
import { CASES, planCase } from './cases.ts';
import { lowerModel } from '../src/kernels/index.ts';
import { lowerLayer } from '../src/kernels/index.ts';
import { planModel } from '../src/plan/plan.ts';
import { parseModel } from '../src/spec/parse.ts';
import { HOST_WASM_SCHEDULE, kernelModule } from '../src/wasm/run.ts';
import { encodeModule } from '../src/wasm/encode.ts';
import { printWat } from '../src/wasm/wat-text.ts';
import { hasRelaxedSimd, relaxBinary, relaxSites, relaxedModule } from '../src/wasm/relax.ts';
import type { Kernel } from '../src/ir/types.ts';
import type { ModuleDef } from '../src/wasm/instr.ts';

type Wabt = Awaited<ReturnType<typeof wabtInit>>;
let wabt: Wabt;
beforeAll(async () => {
  wabt = await wabtInit();
});

function assemble(name: string, text: string): Uint8Array {
  const mod = wabt.parseWat(name, text, { simd: true, relaxed_simd: true });
  try {
    mod.validate();
    return Uint8Array.from(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

const countOp = (m: ModuleDef, op: string): number => m.funcs.reduce((n, f) => n + f.body.filter((i) => i.op === op).length, 0);

describe('the relaxed binary is the mul + add one with its multiply-adds rewritten', () => {
  const carry = planModel(parseModel({ name: 'carry', batch: 2, input: [8, 10, 10], layers: [{ type: 'conv2d', name: 'c', out_channels: 8, kernel: 3, padding: 1 }] }), { strategy: 'direct' });
  const sets: { name: string; kernels: Kernel[] }[] = [
    { name: 'direct conv, 8 channels', kernels: [...lowerLayer(carry.layers[0]!, { target: 'wasm' }).forward, ...lowerLayer(carry.layers[0]!, { target: 'wasm' }).backward].map((c) => c.kernel) },
    ...CASES.map((c) => ({ name: c.name, kernels: lowerModel(planCase(c), { target: 'wasm' }).layers.flatMap((l) => [...l.forward, ...l.backward].map((k) => k.kernel)) })),
  ];
  let rewritten = 0;
  // a flatten has no kernel: no module
  for (const s of sets.filter((x) => x.kernels.length)) {
    it(s.name, () => {
      const plain = kernelModule(s.kernels, [], { simd: true });
      const fma = kernelModule(s.kernels, [], { simd: true, fma: true });
      const bytes = encodeModule(plain);
      const relaxed = encodeModule(fma);
      // our encoding of the relaxed instructions is what wabt makes of their text
      expect(Buffer.from(assemble(s.name, printWat(fma))).equals(Buffer.from(relaxed))).toBe(true);
      const sites = relaxSites(bytes, relaxed);
      expect(sites.length).toBe(countOp(plain, 'f32x4.mul'));
      expect(countOp(fma, 'f32x4.relaxed_madd')).toBe(sites.length);
      expect(Buffer.from(relaxBinary(bytes, sites)).equals(Buffer.from(relaxed))).toBe(true);
      // the build derives the relaxed module from the mul + add one (the marked products) instead of rendering twice
      expect(Buffer.from(encodeModule(relaxedModule(plain))).equals(Buffer.from(relaxed))).toBe(true);
      rewritten += sites.length;
    });
  }
  it('rewrote the vector updates of the conv kernels', () => expect(rewritten).toBeGreaterThan(50));

  it('refuses offsets that are not a multiply-add', () => {
    const plain = encodeModule(kernelModule(sets[0]!.kernels, [], { simd: true }));
    const sites = relaxSites(plain, encodeModule(kernelModule(sets[0]!.kernels, [], { simd: true, fma: true })));
    expect(() => relaxBinary(plain, [sites[0]! + 1])).toThrow(/no f32x4 multiply-add at byte/);
  });
});

describe('every committed example: the embedded offsets cover every f32x4 multiply-add', () => {
  const models = readdirSync('generated').filter((d) => readdirSync(join('generated', d)).includes('wasm'));
  for (const m of models) {
    it(m, () => {
      const dir = join('generated', m, 'wasm');
      const kernelsTs = readFileSync(join(dir, 'kernels.ts'), 'utf8');
      // layer modules live in wasm/layers/ under the identifier layers_<layer>
      const wats = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((x) => x.endsWith('.wat'));
      expect(wats.filter((f) => f.startsWith('layers/')).length).toBeGreaterThan(0);
      for (const f of wats) {
        const name = f.slice(0, -'.wat'.length).replace('/', '_');
        const muls = (readFileSync(join(dir, f), 'utf8').match(/\(f32x4\.mul /g) ?? []).length;
        const sites = JSON.parse(new RegExp(`const ${name}_fma = (\\[[0-9, ]*\\]);`).exec(kernelsTs)?.[1] ?? '[]') as number[];
        expect(sites.length, `${m}/wasm/${f}`).toBe(muls);
        if (muls) expect(kernelsTs).toContain(`instantiate('${name}', ${name}_wasm, heap, ${name}_fma)`);
        const bytes = Uint8Array.from(Buffer.from(new RegExp(`const ${name}_wasm = '([A-Za-z0-9+/=]+)';`).exec(kernelsTs)![1]!, 'base64'));
        const relaxed = relaxBinary(bytes, sites);
        expect(relaxed.length).toBe(bytes.length);
        if (hasRelaxedSimd()) expect(WebAssembly.validate(relaxed)).toBe(true);
      }
    });
  }
});

describe('the probe picks the variant', () => {
  it('the checker runs relaxed_madd exactly where relaxed SIMD validates', () => {
    expect(HOST_WASM_SCHEDULE.fma).toBe(hasRelaxedSimd());
  });

  // Node 20 needs the flag; Node 22+ validates relaxed SIMD without it (the child is the same run then)
  it('with relaxed SIMD (a child process with --experimental-wasm-relaxed-simd): kernels and wasm.ts within the reference tolerance', () => {
    const out = execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', 'test/helpers/wasm-relaxed-child.ts'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { probe: boolean; fma: boolean; models: number; rows: number; modules: number; relaxedModules: number; failed: string[]; threadsSame: boolean; workerChunks: number };
    expect(r.probe).toBe(true);
    expect(r.fma).toBe(true);
    expect(r.failed).toEqual([]);
    expect(r.rows).toBeGreaterThan(500);
    // the generated runtimes and the checker compiled relaxed binaries (not only the fallback)
    expect(r.relaxedModules).toBeGreaterThan(10);
    // relaxed and threads together: resnet_small on 1 and 2 threads, the same bits, the worker took part
    expect(r.threadsSame).toBe(true);
    expect(r.workerChunks).toBeGreaterThan(0);
  }, 180_000);
});
