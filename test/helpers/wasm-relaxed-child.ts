// Run by test/wasm-relaxed.test.ts in a child process with --experimental-wasm-relaxed-simd
// (Node 20 validates relaxed SIMD only with it): the checker's wasm path, whose kernels then
// run with f32x4.relaxed_madd, and the generated wasm.ts, whose runtime then derives the relaxed
// binaries, against the float64 reference. Prints one JSON line: what ran, and any row outside
// its tolerance. Relaxed results may differ from mul + add in the last bits, so they are held
// to the reference's tolerance, never compared bit for bit.

import { checkWasm } from '../../src/check/wasm.ts';
import { hasRelaxedSimd } from '../../src/wasm/relax.ts';
import { HOST_WASM_SCHEDULE } from '../../src/wasm/run.ts';
import { plan } from '../../src/api.ts';
import { planModel } from '../../src/plan/plan.ts';
import { parseModel } from '../../src/spec/parse.ts';
import { CASES, planCase } from '../cases.ts';
import * as resnet from '../../generated/resnet_small/wasm.ts';

// count the compiled modules that hold a relaxed_madd (local.get n, fd 85 02, then the three nops)
let relaxedModules = 0;
let modules = 0;
const Module = WebAssembly.Module;
WebAssembly.Module = class extends Module {
  constructor(bytes: BufferSource) {
    super(bytes);
    const b = new Uint8Array(ArrayBuffer.isView(bytes) ? bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) : bytes);
    modules++;
    if (b.some((v, i) => v === 0xfd && b[i + 1] === 0x85 && b[i + 2] === 0x02 && b[i + 3] === 0x01 && b[i + 4] === 0x01 && b[i + 5] === 0x01)) relaxedModules++;
  }
};

const plans = [
  plan('examples/lenet.json'),
  plan('examples/resnet.json'),
  // channels enough for the direct conv's f32x4 blocks (the case table's convs are narrower)
  planModel(parseModel({ name: 'relaxed_direct', batch: 2, input: [8, 10, 10], layers: [{ type: 'conv2d', name: 'c', out_channels: 8, kernel: 3, padding: 1 }, { type: 'flatten', name: 'f' }, { type: 'linear', name: 'fc', out_features: 4 }] }), { strategy: 'direct' }),
  ...CASES.filter((c) => c.kinds.length > 2).map((c) => planCase(c)),
];
const failed: string[] = [];
let rows = 0;
for (const p of plans) {
  for (const r of await checkWasm(p, 1)) {
    if (!r.result) continue;
    rows++;
    if (!r.result.ok) failed.push(`${p.name} ${r.layer} ${r.kernel}: abs err ${r.result.maxAbs} > tol ${r.result.tolerance}`);
  }
}
// relaxed SIMD and threads together: resnet_small's generated model on 1 and 2 threads, two Adam
// steps, the same bits (the worker runs the relaxed modules the calling thread compiled)
async function steps(threads: number): Promise<{ bits: number[]; workerChunks: number }> {
  const p = resnet.plan;
  const x = Float32Array.from({ length: p.inShape.reduce((a: number, b: number) => a * b, 1) }, (_, i) => Math.sin(i));
  const labels = Int32Array.from({ length: p.batch }, (_, i) => i % p.outShape[1]!);
  const model = await resnet.createWasmModelAsync({ seed: 3, threads });
  const out: number[] = [];
  for (let s = 0; s < 2; s++) {
    out.push(model.lossAndGrad(x, labels));
    model.adamStep(1e-3);
  }
  // a loaded machine may wake the worker late: forwards until it has run chunks
  for (let i = 0; i < 100 && threads > 1 && model.chunksRun()[1] === 0; i++) model.forward(x);
  out.push(...model.params.stem.weight);
  const workerChunks = model.chunksRun()[1] ?? 0;
  model.dispose();
  return { bits: Array.from(new Uint32Array(Float32Array.from(out).buffer)), workerChunks };
}
const one = await steps(1);
const two = await steps(2);
const threadsSame = one.bits.length > 10 && one.bits.every((b, i) => b === two.bits[i]);
process.stdout.write(JSON.stringify({ probe: hasRelaxedSimd(), fma: HOST_WASM_SCHEDULE.fma === true, models: plans.length, rows, modules, relaxedModules, failed, threadsSame, workerChunks: two.workerChunks }) + '\n');
