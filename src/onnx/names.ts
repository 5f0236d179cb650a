// Layer names and PyTorch module paths from what the exporter wrote. torch.onnx.export names
// nodes after the module path (`/layer2/shortcut/shortcut.0/Conv`: each segment repeats its
// parent's path, dotted) and keeps state_dict names for the parameters it uses as they are
// (`layer1.conv1.weight`); a tensor it computed (a conv with a fused BatchNorm) gets an
// invented name (`onnx::Conv_81`), and then the node's path names the layer.

import { nameProblem, torchNameProblem, NAME_MAX_LENGTH } from '../spec/names.ts';

/** `/layer2/shortcut/shortcut.0/Conv` -> { path: 'layer2.shortcut.0', op: 'Conv' } */
export function splitNodeName(name: string): { path: string; op: string } {
  const parts = name.split('/').filter((p) => p !== '');
  const op = parts.pop() ?? '';
  const path: string[] = [];
  for (const seg of parts) {
    const prev = path.at(-1);
    if (prev !== undefined && seg.startsWith(`${prev}.`)) path[path.length - 1] = seg;
    else path.push(seg);
  }
  return { path: path.join('.'), op };
}

/** the module path a parameter initializer names (`layer1.conv1.weight` -> `layer1.conv1`), when it is a state_dict name */
export function torchPathOf(initializer: string): string | undefined {
  const m = /^(.+)\.(weight|bias|running_mean|running_var)$/.exec(initializer);
  return m && torchNameProblem(m[1]!) === null ? m[1] : undefined;
}

/** an identifier from any text: `layer1.conv1` -> `layer1_conv1`, `Relu_2` -> `relu_2` */
export function identifierOf(text: string): string {
  let s = text.replace(/[^A-Za-z0-9_]+/g, '_').replace(/_+/g, '_').replace(/^_+|_+$/g, '');
  s = s.replace(/^[A-Z][a-z]/, (m) => m.toLowerCase());
  if (/^[0-9]/.test(s)) s = `l${s}`;
  return s.slice(0, NAME_MAX_LENGTH - 4);
}

/** hands out unique layer names (ignoring letter case, as model.json requires) */
export class NamePool {
  private readonly used = new Set<string>(['input']);

  take(wanted: string, fallback: string): string {
    let base = identifierOf(wanted);
    if (base === '' || nameProblem(base) !== null) base = fallback;
    let name = base;
    for (let i = 2; this.used.has(name.toLowerCase()) || nameProblem(name) !== null; i++) name = `${base}_${i}`;
    this.used.add(name.toLowerCase());
    return name;
  }
}

/** hands out unique PyTorch module paths */
export class TorchNamePool {
  private readonly used = new Set<string>();

  take(wanted: string | undefined, fallback: string): string {
    let base = wanted !== undefined && torchNameProblem(wanted) === null ? wanted : fallback;
    let name = base;
    for (let i = 2; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
}
