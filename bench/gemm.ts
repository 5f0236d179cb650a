// The calibration kernel: a register-blocked plain-JS GEMM, timed in the same run as every
// other row. Its GFLOP/s is this machine's plain-JS ceiling for the moment of the run, so
// "% of GEMM" is a ratio between two things measured under the same load.
//
// 4x4 register tile: 16 accumulators plus 4 B values stay in registers, each A value is
// loaded once per tile row. Wider tiles spill on x64 (16 xmm registers) and ran no faster.

/** C[M,N] = A[M,K] * B[K,N], row-major; M and N multiples of 4 */
export function gemm4x4(M: number, N: number, K: number, A: Float32Array, B: Float32Array, C: Float32Array): void {
  for (let i = 0; i < M; i += 4) {
    const r0 = i * K;
    const r1 = r0 + K;
    const r2 = r1 + K;
    const r3 = r2 + K;
    for (let j = 0; j < N; j += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
      let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      let b = j;
      for (let k = 0; k < K; k++, b += N) {
        const b0 = B[b], b1 = B[b + 1], b2 = B[b + 2], b3 = B[b + 3];
        let a = A[r0 + k];
        c00 += a * b0; c01 += a * b1; c02 += a * b2; c03 += a * b3;
        a = A[r1 + k];
        c10 += a * b0; c11 += a * b1; c12 += a * b2; c13 += a * b3;
        a = A[r2 + k];
        c20 += a * b0; c21 += a * b1; c22 += a * b2; c23 += a * b3;
        a = A[r3 + k];
        c30 += a * b0; c31 += a * b1; c32 += a * b2; c33 += a * b3;
      }
      let o = i * N + j;
      C[o] = c00; C[o + 1] = c01; C[o + 2] = c02; C[o + 3] = c03; o += N;
      C[o] = c10; C[o + 1] = c11; C[o + 2] = c12; C[o + 3] = c13; o += N;
      C[o] = c20; C[o + 1] = c21; C[o + 2] = c22; C[o + 3] = c23; o += N;
      C[o] = c30; C[o + 1] = c31; C[o + 2] = c32; C[o + 3] = c33;
    }
  }
}

/** the plain triple loop in float64, to check gemm4x4 before it is timed */
export function gemmNaive(M: number, N: number, K: number, A: ArrayLike<number>, B: ArrayLike<number>): Float64Array {
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < K; k++) {
      const a = A[i * K + k];
      for (let j = 0; j < N; j++) C[i * N + j] += a * B[k * N + j];
    }
  }
  return C;
}

/**
 * the calibration task: n^3 at 192 (quick: 32), checked against the naive product first.
 * One call runs the product 8 times (about 25 ms), as long as a conv kernel's call: on a
 * shared machine a 3 ms sample fits in one scheduler time slice far more often than a 30 ms
 * one, and a short calibration would read faster than the kernels for that reason alone
 */
export function calibrationTask(quick: boolean): { n: number; flops: number; fn: () => void } {
  const n = quick ? 32 : 192;
  // a fixed LCG: the calibration needs no shared seed, only values in [-1, 1)
  let s = 12345;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const A = Float32Array.from({ length: n * n }, next);
  const B = Float32Array.from({ length: n * n }, next);
  const C = new Float32Array(n * n);
  gemm4x4(n, n, n, A, B, C);
  const want = gemmNaive(n, n, n, A, B);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(C[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  if (!(err <= 1e-4 * scale)) throw new Error(`bench: the calibration GEMM disagrees with the naive product (max error ${err} of ${scale})`);
  const reps = quick ? 1 : 8;
  return {
    n,
    flops: reps * 2 * n * n * n,
    fn: () => {
      for (let r = 0; r < reps; r++) gemm4x4(n, n, n, A, B, C);
    },
  };
}
