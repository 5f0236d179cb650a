// Kernel names carry the plan (tinygrad style): `conv3x3_s2_16x32x32_to_32_fwd_direct`.
// Only what changes the generated code goes in, and only where it differs from the
// default, so common layers keep short names. Two layers with the same name compute the
// same function on the same shapes (the batch is the model's, the same for every layer),
// so a module may share one copy.

import type { ConvGeometry, ConvTransposeGeometry } from '../plan/types.ts';

/** `2x8x6x6`: the per-sample shape, as kernel names carry it */
export const shapeTag = (shape: readonly number[]): string => shape.slice(1).join('x');

/** short role names used in kernel names */
export const ROLE_TAG = { forward: 'fwd', gradInput: 'dx', gradWeight: 'dw', gradBias: 'db' } as const;

const pair = (tag: string, h: number, w: number, dflt: number, oneD: boolean): string => {
  if (oneD) return w === dflt ? '' : `_${tag}${w}`;
  if (h === dflt && w === dflt) return '';
  return h === w ? `_${tag}${h}` : `_${tag}${h}x${w}`;
};

/** `conv3x3_s2_p1_16x32x32_to_32`, `conv1d_k5_p2_4x100_to_8`, `convt4x4_s2_p1_64x16x16_to_32`, `convt1d_k4_s2_8x50_to_4` */
export function convBaseName(g: ConvGeometry | ConvTransposeGeometry, kind: 'conv1d' | 'conv2d' | 'conv_transpose1d' | 'conv_transpose2d'): string {
  const oneD = kind === 'conv1d' || kind === 'conv_transpose1d';
  const head = oneD ? `${kind === 'conv1d' ? 'conv' : 'convt'}1d_k${g.kW}` : `${kind === 'conv2d' ? 'conv' : 'convt'}${g.kH}x${g.kW}`;
  const p = g.pad;
  let pad = '';
  if (oneD) pad = p.left === p.right ? (p.left ? `_p${p.left}` : '') : `_p${p.left}x${p.right}`;
  else if (p.top === p.bottom && p.left === p.right && p.top === p.left) pad = p.top ? `_p${p.top}` : '';
  else pad = `_pt${p.top}b${p.bottom}l${p.left}r${p.right}`;
  let op = '';
  if ('outputPadH' in g) op = pair('op', g.outputPadH, g.outputPadW, 0, oneD);
  const shape = oneD ? `${g.inC}x${g.inW}` : `${g.inC}x${g.inH}x${g.inW}`;
  return (
    head +
    pair('s', g.strideH, g.strideW, 1, oneD) +
    pad +
    op +
    pair('d', g.dilationH, g.dilationW, 1, oneD) +
    (g.groups !== 1 ? `_g${g.groups}` : '') +
    `_${shape}_to_${g.outC}`
  );
}
