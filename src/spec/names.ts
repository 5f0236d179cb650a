// Names are not code. Layer and model names become identifiers in generated TypeScript
// and WGSL, object keys, and file and folder names, so only a narrow alphabet gets
// through: an ASCII identifier that no target reserves and no file system treats
// specially. Anything else is rejected here, before it reaches a template.

/** letters, digits and _, not starting with a digit, at most 64 characters */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const NAME_MAX_LENGTH = 64;

const JS_RESERVED = [
  'arguments', 'await', 'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default',
  'delete', 'do', 'else', 'enum', 'eval', 'export', 'extends', 'false', 'finally', 'for', 'function',
  'if', 'implements', 'import', 'in', 'instanceof', 'interface', 'let', 'new', 'null', 'package',
  'private', 'protected', 'public', 'return', 'static', 'super', 'switch', 'this', 'throw', 'true',
  'try', 'typeof', 'var', 'void', 'while', 'with', 'yield', 'undefined', 'NaN', 'Infinity',
];

// WGSL keywords and reserved words (WGSL spec, "Keyword and reserved word summary"), and the
// predeclared types we emit, so that a layer name can never shadow one
const WGSL_RESERVED = [
  'alias', 'break', 'case', 'const', 'const_assert', 'continue', 'continuing', 'default', 'diagnostic',
  'discard', 'else', 'enable', 'false', 'fn', 'for', 'if', 'let', 'loop', 'override', 'requires',
  'return', 'struct', 'switch', 'true', 'var', 'while',
  'NULL', 'Self', 'abstract', 'active', 'alignas', 'alignof', 'as', 'asm', 'asm_fragment', 'async',
  'attribute', 'auto', 'await', 'become', 'binding_array', 'cast', 'catch', 'class', 'co_await',
  'co_return', 'co_yield', 'coherent', 'column_major', 'common', 'compile', 'compile_fragment',
  'concept', 'const_cast', 'consteval', 'constexpr', 'constinit', 'crate', 'debugger', 'decltype',
  'delete', 'demote', 'demote_to_helper', 'do', 'dynamic_cast', 'enum', 'explicit', 'export',
  'extends', 'extern', 'external', 'fallthrough', 'filter', 'final', 'finally', 'friend', 'from',
  'fxgroup', 'get', 'goto', 'groupshared', 'highp', 'impl', 'implements', 'import', 'inline',
  'instanceof', 'interface', 'layout', 'lowp', 'macro', 'macro_rules', 'match', 'mediump', 'meta',
  'mod', 'module', 'move', 'mut', 'mutable', 'namespace', 'new', 'nil', 'noexcept', 'noinline',
  'nointerpolation', 'noperspective', 'null', 'nullptr', 'of', 'operator', 'package', 'packoffset',
  'partition', 'pass', 'patch', 'pixelfragment', 'precise', 'precision', 'premerge', 'priv',
  'protected', 'pub', 'public', 'readonly', 'ref', 'regardless', 'register', 'reinterpret_cast',
  'require', 'resource', 'restrict', 'self', 'set', 'shared', 'sizeof', 'smooth', 'snorm', 'static',
  'static_assert', 'static_cast', 'std', 'subroutine', 'super', 'target', 'template', 'this',
  'thread_local', 'throw', 'trait', 'try', 'type', 'typedef', 'typeid', 'typename', 'typeof', 'union',
  'unless', 'unorm', 'unsafe', 'unsized', 'use', 'using', 'varying', 'virtual', 'volatile', 'wgsl',
  'where', 'with', 'writeonly', 'yield',
  'bool', 'f16', 'f32', 'i32', 'u32', 'array', 'atomic', 'ptr', 'vec2', 'vec3', 'vec4',
  'mat2x2', 'mat2x3', 'mat2x4', 'mat3x2', 'mat3x3', 'mat3x4', 'mat4x2', 'mat4x3', 'mat4x4',
];

// names that reach Object.prototype when used as a key of a plain object
const OBJECT_INTERNALS = [
  '__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable',
  'toLocaleString', 'toString', 'valueOf', '__defineGetter__', '__defineSetter__', '__lookupGetter__',
  '__lookupSetter__',
];

// file names Windows refuses whatever the case or extension
const WINDOWS_DEVICES = ['con', 'prn', 'aux', 'nul', ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((i) => [`com${i}`, `lpt${i}`])];

/** exact-match reserved names with the reason each is refused */
export const RESERVED_NAMES: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>();
  for (const w of OBJECT_INTERNALS) m.set(w, 'a property every JavaScript object has (it would shadow Object.prototype)');
  for (const w of JS_RESERVED) if (!m.has(w)) m.set(w, 'a JavaScript reserved word');
  for (const w of WGSL_RESERVED) if (!m.has(w)) m.set(w, 'a WGSL keyword, reserved word or type name');
  m.set('_', 'WGSL\'s placeholder (a lone underscore is not an identifier there)');
  return m;
})();

/**
 * what a layer's `inputs` calls the model's input: no layer may take this name (it would be
 * ambiguous there)
 */
export const MODEL_INPUT = 'input';

/** lower-case names refused in any letter case */
export const RESERVED_ANY_CASE: readonly string[] = WINDOWS_DEVICES;

/** why `name` is not a safe name, or null when it is */
export function nameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  if (name.length > NAME_MAX_LENGTH) return `is ${name.length} characters long, more than the limit of ${NAME_MAX_LENGTH}`;
  if (!NAME_PATTERN.test(name)) {
    return /^[0-9]/.test(name)
      ? 'starts with a digit'
      : 'contains characters other than ASCII letters, digits and _';
  }
  if (name.startsWith('__')) return 'starts with two underscores, which WGSL reserves';
  const reason = RESERVED_NAMES.get(name);
  if (reason) return `is ${reason}`;
  if (RESERVED_ANY_CASE.includes(name.toLowerCase())) return 'is a device name that Windows refuses as a file name';
  return null;
}

/** a safe name close to `name`, for the fix of an error message */
export function suggestName(name: string, fallback: string): string {
  let s = name.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '').slice(0, NAME_MAX_LENGTH - 2);
  if (/^[0-9]/.test(s)) s = `n${s}`;
  if (s === '') return fallback;
  if (nameProblem(s) !== null) s = `${s}_1`;
  return nameProblem(s) === null ? s : fallback;
}

// ---- PyTorch module paths (torch_name) --------------------------------------------------
// A torch_name never becomes code or a file name: it only names tensors in a safetensors
// file, `<torch_name>.weight`. It is a state_dict module path: segments joined by dots, each
// an attribute name or a container index ("features.0", "layer1.0.conv1").

/** dotted segments of ASCII letters, digits and _, at most 200 characters */
export const TORCH_NAME_PATTERN = /^(?=.{1,200}$)[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;
/** a last segment that names a tensor, not a module: convgen appends it */
export const TORCH_TENSOR_SUFFIX = /(^|\.)(weight|bias)$/;

/** why `name` is not a PyTorch module path convgen accepts, or null when it is */
export function torchNameProblem(name: string): string | null {
  if (name.length === 0) return 'is empty';
  if (name.length > 200) return `is ${name.length} characters long, more than the limit of 200`;
  if (!TORCH_NAME_PATTERN.test(name)) {
    return /^\.|\.$|\.\./.test(name) ? 'has an empty segment (a leading, trailing or doubled ".")' : 'contains characters other than ASCII letters, digits, _ and the "." between segments';
  }
  if (TORCH_TENSOR_SUFFIX.test(name)) return 'ends in "weight" or "bias", which name the tensors, not the module (convgen appends .weight and .bias)';
  return null;
}
