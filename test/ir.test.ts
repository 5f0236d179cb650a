import { describe, expect, it } from 'vitest';
import { add, barrier, buf, f32, i32, idiv, if_, kernel, let_, load, lt, mul, parallel, store, sub, unrolled, v, var_, accum, loop } from '../src/ir/build.ts';
import type { Stmt } from '../src/ir/types.ts';
import { compileKernelTs } from '../src/render/ts.ts';
import { renderKernelWgsl } from '../src/render/wgsl.ts';
import { DEFAULT_LIMITS } from '../src/gpu/limits.ts';
import { dumpExpr, dumpKernel } from '../src/ir/dump.ts';
import { lowerKernel, simplify, unroll, verify } from '../src/ir/passes.ts';

describe('folding builders', () => {
  it('turns unrolled index math into base + literal', () => {
    expect(dumpExpr(add(add(mul(v('n'), 100), 5), 3))).toBe('n * 100 + 8');
    expect(dumpExpr(add(add(v('a'), 3), add(v('b'), 4)))).toBe('a + b + 7');
    expect(dumpExpr(mul(add(v('x'), 2), 3))).toBe('x * 3 + 6');
    expect(dumpExpr(sub(add(v('x'), 5), 7))).toBe('x - 2');
    expect(dumpExpr(mul(mul(v('x'), 4), 8))).toBe('x * 32');
    expect(dumpExpr(add(mul(v('x'), 0), 9))).toBe('9');
    expect(dumpExpr(idiv(7, 2))).toBe('3');
  });
  it('never reorders f32 math and keeps f32 x * 0 (0 * inf is NaN)', () => {
    expect(dumpExpr(add(add(load('a', 0), f32(1)), f32(2)))).toBe('a[0] + 1.0 + 2.0');
    expect(dumpExpr(mul(load('a', 0), f32(0)))).toBe('a[0] * 0.0');
    expect(dumpExpr(mul(load('a', 0), f32(1)))).toBe('a[0]');
  });
  it('parenthesizes by precedence only', () => {
    expect(dumpExpr(mul(add(v('a'), v('b')), v('c')))).toBe('(a + b) * c');
    expect(dumpExpr(sub(v('a'), sub(v('b'), v('c'))))).toBe('a - (b - c)');
  });
});

describe('passes', () => {
  const k = kernel({
    name: 'k',
    buffers: [buf('x', 8, 'read'), buf('y', 4, 'write')],
    body: [
      loop('i', 0, 2, (i) => [
        var_('acc', f32(0)),
        unrolled('t', 0, 3, (t) => [let_('j', add(mul(i, 2), t)), accum('acc', load('x', add(v('j'), 1)))]),
        if_(lt(1, 2), [store('y', i, v('acc'))], [store('y', i, f32(0))]),
      ]),
    ],
  });

  it('unroll substitutes the loop variable and renames per-copy locals', () => {
    const u = unroll(k);
    expect(dumpKernel(u)).toBe(
      [
        'kernel k(x: f32[8] read, y: f32[4] write) {',
        '  for i in 0..2 {',
        '    var acc: f32 = 0.0',
        '    let j_t0: i32 = i * 2',
        '    acc += x[j_t0 + 1]',
        '    let j_t1: i32 = i * 2 + 1',
        '    acc += x[j_t1 + 1]',
        '    let j_t2: i32 = i * 2 + 2',
        '    acc += x[j_t2 + 1]',
        '    if 1 {',
        '      y[i] = acc',
        '    } else {',
        '      y[i] = 0.0',
        '    }',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('simplify drops constant ifs and lowerKernel verifies', () => {
    const l = lowerKernel(k);
    expect(dumpKernel(l)).toContain('    y[i] = acc\n  }');
    expect(dumpKernel(l)).not.toContain('else');
    expect(() => verify(k)).toThrow(/still marked unroll/);
  });

  it('simplify propagates constant locals and removes dead ones', () => {
    const s = simplify(
      kernel({
        name: 's',
        buffers: [buf('y', 4, 'write')],
        body: [let_('a', 3), let_('unused', add(v('a'), 1)), store('y', v('a'), f32(1)), loop('e', 2, 2, () => [store('y', 0, f32(0))])],
      }),
    );
    expect(dumpKernel(s)).toBe('kernel s(y: f32[4] write) {\n  y[3] = 1.0\n}\n');
  });

  // regression: resnet's 1x1 stride-2 projection has dx stride phases with no taps, whose loop
  // nest declared an `xrow` nothing read; another nest's `xrow` kept it alive (names were
  // counted over the whole kernel), and an app's noUnusedLocals failed on the generated file
  it('simplify drops a dead local even when another scope reads the same name', () => {
    const s = simplify(
      kernel({
        name: 's',
        buffers: [buf('x', 8, 'read'), buf('y', 8, 'write')],
        body: [
          loop('i', 0, 4, (i) => [let_('xrow', mul(i, 2)), store('y', v('i'), load('x', v('xrow')))]),
          loop('j', 0, 4, (j) => [let_('xrow', mul(j, 2)), store('y', add(j, 4), f32(0))]),
        ],
      }),
    );
    const text = dumpKernel(s);
    expect(text.match(/xrow/g)?.length).toBe(2); // declared and read in the first nest only
    expect(text).toContain('y[j + 4] = 0.0');
  });

  // loops that run once (`for (let g = 0; g < 1; g++)`, 402 times in the generated TS) read as noise
  it('simplify replaces a loop that runs once by its body at the start value', () => {
    const s = simplify(
      kernel({
        name: 's',
        buffers: [buf('x', 8, 'read'), buf('y', 8, 'write')],
        body: [parallel('g', 0, 1, (g) => [loop('r', 3, 4, (r) => [let_('xv', load('x', add(mul(g, 4), r)), 'f32'), store('y', r, v('xv'))])]), loop('s', 0, 2, (s) => [store('y', s, f32(0))])],
      }),
    );
    expect(dumpKernel(s)).toBe('kernel s(x: f32[8] read, y: f32[8] write) {\n  let xv: f32 = x[3]\n  y[3] = xv\n  for s in 0..2 {\n    y[s] = 0.0\n  }\n}\n');
    // two such loops declaring the same name (a conv's per-tap loops over one channel): one
    // block cannot declare it twice, so the second copy is a_2
    const twice = lowerKernel(
      kernel({
        name: 't',
        buffers: [buf('x', 8, 'read'), buf('y', 8, 'write')],
        body: [loop('r', 0, 1, (r) => [let_('a', load('x', r), 'f32'), store('y', r, v('a'))]), loop('r', 1, 2, (r) => [let_('a', load('x', r), 'f32'), store('y', r, v('a'))])],
      }),
    );
    expect(dumpKernel(twice)).toBe('kernel t(x: f32[8] read, y: f32[8] write) {\n  let a: f32 = x[0]\n  y[0] = a\n  let a_2: f32 = x[1]\n  y[1] = a_2\n}\n');
  });

  it('verify rejects undeclared names, read-only stores and shadowing', () => {
    const mk = (body: Parameters<typeof kernel>[0]['body']) => kernel({ name: 'bad', buffers: [buf('x', 4, 'read'), buf('y', 4, 'write')], body });
    expect(() => verify(mk([store('y', v('q'), f32(0))]))).toThrow(/'q' is used but not declared/);
    expect(() => verify(mk([store('x', 0, f32(0))]))).toThrow(/read-only/);
    expect(() => verify(mk([store('y', 0, load('y', 1))]))).toThrow(/write-only/);
    expect(() => verify(mk([let_('a', 1), loop('i', 0, 2, () => [let_('a', 2)])]))).toThrow(/declared twice/);
    expect(() => verify(mk([let_('a', i32(1)), { k: 'assign', name: 'a', value: i32(2), op: '=' }]))).toThrow(/not a mutable local/);
  });
});

describe('cooperative kernels (workgroup memory and barriers)', () => {
  // a workgroup of 4 reverses each block of 4 through workgroup memory: correct only if
  // every invocation's write lands before any invocation reads (the barrier)
  const coop = (body: Stmt[]) =>
    kernel({
      name: 'reverse4',
      buffers: [buf('x', 8, 'read'), buf('y', 8, 'write')],
      body: [parallel('blk', 0, 2, (blk) => [let_('base', mul(blk, 4)), ...body])],
      workgroup: { size: 4, local: 'local', shared: [{ name: 'tile', t: 'f32', length: 4 }] },
    });
  const good = coop([store('tile', v('local'), load('x', add(v('base'), v('local')))), barrier(), store('y', add(v('base'), v('local')), load('tile', sub(3, v('local'))))]);

  it('run on the CPU by loop fission at the barrier', () => {
    const run = compileKernelTs(good);
    const y = new Float32Array(8);
    run(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), y);
    expect([...y]).toEqual([4, 3, 2, 1, 8, 7, 6, 5]);
  });

  it('render to WGSL with var<workgroup>, workgroupBarrier and one workgroup per grid point', () => {
    const wk = renderKernelWgsl(lowerKernel(good));
    expect(wk.code).toContain('var<workgroup> tile: array<f32, 4>;');
    expect(wk.code).toContain('workgroupBarrier();');
    expect(wk.entries[0]).toMatchObject({ workgroupSize: 4, workgroups: [2, 1, 1], invocations: 8 });
    expect(wk.workgroupBytes).toBe(16);
    expect(() => renderKernelWgsl(lowerKernel(good), { ...DEFAULT_LIMITS, maxComputeInvocationsPerWorkgroup: 2 })).toThrow(/workgroups of 4 invocations, over maxComputeInvocationsPerWorkgroup = 2/);
  });

  it('loop fission: a local that reads workgroup memory belongs to its stretch; reading it past a barrier is refused', () => {
    // t = tile[...] read and used before the barrier: fine
    const within = coop([store('tile', v('local'), load('x', add(v('base'), v('local')))), barrier(), let_('t', load('tile', sub(3, v('local'))), 'f32'), store('y', add(v('base'), v('local')), v('t'))]);
    const y = new Float32Array(8);
    compileKernelTs(within)(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), y);
    expect([...y]).toEqual([4, 3, 2, 1, 8, 7, 6, 5]);
    // t read before a barrier, used after it: its value would be another invocation's
    const across = coop([store('tile', v('local'), load('x', add(v('base'), v('local')))), barrier(), let_('t', load('tile', sub(3, v('local'))), 'f32'), barrier(), store('y', add(v('base'), v('local')), v('t'))]);
    expect(() => compileKernelTs(across)).toThrow(/'t' read workgroup state before a barrier and are used after it/);
  });

  it('verify refuses barriers outside uniform control flow or outside a cooperative kernel', () => {
    const underIf = coop([if_(lt(v('local'), 2), [barrier()])]);
    expect(() => lowerKernel(underIf)).toThrow(/barrier under an if/);
    const plain = kernel({ name: 'p', buffers: [buf('y', 1, 'write')], body: [barrier(), store('y', 0, f32(1))] });
    expect(() => lowerKernel(plain)).toThrow(/barrier in a kernel without a workgroup/);
  });
});

describe('WGSL dispatch cutting', () => {
  it('keeps a local that reads an accumulator (and one that reads it) in order, not hoisted above it', () => {
    const k = kernel({
      name: 'k',
      buffers: [buf('x', 16, 'read'), buf('y', 4, 'write')],
      body: [
        parallel('i', 0, 4, (i) => [
          var_('s', f32(0)),
          loop('j', 0, 4, (j) => [accum('s', load('x', add(mul(i, 4), j)))]),
          let_('t', mul(v('s'), f32(2)), 'f32'),
          let_('u', mul(v('t'), f32(3)), 'f32'),
          store('y', i, v('u')),
        ]),
      ],
    });
    const code = renderKernelWgsl(lowerKernel(k)).code;
    expect(code.indexOf('var s: f32')).toBeLessThan(code.indexOf('let t: f32 = s * 2f;'));
    expect(code.indexOf('let t: f32')).toBeLessThan(code.indexOf('let u: f32 = t * 3f;'));
    const run = compileKernelTs(k);
    const y = new Float32Array(4);
    run(Float32Array.from({ length: 16 }, (_, n) => n), y);
    expect([...y]).toEqual([36, 132, 228, 324]);
  });
});
