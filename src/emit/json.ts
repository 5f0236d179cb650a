// Deterministic JSON for generated files: keys sorted at every level, arrays of numbers
// and strings on one line (shapes read as [8, 3, 32, 32]), two-space indentation.

export function stableJson(value: unknown, indent = ''): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`stableJson: ${value} has no JSON form`);
    return JSON.stringify(value);
  }
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => v === null || typeof v !== 'object')) return `[${value.map((v) => stableJson(v)).join(', ')}]`;
    return `[\n${value.map((v) => inner + stableJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
  if (keys.length === 0) return '{}';
  return `{\n${keys.map((k) => `${inner}${JSON.stringify(k)}: ${stableJson((value as Record<string, unknown>)[k], inner)}`).join(',\n')}\n${indent}}`;
}
