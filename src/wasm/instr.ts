// The WASM instruction list: what the WAT renderer (src/render/wat.ts) produces for each
// kernel, printed as text by ./wat-text.ts and encoded to the binary format by ./encode.ts.
// Structured control (block / loop / if ... else ... end) is flat here, as in WAT's linear
// form; branches name their label, and the encoder turns names into relative depths.

export type ValType = 'i32' | 'f32' | 'f64' | 'v128';

export type Instr =
  /** printed as `;; text`, never encoded */
  | { readonly op: 'comment'; readonly text: string }
  | { readonly op: 'block' | 'loop'; readonly label: string }
  | { readonly op: 'if'; readonly result?: ValType }
  | { readonly op: 'else' | 'end' }
  | { readonly op: 'br' | 'br_if'; readonly label: string }
  | { readonly op: 'local.get' | 'local.set' | 'local.tee'; readonly name: string }
  | { readonly op: 'call'; readonly name: string }
  | { readonly op: 'i32.const' | 'f32.const'; readonly value: number }
  /** byte offset added to the address operand (natural alignment always) */
  | { readonly op: 'f32.load' | 'i32.load' | 'f32.store' | 'i32.store' | 'v128.load' | 'v128.load32_splat' | 'v128.store'; readonly offset: number }
  | { readonly op: 'f32x4.extract_lane' | 'f32x4.replace_lane'; readonly lane: number }
  /** fma: the product of a multiply-add (followed by local.get acc, f32x4.add), which relaxed SIMD rewrites to relaxed_madd (src/wasm/relax.ts) */
  | { readonly op: 'f32x4.mul'; readonly fma?: true }
  /** every other instruction: no immediates (`f32.add`, `select`, `f32x4.splat`, ...) */
  | { readonly op: string };

export interface Param {
  readonly name: string;
  readonly t: ValType;
}

export interface FuncDef {
  /** the export name (the kernel's) */
  readonly name: string;
  /** comment lines printed above the function */
  readonly doc: readonly string[];
  readonly params: readonly Param[];
  readonly locals: readonly Param[];
  readonly body: readonly Instr[];
  /** the host math functions it calls (f64 -> f64, imported from "math") */
  readonly imports: readonly string[];
}

/** one module: its functions share the memory imported as env.memory */
export interface ModuleDef {
  /** comment lines at the top of the text */
  readonly header: readonly string[];
  readonly funcs: readonly FuncDef[];
  /**
   * import env.memory as a shared memory (limits 0..SHARED_MAX_PAGES), as the worker threads
   * of createWasmModel({ threads }) need; absent: an unshared memory of at least 0 pages
   */
  readonly sharedMemory?: boolean;
}

/** a shared memory's import declares a maximum; any memory up to wasm32's 4 GiB matches it */
export const SHARED_MAX_PAGES = 65536;

/** the function signature as a key: params -> results (kernels return nothing) */
export interface FuncType {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

const sigKey = (t: FuncType) => `${t.params.join(' ')}->${t.results.join(' ')}`;

/** the module's layout, the same for the text and the binary: types, imports, functions, in index order */
export function layout(m: ModuleDef): { types: FuncType[]; typeName: (t: FuncType) => string; typeIndex: (t: FuncType) => number; imports: string[]; funcIndex: Map<string, number> } {
  const imports = [...new Set(m.funcs.flatMap((f) => f.imports))].sort();
  const types: FuncType[] = [];
  const keys = new Map<string, number>();
  const add = (t: FuncType) => {
    const key = sigKey(t);
    if (!keys.has(key)) {
      keys.set(key, types.length);
      types.push(t);
    }
  };
  if (imports.length) add({ params: ['f64'], results: ['f64'] });
  for (const f of m.funcs) add({ params: f.params.map((p) => p.t), results: [] });
  const funcIndex = new Map<string, number>();
  imports.forEach((n, i) => funcIndex.set(n, i));
  m.funcs.forEach((f, i) => {
    if (funcIndex.has(f.name)) throw new Error(`wasm: two functions named ${f.name}`);
    funcIndex.set(f.name, imports.length + i);
  });
  const typeIndex = (t: FuncType) => keys.get(sigKey(t))!;
  return { types, typeName: (t) => `$t${typeIndex(t)}`, typeIndex, imports, funcIndex };
}

/** locals in declaration order grouped by type (i32, f32, f64, v128): the encoder's runs match the text's order */
export function sortedLocals(f: FuncDef): Param[] {
  const order: ValType[] = ['i32', 'f32', 'f64', 'v128'];
  return order.flatMap((t) => f.locals.filter((l) => l.t === t));
}
