// The WebAssembly renderer: a lowered kernel (the same CPU kernels the TS target runs) becomes
// one function as a list of WASM instructions (src/wasm/instr.ts). That one list is both
// printed as readable WAT (src/wasm/wat-text.ts) and encoded to the binary format by our own
// encoder (src/wasm/encode.ts), so the committed .wat text is what runs (the tests assemble it
// with wabt and compare bytes).
//
// Calling convention: a kernel function takes one i32 per buffer, the byte offset where that
// buffer starts in the module's one memory (so kernels shared by repeated layers are one
// function, and the host can place buffers anywhere), then its runtime scalars (f32 / i32).
// Locals are the IR's variables by name (loop counters i32). Math is f32 throughout (as WGSL's):
// exp and log, which WASM lacks, are imported from the host's Math.exp / Math.log on f64 (the
// TS target's own functions, correctly rounded to f32 here; the activations that use them are
// a small share of the work, and a polynomial of our own would be a third implementation to
// validate).

import type { BinOp, Expr, Kernel, ScalarType, Stmt } from '../ir/types.ts';
import { loadsOf, varsOf } from '../ir/walk.ts';
import type { FuncDef, Instr, ValType } from '../wasm/instr.ts';

/** the host functions a kernel may import: f64 -> f64, from Math */
export const MATH_IMPORTS = ['exp', 'log'] as const;
export type MathImport = (typeof MATH_IMPORTS)[number];

const hasLoad = (e: Expr): boolean => loadsOf(e).size > 0;

class FnBuilder {
  readonly code: Instr[] = [];
  readonly locals = new Map<string, ValType>();
  readonly uses = new Set<MathImport>();
  private tmp = 0;
  private readonly types = new Map<string, ScalarType>();
  private readonly bufs: ReadonlyMap<string, ScalarType>;

  constructor(
    readonly k: Kernel,
    readonly schedule: WasmSchedule,
  ) {
    this.bufs = new Map(k.buffers.map((b) => [b.name, b.t]));
    for (const s of k.scalars) this.types.set(s.name, s.t);
    // a chunk's loop bounds (src/wasm/split.ts): the host passes them within the loop's range
    for (const n of k.nonNegScalars ?? []) this.lowerBounds.set(n, 0);
  }

  private fail(msg: string): never {
    throw new Error(`render wat: kernel ${this.k.name}: ${msg}`);
  }

  base(buf: string): string {
    return `${buf}_at`;
  }

  /** a local for an IR variable; a name reused with another type in a sibling scope gets a suffix */
  local(name: string, t: ScalarType): string {
    const have = this.locals.get(name);
    if (have === undefined || have === t) {
      this.locals.set(name, t);
      return name;
    }
    const alt = `${name}_${t}`;
    this.locals.set(alt, t);
    return alt;
  }

  private varName(name: string): string {
    const t = this.types.get(name) ?? this.fail(`'${name}' has no type`);
    return this.locals.get(name) === t || this.k.scalars.some((s) => s.name === name) ? name : `${name}_${t}`;
  }

  private temp(t: ValType): string {
    const n = `tmp${this.tmp++}`;
    this.locals.set(n, t);
    return n;
  }

  typeOf(e: Expr): ScalarType {
    switch (e.k) {
      case 'const':
        return e.t;
      case 'var':
        return this.types.get(e.name) ?? this.fail(`'${e.name}' has no type`);
      case 'load':
        return this.bufs.get(e.buf) ?? this.fail(`no buffer '${e.buf}'`);
      case 'tof32':
        return 'f32';
      case 'select':
        return this.typeOf(e.then) === 'f32' || this.typeOf(e.else) === 'f32' ? 'f32' : 'i32';
      case 'call':
        if (e.fn === 'max' || e.fn === 'min' || e.fn === 'abs') return e.args.some((a) => this.typeOf(a) === 'f32') ? 'f32' : 'i32';
        return 'f32';
      case 'bin':
        switch (e.op) {
          case '<':
          case '<=':
          case '>':
          case '>=':
          case '==':
          case '!=':
          case '&&':
          case '||':
          case 'xor':
          case 'shr':
          case 'mulw':
          case 'idiv':
          case 'mod':
            return 'i32';
          case '/':
            return 'f32';
          default:
            return this.typeOf(e.a) === 'f32' || this.typeOf(e.b) === 'f32' ? 'f32' : 'i32';
        }
    }
  }

  private push(...is: Instr[]) {
    this.code.push(...is);
  }

  /** an expression's value on the stack, as type `want` */
  expr(e: Expr, want: ScalarType): void {
    if (e.k === 'const') {
      if (want === 'f32') this.push({ op: 'f32.const', value: e.v });
      else {
        if (!Number.isInteger(e.v)) this.fail(`i32 constant ${e.v}`);
        this.push({ op: 'i32.const', value: e.v | 0 });
      }
      return;
    }
    const t = this.typeOf(e);
    this.exprNative(e, t);
    if (t !== want) {
      if (want === 'f32') this.push({ op: 'f32.convert_i32_s' });
      else this.fail(`an f32 value where an i32 is needed`);
    }
  }

  /** the constant [from, to) of the loop counters being rendered */
  private readonly counters = new Map<string, [number, number]>();

  /** every load in `e` reads buf[counter], the counter's constant range inside the buffer */
  private inBounds(e: Expr): boolean {
    const ok = (x: Expr): boolean => {
      switch (x.k) {
        case 'load': {
          const r = x.index.k === 'var' ? this.counters.get(x.index.name) : undefined;
          const len = this.k.buffers.find((b) => b.name === x.buf)?.length ?? 0;
          return r !== undefined && r[0] >= 0 && r[1] <= len;
        }
        case 'bin':
          return ok(x.a) && ok(x.b);
        case 'call':
          return x.args.every(ok);
        case 'select':
          return ok(x.cond) && ok(x.then) && ok(x.else);
        case 'tof32':
          return ok(x.a);
        default:
          return true;
      }
    };
    return ok(e);
  }

  /**
   * a lower bound of each i32 local that has one: loop counters (their start's bound),
   * immutable lets (their value's bound), the chunk bounds (0). An index whose constant term is
   * negative can still be >= 0 (a kernel row above the output row, read from an output row
   * below the padding), and proving it is what lets a load's constant go into its offset
   */
  private readonly lowerBounds = new Map<string, number>();

  /** a lower bound of an i32 expression (null: none known); nested terms' bounds add up */
  private lowerBound(e: Expr): number | null {
    switch (e.k) {
      case 'const':
        return e.v;
      case 'var':
        return this.lowerBounds.get(e.name) ?? null;
      case 'load':
        // an index table whose entries are offsets (BufferDecl.nonNeg: the packed grad-weight's pixel table)
        return this.k.buffers.some((b) => b.name === e.buf && b.nonNeg === true) ? 0 : null;
      case 'bin': {
        const a = this.lowerBound(e.a);
        const b = this.lowerBound(e.b);
        if (a === null) return null;
        if (e.op === '-' && e.b.k === 'const') return a - e.b.v;
        if (b === null) return null;
        if (e.op === '+') return a + b;
        if (a < 0 || b < 0) return null;
        if (e.op === '*') return a * b;
        return e.op === 'idiv' || e.op === 'mod' ? 0 : null;
      }
      default:
        return null;
    }
  }

  private nonNeg(e: Expr): boolean {
    return (this.lowerBound(e) ?? -1) >= 0;
  }

  /**
   * the byte address of buf[index]: base + 4 * (index - c), with 4c in the memarg offset. Only
   * where index - c is known to be >= 0: WASM adds the offset to the address without wrapping,
   * so `base + 4 * (-2)` with offset 8 traps where `base + 4 * 0` would not (a padding guard's
   * index goes negative before its constant brings it back)
   */
  private address(buf: string, index: Expr): number {
    let rest: Expr | null = index;
    let c = 0;
    if (index.k === 'const') {
      rest = null;
      c = index.v;
    } else if (index.k === 'bin' && (index.op === '+' || index.op === '-') && index.b.k === 'const') {
      c = index.op === '+' ? index.b.v : -index.b.v;
      rest = index.a;
    }
    if (c < 0 || (rest !== null && !this.nonNeg(rest))) {
      rest = index;
      c = 0;
    }
    this.push({ op: 'local.get', name: this.base(buf) });
    if (rest) {
      this.expr(rest, 'i32');
      this.push({ op: 'i32.const', value: 2 }, { op: 'i32.shl' }, { op: 'i32.add' });
    }
    return 4 * c;
  }

  private exprNative(e: Expr, t: ScalarType): void {
    switch (e.k) {
      case 'const':
        return this.expr(e, t);
      case 'var':
        return this.push({ op: 'local.get', name: this.varName(e.name) });
      case 'load': {
        const offset = this.address(e.buf, e.index);
        return this.push({ op: t === 'f32' ? 'f32.load' : 'i32.load', offset });
      }
      case 'tof32':
        return this.expr(e.a, 'f32');
      case 'select': {
        // a guarded load (padding) must not run when its guard is false: `if`, not `select`
        // (unless every load in it reads at a loop counter that stays inside its buffer)
        if ((hasLoad(e.then) || hasLoad(e.else)) && !(this.inBounds(e.then) && this.inBounds(e.else))) {
          this.expr(e.cond, 'i32');
          this.push({ op: 'if', result: t });
          this.expr(e.then, t);
          this.push({ op: 'else' });
          this.expr(e.else, t);
          this.push({ op: 'end' });
        } else if (t === 'f32') {
          // an f32 select as the i32 select of its bits: x64 V8 compiles an i32 select to a
          // conditional move and an f32 one to a branch, which data-dependent conditions
          // (relu, max pools on real data) mispredict; the same bits either way
          this.expr(e.then, t);
          this.push({ op: 'i32.reinterpret_f32' });
          this.expr(e.else, t);
          this.push({ op: 'i32.reinterpret_f32' });
          this.expr(e.cond, 'i32');
          this.push({ op: 'select' }, { op: 'f32.reinterpret_i32' });
        } else {
          this.expr(e.then, t);
          this.expr(e.else, t);
          this.expr(e.cond, 'i32');
          this.push({ op: 'select' });
        }
        return;
      }
      case 'call': {
        const [a, b] = e.args;
        switch (e.fn) {
          case 'exp':
          case 'log':
            this.uses.add(e.fn);
            this.expr(a!, 'f32');
            this.push({ op: 'f64.promote_f32' }, { op: 'call', name: e.fn }, { op: 'f32.demote_f64' });
            return;
          case 'sqrt':
          case 'floor':
            this.expr(a!, 'f32');
            return this.push({ op: `f32.${e.fn}` });
          case 'abs':
            if (t === 'i32') this.fail('abs of an i32');
            this.expr(a!, 'f32');
            return this.push({ op: 'f32.abs' });
          case 'max':
          case 'min':
            if (t === 'f32') {
              this.expr(a!, 'f32');
              this.expr(b!, 'f32');
              return this.push({ op: `f32.${e.fn}` });
            } else {
              const x = this.temp('i32');
              const y = this.temp('i32');
              this.expr(a!, 'i32');
              this.push({ op: 'local.tee', name: x });
              this.expr(b!, 'i32');
              this.push({ op: 'local.tee', name: y }, { op: 'local.get', name: x }, { op: 'local.get', name: y }, { op: e.fn === 'max' ? 'i32.gt_s' : 'i32.lt_s' }, { op: 'select' });
              return;
            }
        }
        return;
      }
      case 'bin':
        return this.bin(e.op, e.a, e.b, t);
    }
  }

  private bin(op: BinOp, a: Expr, b: Expr, t: ScalarType): void {
    const cmp: Partial<Record<BinOp, [string, string]>> = {
      '<': ['i32.lt_s', 'f32.lt'],
      '<=': ['i32.le_s', 'f32.le'],
      '>': ['i32.gt_s', 'f32.gt'],
      '>=': ['i32.ge_s', 'f32.ge'],
      '==': ['i32.eq', 'f32.eq'],
      '!=': ['i32.ne', 'f32.ne'],
    };
    const c = cmp[op];
    if (c) {
      const ot = this.typeOf(a) === 'f32' || this.typeOf(b) === 'f32' ? 'f32' : 'i32';
      this.expr(a, ot);
      this.expr(b, ot);
      return this.push({ op: ot === 'f32' ? c[1] : c[0] });
    }
    if (op === '&&' || op === '||') {
      // operands are 0/1; a right side that loads is evaluated only when it decides (as JS does)
      this.expr(a, 'i32');
      if (hasLoad(b)) {
        this.push({ op: 'if', result: 'i32' });
        if (op === '&&') this.expr(b, 'i32');
        else this.push({ op: 'i32.const', value: 1 });
        this.push({ op: 'else' });
        if (op === '&&') this.push({ op: 'i32.const', value: 0 });
        else this.expr(b, 'i32');
        this.push({ op: 'end' });
      } else {
        this.expr(b, 'i32');
        this.push({ op: op === '&&' ? 'i32.and' : 'i32.or' });
      }
      return;
    }
    const i32ops: Partial<Record<BinOp, string>> = { '+': 'i32.add', '-': 'i32.sub', '*': 'i32.mul', idiv: 'i32.div_s', mod: 'i32.rem_s', xor: 'i32.xor', shr: 'i32.shr_u', mulw: 'i32.mul' };
    const f32ops: Partial<Record<BinOp, string>> = { '+': 'f32.add', '-': 'f32.sub', '*': 'f32.mul', '/': 'f32.div' };
    const name = t === 'f32' ? f32ops[op] : i32ops[op];
    if (!name) this.fail(`operator ${op} on ${t}`);
    this.expr(a, t);
    this.expr(b, t);
    this.push({ op: name });
  }

  /** mutable f32 locals declared so far (accumulator candidates) */
  private readonly mutableF32 = new Set<string>();
  /** statements a vector group replaces: skipped, or (the last) the group's update */
  private readonly vecSkip = new Set<Stmt>();
  private readonly vecAt = new Map<Stmt, VecGroup>();
  /** lines for the doc comment: what was vectorized */
  readonly vectorized: string[] = [];

  /**
   * f32x4 groups still packed after their loop because the next statement is a loop with the
   * same groups (the direct conv's taps: one channel loop per tap, back to back): their scalars
   * are stale until unpacked, so nothing else runs before the next loop takes them over
   */
  private live: VecGroup[] = [];
  /** the statement after the one being rendered, comments skipped (null: none) */
  private nextSibling: Stmt | null = null;

  stmts(ss: readonly Stmt[]): void {
    ss.forEach((s, i) => {
      const g = this.vecAt.get(s);
      if (g) this.vecUpdate(g);
      else if (!this.vecSkip.has(s)) {
        this.nextSibling = ss.slice(i + 1).find((n) => n.k !== 'comment') ?? null;
        if (s.k !== 'comment' && s.k !== 'for') this.flushLive();
        this.stmt(s);
      }
    });
    this.flushLive();
  }

  private flushLive(): void {
    const live = this.live;
    this.live = [];
    this.vecUnpack(live);
  }

  /** the groups' accumulator lists, to compare two loops' groups */
  private static groupKey(groups: readonly { accs: readonly string[] }[]): string {
    return vectors(groups).map((g) => g.accs.join(',')).join(';');
  }

  /**
   * the current vectorized loop's operands that several groups share (a GEMM block's splat of
   * A's value per row and vector of B per column group; a packed-weight conv's splat of one
   * input value and vector of 4 channels' weights): key -> the v128 local computed once per
   * step, at its first use (set: the local holds it this step). Straight-line bodies without
   * stores only, so a later use reads what the first computed.
   */
  private shared = new Map<string, { local: string; set: boolean }>();

  private vecOperand(k: string, compute: () => void): void {
    const s = this.shared.get(k);
    if (s?.set) return this.push({ op: 'local.get', name: s.local });
    compute();
    if (s) {
      s.set = true;
      this.push({ op: 'local.tee', name: s.local });
    }
  }

  private vecUpdate(g: VecGroup): void {
    this.vecOperand(factorKey(g), () => {
      if (g.factorLoad) {
        const offset = this.address(g.factorLoad.buf, g.factorLoad.index);
        return this.push({ op: 'v128.load32_splat', offset });
      }
      this.expr(g.factor, 'f32');
      this.push({ op: 'f32x4.splat' });
    });
    this.vecOperand(loadKey(g), () => {
      const offset = this.address(g.buf, g.index);
      this.push({ op: 'v128.load', offset });
    });
    // product first, then the accumulator: mul + add, or one relaxed_madd of the same length (wasm/relax.ts)
    this.push(...vecMulAdd(g.local, this.schedule.fma === true), { op: 'local.set', name: g.local });
  }

  /** the shared operands of a loop's groups (used by two groups or more), each with a v128 local */
  private shareOperands(loop: Extract<Stmt, { k: 'for' }>, groups: readonly Omit<VecGroup, 'local'>[]): void {
    this.shared = new Map();
    if (hasStore(loop.body)) return;
    // a variable assigned in the body could change between two uses
    const assigned = new Set(loop.body.flatMap((st) => (st.k === 'assign' ? [st.name] : [])));
    const stable = (e: Expr) => ![...varsOf(e)].some((v) => assigned.has(v));
    const count = new Map<string, number>();
    for (const g of groups) {
      if (stable(g.factor)) count.set(factorKey(g), (count.get(factorKey(g)) ?? 0) + 1);
      if (stable(g.index)) count.set(loadKey(g), (count.get(loadKey(g)) ?? 0) + 1);
    }
    const n = { splat: 0, vload: 0 };
    for (const [k, c] of count) {
      if (c < 2) continue;
      const kind = k.startsWith('f') ? 'splat' : 'vload';
      const local = `${kind}_${n[kind]++}`;
      this.locals.set(local, 'v128');
      this.shared.set(k, { local, set: false });
    }
  }

  /** the loop's f32x4 groups, packed from their scalars; call unpack after the loop */
  private vecPack(loop: Extract<Stmt, { k: 'for' }>): VecGroup[] {
    if (!this.schedule.simd) return [];
    const groups = vectorGroups(loop, this.mutableF32).map((g) => {
      const local = `v_${g.accs[0]!}`;
      this.locals.set(local, 'v128');
      return { ...g, local };
    });
    // the previous loop left exactly these groups packed: they carry on
    const carried = this.live.length > 0 && FnBuilder.groupKey(this.live) === FnBuilder.groupKey(groups);
    if (carried) this.live = [];
    else this.flushLive();
    for (const g of vectors(groups)) {
      if (!carried) {
        this.push({ op: 'comment', text: `f32x4: ${g.accs.join(', ')} as one vector in loop ${loop.v}` });
        this.push({ op: 'local.get', name: this.varName(g.accs[0]!) }, { op: 'f32x4.splat' });
        for (let j = 1; j < 4; j++) this.push({ op: 'local.get', name: this.varName(g.accs[j]!) }, { op: 'f32x4.replace_lane', lane: j });
        this.push({ op: 'local.set', name: g.local });
      }
    }
    for (const g of groups) {
      for (const st of [...g.stmts, ...g.deadLets]) this.vecSkip.add(st);
      this.vecSkip.delete(g.last);
      this.vecAt.set(g.last, g);
    }
    this.shareOperands(loop, groups);
    if (groups.length) this.vectorized.push(`simd: f32x4 accumulators in loop ${loop.v}: ${vectors(groups).map((g) => `${g.accs[0]}..${g.accs[3]}`).join(', ')}`);
    return groups;
  }

  private vecUnpack(groups: readonly VecGroup[]): void {
    for (const g of vectors(groups)) {
      for (let j = 0; j < 4; j++) this.push({ op: 'local.get', name: g.local }, { op: 'f32x4.extract_lane', lane: j }, { op: 'local.set', name: this.varName(g.accs[j]!) });
    }
  }

  private stmt(s: Stmt): void {
    switch (s.k) {
      case 'comment':
        return this.push({ op: 'comment', text: s.text });
      case 'let': {
        this.types.set(s.name, s.t);
        const name = this.local(s.name, s.t);
        if (s.mutable && s.t === 'f32' && name === s.name) this.mutableF32.add(s.name);
        else this.mutableF32.delete(s.name);
        const lb = !s.mutable && s.t === 'i32' ? this.lowerBound(s.init) : null;
        if (lb !== null) this.lowerBounds.set(s.name, lb);
        else this.lowerBounds.delete(s.name);
        this.expr(s.init, s.t);
        return this.push({ op: 'local.set', name });
      }
      case 'assign': {
        const t = this.types.get(s.name) ?? this.fail(`'${s.name}' is not declared`);
        const name = this.varName(s.name);
        if (s.op === '+=') this.push({ op: 'local.get', name });
        this.expr(s.value, t);
        if (s.op === '+=') this.push({ op: t === 'f32' ? 'f32.add' : 'i32.add' });
        return this.push({ op: 'local.set', name });
      }
      case 'store': {
        const t = this.bufs.get(s.buf) ?? this.fail(`no buffer '${s.buf}'`);
        const offset = this.address(s.buf, s.index);
        if (s.op === '+=') {
          const at = this.temp('i32');
          this.push({ op: 'local.tee', name: at }, { op: 'local.get', name: at }, { op: t === 'f32' ? 'f32.load' : 'i32.load', offset });
          this.expr(s.value, t);
          this.push({ op: t === 'f32' ? 'f32.add' : 'i32.add' });
        } else this.expr(s.value, t);
        return this.push({ op: t === 'f32' ? 'f32.store' : 'i32.store', offset });
      }
      case 'if':
        this.expr(s.cond, 'i32');
        this.push({ op: 'if' });
        this.stmts(s.then);
        if (s.else.length) {
          this.push({ op: 'else' });
          this.stmts(s.else);
        }
        return this.push({ op: 'end' });
      case 'for': {
        const next = this.nextSibling;
        this.types.set(s.v, 'i32');
        const groups = this.vecPack(s);
        const v = this.local(s.v, 'i32');
        const lb = s.step > 0 ? this.lowerBound(s.from) : null;
        if (lb !== null) this.lowerBounds.set(s.v, lb);
        else this.lowerBounds.delete(s.v);
        this.expr(s.from, 'i32');
        this.push({ op: 'local.set', name: v });
        if (s.from.k === 'const' && s.to.k === 'const' && s.step > 0) this.counters.set(s.v, [s.from.v, s.to.v]);
        else this.counters.delete(s.v);
        // a loop that may run zero times is guarded; constant bounds that run at least once are not
        const guarded = !(s.from.k === 'const' && s.to.k === 'const' && s.from.v < s.to.v);
        if (guarded) {
          this.push({ op: 'block', label: `${v}_done` });
          this.push({ op: 'local.get', name: v });
          this.expr(s.to, 'i32');
          this.push({ op: 'i32.ge_s' }, { op: 'br_if', label: `${v}_done` });
        }
        this.push({ op: 'loop', label: v });
        this.stmts(s.body);
        this.push({ op: 'local.get', name: v }, { op: 'i32.const', value: s.step }, { op: 'i32.add' }, { op: 'local.tee', name: v });
        this.expr(s.to, 'i32');
        this.push({ op: 'i32.lt_s' }, { op: 'br_if', label: v }, { op: 'end' });
        if (guarded) this.push({ op: 'end' });
        this.counters.delete(s.v);
        // the next loop keeps the same groups packed: unpack after it instead
        if (groups.length && next?.k === 'for' && FnBuilder.groupKey(vectorGroups(next, this.mutableF32)) === FnBuilder.groupKey(groups)) this.live = groups;
        else this.vecUnpack(groups);
        return;
      }
      case 'barrier':
        this.fail('a barrier: cooperative (GPU) kernels do not run on the wasm target');
    }
  }
}

/**
 * the wasm target's schedule. simd: a loop whose body is straight-line code accumulating four
 * scalars from four contiguous loads times one common factor (the register blocks of the GEMM
 * and of the direct conv: acc_j += w * x[base + j], j = 0..3) keeps those four accumulators in
 * one f32x4 for the loop: packed before it, one v128.load, splat, mul and add per step, unpacked
 * after it. Each lane does the scalar code's f32 operations in the same order, so the results
 * are bit for bit the scalar module's. Blocks narrower than 4 (remainders) stay scalar.
 */
export interface WasmSchedule {
  readonly simd: boolean;
  /**
   * the vector updates as one f32x4.relaxed_madd (relaxed SIMD: fused or not, the engine's
   * choice) instead of f32x4.mul + f32x4.add; see vecMulAdd. Off (or absent): mul + add
   */
  readonly fma?: boolean;
}

export const DEFAULT_WASM_SCHEDULE: WasmSchedule = { simd: true };

/**
 * `acc = a * b + acc` with a and b on the stack: f32x4.mul, local.get acc, f32x4.add; with fma,
 * local.get acc, f32x4.relaxed_madd and three nops, the same number of bytes (3 + 2 + 3 against
 * 2 + 3 + 3, the local's index alike), so a host derives the relaxed binary from the mul + add one
 * by rewriting those bytes in place (wasm/runtime.ts, relaxBinary) instead of carrying a second
 * binary. The product comes first so both forms take a, b, acc in that order (relaxed_madd
 * computes a * b + c); the add is commutative, so mul + add keeps the scalar code's bits.
 */
export function vecMulAdd(acc: string, fma: boolean): Instr[] {
  if (fma) return [{ op: 'local.get', name: acc }, { op: 'f32x4.relaxed_madd' }, { op: 'nop' }, { op: 'nop' }, { op: 'nop' }];
  return [{ op: 'f32x4.mul', fma: true }, { op: 'local.get', name: acc }, { op: 'f32x4.add' }];
}

/** the fewest steps of a constant-bound loop worth packing accumulators for */
const MIN_SIMD_TRIPS = 4;

/** four accumulators updated as one f32x4 in a loop */
interface VecGroup {
  /** the accumulators, lane order */
  readonly accs: readonly string[];
  /** the common factor */
  readonly factor: Expr;
  /** the contiguous loads: buffer and the index of lane 0 */
  readonly buf: string;
  readonly index: Expr;
  /** the body statements it replaces; the vector update goes where the last one was */
  readonly stmts: ReadonlySet<Stmt>;
  readonly last: Stmt;
  /** the load lets only this group reads (not emitted) */
  readonly deadLets: ReadonlySet<Stmt>;
  /**
   * the factor's load, where the factor is a load let that only vector updates read: the splat
   * is then one v128.load32_splat at its first use instead of an f32.load, a local and an
   * f32x4.splat (null: the factor is computed, then splatted)
   */
  readonly factorLoad: { readonly buf: string; readonly index: Expr } | null;
  readonly local: string;
}

const key = (e: Expr): string => JSON.stringify(e);

/** one group per vector: the first update of each accumulator tuple (a tuple may have several) */
function vectors<G extends { accs: readonly string[] }>(groups: readonly G[]): G[] {
  const seen = new Set<string>();
  return groups.filter((g) => {
    const k = g.accs.join(',');
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
const factorKey = (g: Omit<VecGroup, 'local'>): string => `f${key(g.factor)}`;
const loadKey = (g: Omit<VecGroup, 'local'>): string => `l${g.buf}:${key(g.index)}`;

function hasStore(ss: readonly Stmt[]): boolean {
  return ss.some((st) => st.k === 'store' || (st.k === 'for' && hasStore(st.body)) || (st.k === 'if' && hasStore([...st.then, ...st.else])));
}

/** split an index into (rest, constant): `rest + c` */
function splitIndex(e: Expr): { rest: string; c: number; restExpr: Expr | null } {
  if (e.k === 'const') return { rest: '', c: e.v, restExpr: null };
  if (e.k === 'bin' && e.op === '+' && e.b.k === 'const') return { rest: key(e.a), c: e.b.v, restExpr: e.a };
  if (e.k === 'bin' && e.op === '-' && e.b.k === 'const') return { rest: key(e.a), c: -e.b.v, restExpr: e.a };
  return { rest: key(e), c: 0, restExpr: e };
}

function readsOf(stmts: readonly Stmt[], skip: ReadonlySet<Stmt>): Map<string, number> {
  const n = new Map<string, number>();
  const visit = (ss: readonly Stmt[]) => {
    for (const st of ss) {
      if (skip.has(st)) continue;
      for (const e of exprsOfStmt(st)) for (const v of varsOf(e)) n.set(v, (n.get(v) ?? 0) + 1);
      if (st.k === 'assign') n.set(st.name, (n.get(st.name) ?? 0) + 1);
      if (st.k === 'for') visit(st.body);
      if (st.k === 'if') visit([...st.then, ...st.else]);
    }
  };
  visit(stmts);
  return n;
}

function exprsOfStmt(st: Stmt): Expr[] {
  switch (st.k) {
    case 'let':
      return [st.init];
    case 'assign':
      return [st.value];
    case 'store':
      return [st.index, st.value];
    case 'for':
      return [st.from, st.to];
    case 'if':
      return [st.cond];
    default:
      return [];
  }
}

/** the f32x4 groups of a loop (see WasmSchedule) */
function vectorGroups(loop: Extract<Stmt, { k: 'for' }>, mutableF32: ReadonlySet<string>): Omit<VecGroup, 'local'>[] {
  const body = loop.body;
  if (body.some((st) => st.k === 'for' || st.k === 'if' || st.k === 'barrier')) return [];
  // packing and unpacking cost about two steps: a loop of fewer than 4 steps stays scalar
  // (a loop of 2-3 steps pays where each step updates every vector twice or more: a packed
  // gather's border row, its taps fused over the 2-3 kernel rows inside the input)
  const trips = loop.from.k === 'const' && loop.to.k === 'const' ? (loop.to.v - loop.from.v) / loop.step : Infinity;
  if (trips < 2) return [];
  const loadLets = new Map<string, { st: Stmt; buf: string; index: Expr }>();
  for (const st of body) if (st.k === 'let' && !st.mutable && st.t === 'f32' && st.init.k === 'load') loadLets.set(st.name, { st, buf: st.init.buf, index: st.init.index });
  // acc += factor * L, L a load let
  const accums: { st: Stmt; acc: string; factor: Expr; l: string }[] = [];
  for (const st of body) {
    if (st.k !== 'assign' || st.op !== '+=' || !mutableF32.has(st.name) || st.value.k !== 'bin' || st.value.op !== '*') continue;
    const { a, b } = st.value;
    const pick = b.k === 'var' && loadLets.has(b.name) ? { l: b.name, f: a } : a.k === 'var' && loadLets.has(a.name) ? { l: a.name, f: b } : null;
    if (!pick || varsOf(pick.f).has(st.name) || loadsOf(pick.f).size) continue;
    accums.push({ st, acc: st.name, factor: pick.f, l: pick.l });
  }
  // quartets: 4 statements, one per lane, with one factor and 4 contiguous loads
  const usedSt = new Set<Stmt>();
  const quartets: (typeof accums)[] = [];
  for (const first of accums) {
    if (usedSt.has(first.st)) continue;
    const l0 = loadLets.get(first.l)!;
    const s0 = splitIndex(l0.index);
    const lanes = [first];
    for (let j = 1; j < 4; j++) {
      const next = accums.find((q) => {
        if (usedSt.has(q.st) || lanes.some((p) => p.acc === q.acc) || key(q.factor) !== key(first.factor)) return false;
        const lj = loadLets.get(q.l)!;
        const sj = splitIndex(lj.index);
        return lj.buf === l0.buf && sj.rest === s0.rest && sj.c === s0.c + j;
      });
      if (!next) break;
      lanes.push(next);
    }
    if (lanes.length !== 4) continue;
    for (const q of lanes) usedSt.add(q.st);
    quartets.push(lanes);
  }
  // an accumulator may be updated by several quartets (a loop body holding several taps), all
  // with the same 4 accumulators in the same lanes: one vector, one update per quartet
  const tupleKey = (qs: typeof accums) => qs.map((q) => q.acc).join(',');
  const tupleOf = new Map<string, string>();
  const bad = new Set<string>();
  for (const qs of quartets) {
    for (const q of qs) {
      const have = tupleOf.get(q.acc);
      if (have === undefined) tupleOf.set(q.acc, tupleKey(qs));
      else if (have !== tupleKey(qs)) bad.add(q.acc);
    }
  }
  const byTuple = new Map<string, (typeof accums)[]>();
  for (const qs of quartets) if (!qs.some((q) => bad.has(q.acc))) byTuple.set(tupleKey(qs), [...(byTuple.get(tupleKey(qs)) ?? []), qs]);
  const at = (st: Stmt) => body.indexOf(st);
  const groups: Omit<VecGroup, 'local'>[] = [];
  for (const qss of byTuple.values()) {
    const stmts = new Set(qss.flatMap((qs) => qs.map((q) => q.st)));
    // the accumulators: read and written only by these statements in the loop
    const reads = readsOf(body, stmts);
    if (qss[0]!.some((q) => reads.has(q.acc))) continue;
    // each quartet's statements all after the previous quartet's: every lane adds in the scalar order
    const span = qss.map((qs) => ({ qs, lo: Math.min(...qs.map((q) => at(q.st))), hi: Math.max(...qs.map((q) => at(q.st))) })).sort((a, b) => a.hi - b.hi);
    if (span.some((sp, i) => i > 0 && sp.lo < span[i - 1]!.hi)) continue;
    for (const { qs, hi } of span) {
      const l0 = loadLets.get(qs[0]!.l)!;
      groups.push({ accs: qs.map((q) => q.acc), factor: qs[0]!.factor, buf: l0.buf, index: l0.index, stmts: new Set(qs.map((q) => q.st)), last: body[hi]!, deadLets: new Set(), factorLoad: null });
    }
  }
  if (trips < MIN_SIMD_TRIPS && groups.length < 2 * vectors(groups).length) return [];
  // a load let that only vectorized statements read is not emitted
  const all = new Set(groups.flatMap((g) => [...g.stmts]));
  const reads = readsOf(body, all);
  // a factor that is a load let read by vector updates only is loaded where it is splatted
  // (moving a load is safe without stores in the body or assignments to its index's variables)
  const assigned = new Set(body.flatMap((st) => (st.k === 'assign' ? [st.name] : [])));
  const splatLoad = (g: Omit<VecGroup, 'local'>) => {
    if (g.factor.k !== 'var' || reads.has(g.factor.name) || hasStore(body)) return null;
    const l = loadLets.get(g.factor.name);
    return l && ![...varsOf(l.index)].some((v) => assigned.has(v)) ? l : null;
  };
  const fromMemory = new Map(groups.map((g) => [g, splatLoad(g)]));
  // the other factors stay (the vector update reads them)
  for (const g of groups) if (!fromMemory.get(g)) for (const v of varsOf(g.factor)) reads.set(v, 1);
  const laneLoad = new Map(accums.map((q) => [q.st, q.l]));
  return groups.map((g) => {
    const dead = new Set<Stmt>();
    for (const st of g.stmts) {
      const l = laneLoad.get(st)!;
      if (!reads.has(l)) dead.add(loadLets.get(l)!.st);
    }
    const f = fromMemory.get(g);
    if (f) dead.add(f.st);
    return { ...g, deadLets: dead, factorLoad: f ? { buf: f.buf, index: f.index } : null };
  });
}

/** one kernel (lowered: run lowerKernel first) as a WASM function definition */
export function renderKernelWasm(k: Kernel, schedule: WasmSchedule = DEFAULT_WASM_SCHEDULE): FuncDef {
  if (k.workgroup) throw new Error(`render wat: kernel ${k.name} is cooperative (a GPU kernel)`);
  const b = new FnBuilder(k, schedule);
  for (const buf of k.buffers) if (b.locals.has(buf.name)) throw new Error('unreachable');
  b.stmts(k.body);
  const params: { name: string; t: ValType }[] = [...k.buffers.map((buf) => ({ name: b.base(buf.name), t: 'i32' as const })), ...k.scalars.map((s) => ({ name: s.name, t: s.t }))];
  const clash = params.find((p) => b.locals.has(p.name));
  if (clash) throw new Error(`render wat: kernel ${k.name}: local '${clash.name}' clashes with a parameter`);
  const vec = new Map<string, number>();
  for (const line of b.vectorized) vec.set(line, (vec.get(line) ?? 0) + 1);
  const vecDoc = [...vec].map(([line, n]) => (n > 1 ? `${line} (${n} loops)` : line));
  return { name: k.name, doc: [...k.doc, ...vecDoc], params, locals: [...b.locals].map(([name, t]) => ({ name, t })), body: b.code, imports: [...b.uses].sort() };
}
