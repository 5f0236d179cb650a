// The WASM-SIMD calibration kernel: a hand-written f32x4 GEMM (mul + add, no relaxed FMA),
// assembled by wabt (a devDependency) and timed in the same rounds as the rows, as the
// plain-JS GEMM is. Its GFLOP/s is this machine's WASM-SIMD ceiling at the moment of the
// run, so "% WASM GEMM" compares the wasm target with what f32x4 reaches here.
//
// C[M,N] = A[M,K] * B[K,N], row-major, M a multiple of 4, N of 16: a 4x16 register tile
// (16 f32x4 accumulators), each step loads 4 vectors of B's row k and splats 4 values of A.
// ../shared/notes/wasm-simd.md measured this tile 8-10x the plain-JS GEMM here.

import wabtInit from 'wabt';
import { gemmNaive } from './gemm.ts';

const R = 4;
const V = 4;

/**
 * the WAT text of `gemm(a, b, c, M, N, K)` (byte offsets of A, B, C in the imported memory);
 * fma: each multiply-add one f32x4.relaxed_madd (relaxed SIMD) instead of mul + add
 */
export function gemmWat(fma = false): string {
  const acc = (r: number, v: number) => `$c${r}${v}`;
  const locals: string[] = [];
  for (let r = 0; r < R; r++) for (let v = 0; v < V; v++) locals.push(`(local ${acc(r, v)} v128)`);
  for (let v = 0; v < V; v++) locals.push(`(local $b${v} v128)`);
  const zero = [];
  for (let r = 0; r < R; r++) for (let v = 0; v < V; v++) zero.push(`(local.set ${acc(r, v)} (v128.const i32x4 0 0 0 0))`);
  const body: string[] = [];
  // $pb: B's row k at column j; $pa: A's row i at column k
  for (let v = 0; v < V; v++) body.push(`(local.set $b${v} (v128.load offset=${16 * v} (local.get $pb)))`);
  for (let r = 0; r < R; r++) {
    body.push(`(local.set $s (f32x4.splat (f32.load (i32.add (local.get $pa) (i32.mul (local.get $rowA) (i32.const ${r}))))))`);
    for (let v = 0; v < V; v++) body.push(fma ? `(local.set ${acc(r, v)} (f32x4.relaxed_madd (local.get $s) (local.get $b${v}) (local.get ${acc(r, v)})))` : `(local.set ${acc(r, v)} (f32x4.add (local.get ${acc(r, v)}) (f32x4.mul (local.get $s) (local.get $b${v}))))`);
  }
  const store: string[] = [];
  for (let r = 0; r < R; r++) for (let v = 0; v < V; v++) store.push(`(v128.store offset=${16 * v} (i32.add (local.get $pc) (i32.mul (local.get $rowC) (i32.const ${r}))) (local.get ${acc(r, v)}))`);
  return `(module
  (import "env" "memory" (memory 1))
  (func (export "gemm") (param $a i32) (param $b i32) (param $c i32) (param $M i32) (param $N i32) (param $K i32)
    (local $i i32) (local $j i32) (local $k i32) (local $pa i32) (local $pb i32) (local $pc i32) (local $rowA i32) (local $rowC i32) (local $s v128)
    ${locals.join(' ')}
    (local.set $rowA (i32.shl (local.get $K) (i32.const 2)))
    (local.set $rowC (i32.shl (local.get $N) (i32.const 2)))
    (local.set $i (i32.const 0))
    (loop $li
      (local.set $j (i32.const 0))
      (loop $lj
        ${zero.join('\n        ')}
        (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $rowA))))
        (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $k (i32.const 0))
        (loop $lk
          ${body.join('\n          ')}
          (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
          (local.set $pb (i32.add (local.get $pb) (local.get $rowC)))
          (br_if $lk (i32.lt_u (local.tee $k (i32.add (local.get $k) (i32.const 1))) (local.get $K))))
        (local.set $pc (i32.add (local.get $c) (i32.add (i32.mul (local.get $i) (local.get $rowC)) (i32.shl (local.get $j) (i32.const 2)))))
        ${store.join('\n        ')}
        (br_if $lj (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const ${4 * V}))) (local.get $N))))
      (br_if $li (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const ${R}))) (local.get $M))))))
`;
}

/**
 * the WASM calibration task, the plain-JS one's shape and repetitions (n^3 at 192, quick: 32,
 * 8 products per call), checked against the naive product first
 */
export async function wasmCalibrationTask(quick: boolean, fma = false): Promise<{ n: number; flops: number; fn: () => void }> {
  const n = quick ? 32 : 192;
  const wabt = await wabtInit();
  const parsed = wabt.parseWat('gemm.wat', gemmWat(fma), { simd: true, relaxed_simd: fma });
  const bytes = new Uint8Array(parsed.toBinary({}).buffer);
  parsed.destroy();
  const memory = new WebAssembly.Memory({ initial: Math.ceil((3 * n * n * 4) / 65536) + 1 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  const gemm = inst.exports.gemm as (a: number, b: number, c: number, m: number, n: number, k: number) => void;
  const bytesOf = n * n * 4;
  const A = new Float32Array(memory.buffer, 0, n * n);
  const B = new Float32Array(memory.buffer, bytesOf, n * n);
  const C = new Float32Array(memory.buffer, 2 * bytesOf, n * n);
  let s = 12345;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  for (let i = 0; i < A.length; i++) A[i] = next();
  for (let i = 0; i < B.length; i++) B[i] = next();
  gemm(0, bytesOf, 2 * bytesOf, n, n, n);
  const want = gemmNaive(n, n, n, A, B);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(C[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  if (!(err <= 1e-4 * scale)) throw new Error(`bench: the WASM calibration GEMM disagrees with the naive product (max error ${err} of ${scale})`);
  const reps = quick ? 1 : 8;
  return {
    n,
    flops: reps * 2 * n * n * n,
    fn: () => {
      for (let r = 0; r < reps; r++) gemm(0, bytesOf, 2 * bytesOf, n, n, n);
    },
  };
}
