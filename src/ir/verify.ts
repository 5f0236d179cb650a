// verify: the invariants both renderers rely on. Every variable is declared before use
// and never redeclared or shadowed (unrolled copies and inlined branches share scopes),
// assignments target mutable locals, loads and stores name declared buffers with the
// right access, and unrolled loops are gone before rendering.

import type { Kernel, Stmt } from './types.ts';
import { exprsOf, loadsOf, varsOf } from './walk.ts';

export function verify(k: Kernel, opts: { allowUnroll?: boolean } = {}): Kernel {
  const fail = (msg: string): never => {
    throw new Error(`verify: kernel ${k.name}: ${msg}`);
  };
  // workgroup memory is addressed like a buffer the workgroup reads and writes
  const wg = k.workgroup;
  const shared = (wg?.shared ?? []).map((a) => ({ name: a.name, t: a.t, length: a.length, access: 'read_write' as const }));
  const bufs = new Map([...k.buffers, ...shared].map((b) => [b.name, b]));
  if (bufs.size !== k.buffers.length + shared.length) fail('duplicate buffer names');
  if (wg && (!Number.isInteger(wg.size) || wg.size < 1)) fail(`workgroup size ${wg.size}`);
  /** barriers: only in cooperative kernels, in uniform control flow (no `if`, constant-bound loops) */
  const walk = (stmts: readonly Stmt[], scope: Map<string, boolean>, uniform = true) => {
    const local = new Map(scope);
    const declare = (name: string, mutable: boolean) => {
      if (local.has(name) || bufs.has(name)) fail(`'${name}' is declared twice (or shadows)`);
      local.set(name, mutable);
    };
    for (const s of stmts) {
      for (const e of exprsOf(s)) {
        for (const n of varsOf(e)) if (!local.has(n)) fail(`'${n}' is used but not declared`);
        for (const b of loadsOf(e)) {
          const d = bufs.get(b) ?? fail(`load from undeclared buffer '${b}'`);
          if (d.access === 'write') fail(`load from write-only buffer '${b}'`);
        }
      }
      switch (s.k) {
        case 'let':
          declare(s.name, s.mutable);
          break;
        case 'assign':
          if (local.get(s.name) !== true) fail(`assignment to '${s.name}', which is not a mutable local`);
          break;
        case 'store': {
          const d = bufs.get(s.buf) ?? fail(`store to undeclared buffer '${s.buf}'`);
          if (d.access === 'read') fail(`store to read-only buffer '${s.buf}'`);
          if (s.op === '+=' && d.access !== 'read_write') fail(`'+=' store to '${s.buf}' needs read_write access`);
          break;
        }
        case 'for': {
          if (s.unroll && !opts.allowUnroll) fail(`loop '${s.v}' is still marked unroll`);
          if (s.step <= 0) fail(`loop '${s.v}' has step ${s.step}`);
          const inner = new Map(local);
          if (inner.has(s.v)) fail(`loop variable '${s.v}' shadows`);
          inner.set(s.v, false);
          walk(s.body, inner, uniform && s.from.k === 'const' && s.to.k === 'const');
          break;
        }
        case 'if':
          walk(s.then, local, false);
          walk(s.else, local, false);
          break;
        case 'comment':
          break;
        case 'barrier':
          if (!wg) fail('barrier in a kernel without a workgroup');
          if (!uniform) fail('barrier under an if or in a loop with non-constant bounds (not uniform control flow)');
          break;
      }
    }
  };
  const top = new Map<string, boolean>();
  for (const s of k.scalars) top.set(s.name, false);
  if (wg) {
    if (top.has(wg.local) || bufs.has(wg.local)) fail(`workgroup index '${wg.local}' clashes`);
    top.set(wg.local, false);
  }
  walk(k.body, top);
  return k;
}
