// The kernel IR: one description per kernel, rendered to TypeScript and to WGSL.
//
// A kernel is a loop nest over flat buffers with constant bounds. Target differences
// (type names, loop syntax, how parallel loops become invocations) live in the
// renderers, never here. Everything is plain data so a kernel can be dumped
// (`--dump ir`) and compared.

/** scalar types: f32 data, i32 indices (argmax routes, labels) */
export type ScalarType = 'f32' | 'i32';

export type BinOp =
  | '+'
  | '-'
  | '*'
  | '/' // f32 division
  | 'idiv' // integer division rounding toward -inf is never needed: operands are >= 0 here
  | 'mod' // integer remainder, operands >= 0
  | '<'
  | '<='
  | '>'
  | '>='
  | '=='
  | '!='
  | '&&'
  | '||'
  // i32 bit patterns as u32, for counter-based hashing (dropout masks): results wrap mod 2^32
  | 'xor' // bitwise exclusive or
  | 'shr' // logical (unsigned) right shift by a constant 0..31
  | 'mulw'; // multiplication mod 2^32 (two's complement wrap, as WGSL's i32 '*' and Math.imul)

export type CallFn = 'max' | 'min' | 'exp' | 'log' | 'abs' | 'sqrt' | 'floor';

export type Expr =
  | { readonly k: 'const'; readonly v: number; readonly t: ScalarType }
  | { readonly k: 'var'; readonly name: string }
  | { readonly k: 'bin'; readonly op: BinOp; readonly a: Expr; readonly b: Expr }
  | { readonly k: 'call'; readonly fn: CallFn; readonly args: readonly Expr[] }
  | { readonly k: 'load'; readonly buf: string; readonly index: Expr }
  | { readonly k: 'select'; readonly cond: Expr; readonly then: Expr; readonly else: Expr }
  /** i32 -> f32 (e.g. a count used as a divisor) */
  | { readonly k: 'tof32'; readonly a: Expr };

export type Stmt =
  /** a local; `mutable` locals are accumulators (TS `let`, WGSL `var`), others are `const` / `let` */
  | { readonly k: 'let'; readonly name: string; readonly t: ScalarType; readonly init: Expr; readonly mutable: boolean }
  | { readonly k: 'assign'; readonly name: string; readonly value: Expr; readonly op: '=' | '+=' }
  | { readonly k: 'store'; readonly buf: string; readonly index: Expr; readonly value: Expr; readonly op: '=' | '+=' }
  | {
      readonly k: 'for';
      readonly v: string;
      /** i32 bounds: from inclusive, to exclusive */
      readonly from: Expr;
      readonly to: Expr;
      readonly step: number;
      /**
       * iterations are independent (each writes its own outputs): the WGSL renderer maps the
       * outermost parallel loops to invocation ids; TS runs them as plain loops
       */
      readonly parallel: boolean;
      /** the unroll pass replaces the loop by one copy of the body per (constant) iteration */
      readonly unroll: boolean;
      readonly body: readonly Stmt[];
    }
  | { readonly k: 'if'; readonly cond: Expr; readonly then: readonly Stmt[]; readonly else: readonly Stmt[] }
  /** a comment that explains the next statements in the generated code */
  | { readonly k: 'comment'; readonly text: string }
  /**
   * a cooperative kernel's workgroup barrier (Kernel.workgroup): every invocation of the
   * workgroup reaches it before any goes on, and workgroup-memory writes before it are
   * visible after it. Only in uniform control flow: never under an `if`, only inside
   * serial loops with constant bounds (verify checks).
   */
  | { readonly k: 'barrier' };

/**
 * a cooperative kernel: invocations of one workgroup share workgroup memory and meet at
 * barriers (a tiled GEMM staging tiles of its operands). The body's parallel loops index
 * workgroups, not invocations; every statement inside runs on each of the `size`
 * invocations of the workgroup, which read their index as the i32 variable `local`.
 * `shared` arrays are loaded and stored like buffers, and live for one workgroup.
 */
export interface WorkgroupDecl {
  readonly size: number;
  readonly local: string;
  readonly shared: readonly { readonly name: string; readonly t: ScalarType; readonly length: number }[];
}

export interface BufferDecl {
  /** the kernel's parameter name (`x`, `w`, `dy`, `cols`, ...) */
  readonly name: string;
  readonly t: ScalarType;
  /** element count: static */
  readonly length: number;
  readonly access: 'read' | 'write' | 'read_write';
  /**
   * an i32 buffer whose values are all >= 0 (a table of offsets): an index computed from them
   * is non-negative, so the wasm renderer may carry its constant term in a memarg offset
   */
  readonly nonNeg?: boolean;
}

export interface Kernel {
  /** names carry the plan: `conv3x3_s2_16x32x32_to_32_fwd_direct` */
  readonly name: string;
  /** lines for the doc comment above the kernel (plan row, strategy, why) */
  readonly doc: readonly string[];
  /** parameters, in call order */
  readonly buffers: readonly BufferDecl[];
  /**
   * runtime scalars (learning rate, momentum): TS parameters after the buffers, a WGSL
   * uniform struct. Shapes are never scalars: they are literals in the body.
   */
  readonly scalars: readonly { readonly name: string; readonly t: ScalarType }[];
  readonly body: readonly Stmt[];
  /** set on cooperative kernels (see WorkgroupDecl); absent: one invocation per parallel iteration */
  readonly workgroup?: WorkgroupDecl;
  /** i32 scalars the host always passes as >= 0 (a split kernel's chunk bounds, src/wasm/split.ts): index proofs may rely on it */
  readonly nonNegScalars?: readonly string[];
}
