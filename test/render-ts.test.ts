import { describe, expect, it } from 'vitest';
import { accum, add, buf, f32, kernel, let_, load, loop, mul, parallel, store, unrolled, v, var_, idiv, select, gt } from '../src/ir/build.ts';
import { lowerKernel } from '../src/ir/passes.ts';
import { compileKernelTs, renderKernelTs } from '../src/render/ts.ts';
import { runTsKernel } from './helpers/run-ts-kernel.ts';

// a 1D 3-tap correlation with a runtime scale, small enough to read in full
const tiny = kernel({
  name: 'corr3_8_to_6',
  doc: ['y[i] = s * sum_t w[t] x[i + t]'],
  buffers: [buf('x', 8, 'read'), buf('w', 3, 'read'), buf('y', 6, 'write')],
  scalars: [{ name: 's', t: 'f32' }],
  body: [
    parallel('i', 0, 6, (i) => [
      var_('acc', f32(0)),
      unrolled('t', 0, 3, (t) => [accum('acc', mul(load('w', t), load('x', add(i, t))))]),
      store('y', i, mul(v('s'), v('acc'))),
    ]),
  ],
});

describe('renderKernelTs', () => {
  it('renders a tiny kernel exactly (typed)', () => {
    expect(renderKernelTs(lowerKernel(tiny), { types: true })).toBe(
      [
        '/**',
        ' * y[i] = s * sum_t w[t] x[i + t]',
        ' */',
        'export function corr3_8_to_6(x: Float32Array, w: Float32Array, y: Float32Array, s: number): void {',
        '  for (let i = 0; i < 6; i++) {',
        '    let acc = 0;',
        '    acc += w[0]! * x[i]!;',
        '    acc += w[1]! * x[i + 1]!;',
        '    acc += w[2]! * x[i + 2]!;',
        '    y[i] = s * acc;',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('renders plain JS without annotations, deterministically', () => {
    const a = renderKernelTs(lowerKernel(tiny), { types: false });
    expect(a).toContain('export function corr3_8_to_6(x, w, y, s) {');
    // the typed flavour's non-null assertions on reads are TypeScript only
    expect(a).toContain('acc += w[0] * x[i];');
    expect(a).toBe(renderKernelTs(lowerKernel(tiny), { types: false }));
  });

  it('renders idiv, select, negative offsets and else branches', () => {
    const k = kernel({
      name: 'misc',
      buffers: [buf('a', 4, 'read'), buf('b', 4, 'write'), buf('r', 4, 'write', 'i32')],
      body: [
        loop('i', 1, 4, (i) => [
          let_('h', idiv(i, 2)),
          store('r', i, v('h')),
          store('b', add(i, -1), select(gt(load('a', i), f32(0)), load('a', i), f32(-0.5))),
        ]),
      ],
    });
    const src = renderKernelTs(lowerKernel(k), { types: true });
    expect(src).toContain('const h = ((i / 2) | 0);');
    expect(src).toContain('b[i - 1] = (a[i]! > 0 ? a[i]! : -0.5);');
    expect(src).toContain('r: Int32Array');
    const r = new Int32Array(4);
    const b = new Float32Array(4);
    runTsKernel(k, { a: new Float32Array([9, 2, -3, 4]), b, r });
    expect(Array.from(r)).toEqual([0, 0, 1, 1]);
    expect(Array.from(b)).toEqual([2, -0.5, 4, 0]);
  });

  // regression: idiv(ih + 1, 2) printed as `((ih + 1 / 2) | 0)` before operands of function-form operators were parenthesized
  it('parenthesizes compound operands of idiv', () => {
    const k = kernel({
      name: 'half',
      buffers: [buf('r', 4, 'write', 'i32')],
      body: [loop('i', 0, 4, (i) => [store('r', i, idiv(add(v('i'), 1), 2))])],
    });
    expect(renderKernelTs(lowerKernel(k), { types: true })).toContain('r[i] = (((i + 1) / 2) | 0);');
    const r = new Int32Array(4);
    runTsKernel(k, { r });
    expect(Array.from(r)).toEqual([0, 1, 1, 2]);
  });

  it('compiles and runs', () => {
    const x = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const y = new Float32Array(6);
    compileKernelTs(tiny)(x, new Float32Array([1, 0, -1]), y, 2);
    expect(Array.from(y)).toEqual([-4, -4, -4, -4, -4, -4]);
  });
});
