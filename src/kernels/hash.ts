// The dropout stream: a counter-based hash, written once in the IR so the TS and WGSL
// kernels draw the same masks bit for bit (i32 values read as u32 bit patterns; xor,
// logical shifts and multiplication mod 2^32 are exact on both targets).
//
//   H(v)   = lowbias32 (Chris Wellons' hash prospector): v ^= v >>> 16; v *= 0x7feb352d;
//            v ^= v >>> 15; v *= 0x846ca68b; v ^= v >>> 16 (a bijection of u32)
//   key    = H(H(H(seed ^ 0x9e3779b9) ^ layer) ^ step)
//   u(i)   = H(key ^ i)        for element i of the layer's output, flat NCHW
//   keep i iff (u(i) >>> 8) >= round(p * 2^24)
//
// seed: createModel's seed mod 2^32; layer: the layer's index in model.json; step: how many
// training-mode forward passes the model ran before this one (mod 2^32). The top 24 bits of
// u are uniform, so an element is dropped with probability round(p * 2^24) / 2^24 (within
// 2^-25 of p; exactly p for p = 0, 0.5, 1 and any multiple of 2^-24).

import type { Expr, Stmt } from '../ir/types.ts';
import { let_, mulw, shr, v, xor, type E } from '../ir/build.ts';

/** added to the seed so that seed 0 is no fixed point of H (H(0) = 0) */
export const SEED_SALT = 0x9e3779b9 | 0;
const M1 = 0x7feb352d;
const M2 = 0x846ca68b | 0;

/** `name` = H(input), as immutable i32 locals `name_1`, `name_2` and `name` */
export function hashInto(name: string, input: E): Stmt[] {
  const a = `${name}_1`;
  const b = `${name}_2`;
  const x = v(`${name}_0`);
  return [
    let_(`${name}_0`, input),
    let_(a, mulw(xor(x, shr(x, 16)), M1)),
    let_(b, mulw(xor(v(a), shr(v(a), 15)), M2)),
    let_(name, xor(v(b), shr(v(b), 16))),
  ];
}

/** 24-bit threshold: drop iff (u >>> 8) < threshold(p) */
export function dropThreshold(p: number): number {
  return Math.round(p * 2 ** 24);
}

/** the key of one layer at one step, from the rng buffer [seed, step]: statements ending in the local `key` */
export function dropoutKey(layerIndex: number, seed: Expr, step: Expr): Stmt[] {
  return [
    ...hashInto('kseed', xor(seed, SEED_SALT)),
    ...hashInto('klayer', xor(v('kseed'), layerIndex)),
    ...hashInto('key', xor(v('klayer'), step)),
  ];
}
