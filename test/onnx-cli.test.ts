// `convgen import` and `convgen build model.onnx` from the command line (in process, through
// main): what they write, exit 2 with nothing written on a bad file or an existing output, and
// the API's importOnnx / build with an .onnx path.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.ts';
import { importOnnx, build } from '../src/api.ts';
import { loadModelFile } from '../src/spec/parse.ts';
import { runCaptured } from './helpers/cli.ts';
import { onnxModel } from './helpers/onnx-build.ts';
import { SUPPORTED_OPS } from '../src/onnx/index.ts';
import { writeImport, type ImportFs } from '../src/onnx/file.ts';

const root = mkdtempSync(join(tmpdir(), 'convgen-onnx-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const fixture = (name: string) => new URL(`./fixtures/onnx/${name}/model.onnx`, import.meta.url).pathname;
const run = (...args: string[]) => runCaptured(main, args);
let n = 0;
const fresh = () => join(root, `case${n++}`);

describe('convgen import', () => {
  it('writes <name>.json and <name>.safetensors, the same as the API imports', async () => {
    const out = fresh();
    const r = await run('import', fixture('lenet_view_dynamic'), '--out', out, '--batch', '4', '--name', 'lenet');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^wrote .*lenet\.json \(12 layers\) and .*lenet\.safetensors/);
    expect(readdirSync(out).sort()).toEqual(['lenet.json', 'lenet.safetensors']);
    const spec = loadModelFile(join(out, 'lenet.json'));
    expect(spec.batch).toBe(4);
    expect(spec.name).toBe('lenet');
    const api = importOnnx(fixture('lenet_view_dynamic'), { batch: 4, name: 'lenet' });
    expect(Buffer.from(readFileSync(join(out, 'lenet.safetensors'))).equals(Buffer.from(api.safetensors))).toBe(true);
  });

  it('names the model after the file by default', async () => {
    const out = fresh();
    expect((await run('import', fixture('conv1d_net'), '--out', out)).code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['model.json', 'model.safetensors']);
  });

  it('exits 2 and writes nothing for a truncated file', async () => {
    const out = fresh();
    const bad = join(root, 'truncated.onnx');
    writeFileSync(bad, readFileSync(fixture('unet_tiny')).subarray(0, 700));
    const r = await run('import', bad, '--out', out);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^convgen import: .*truncated\.onnx: model: is not an ONNX model file/);
    expect(existsSync(out)).toBe(false);
  });

  it('exits 2 and writes nothing for an operator convgen lacks, naming the node', async () => {
    const out = fresh();
    const file = join(root, 'transpose.onnx');
    writeFileSync(file, onnxModel({ input: [1, 2, 4, 4], nodes: [{ op: 'Relu', inputs: ['input'] }, { op: 'Transpose', name: '/shuffle/Transpose', inputs: ['v0'], attrs: { perm: [0, 2, 1, 3] } }] }));
    const r = await run('import', file, '--out', out);
    expect(r.code).toBe(2);
    expect(r.err).toContain('node "/shuffle/Transpose" (Transpose): operator Transpose is not supported');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses to replace existing files (exit 2, both untouched) unless --force', async () => {
    const out = fresh();
    expect((await run('import', fixture('conv1d_net'), '--out', out, '--name', 'net')).code).toBe(0);
    writeFileSync(join(out, 'net.json'), 'mine');
    const weights = readFileSync(join(out, 'net.safetensors'));
    const r = await run('import', fixture('lenet_view'), '--out', out, '--name', 'net');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/net\.json: exists; convgen import does not replace files/);
    expect(readFileSync(join(out, 'net.json'), 'utf8')).toBe('mine');
    expect(readFileSync(join(out, 'net.safetensors')).equals(weights)).toBe(true);
    expect((await run('import', fixture('lenet_view'), '--out', out, '--name', 'net', '--force')).code).toBe(0);
    expect(loadModelFile(join(out, 'net.json')).layers.length).toBe(12);
  });

  // regression: --out naming a file crashed with ENOTDIR from lstat of <file>/<name>.json (exit 1, a stack trace)
  it('--out naming a file, or a path under a file, exits 2 naming the path; the API throws the same', async () => {
    const file = join(root, 'afile');
    writeFileSync(file, 'mine');
    const r = await run('import', fixture('conv1d_net'), '--out', file);
    expect([r.code, r.err]).toEqual([2, `convgen import: ${file}: exists and is not a folder; choose another --out folder (a folder, or a path that does not exist yet)\n`]);
    const under = await run('import', fixture('conv1d_net'), '--out', join(file, 'sub'));
    expect(under.code).toBe(2);
    expect(under.err).toMatch(/afile\/sub: cannot be checked \(ENOTDIR\).*; choose another --out folder\n$/);
    expect(() => importOnnx(fixture('conv1d_net'), { out: file })).toThrow(/afile: exists and is not a folder/);
    expect(readFileSync(file, 'utf8')).toBe('mine');
  });

  describe('writeImport replaces both files or neither', () => {
    const result = importOnnx(fixture('conv1d_net'), { name: 'net' });
    /** node:fs, except that the call number `at` of `op` throws EACCES */
    const failing = (op: keyof ImportFs, at: number): ImportFs => {
      let calls = 0;
      const fail = () => {
        if (++calls === at) throw Object.assign(new Error('denied'), { code: 'EACCES' });
      };
      const real: ImportFs = { writeFileSync, renameSync, rmSync };
      return { ...real, [op]: (...args: never[]) => (fail(), (real[op] as (...a: never[]) => void)(...args)) };
    };
    const old = (out: string) => {
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, 'net.json'), 'old json');
      writeFileSync(join(out, 'net.safetensors'), 'old weights');
    };
    const unchanged = (out: string) => {
      expect(readdirSync(out).sort()).toEqual(['net.json', 'net.safetensors']);
      expect(readFileSync(join(out, 'net.json'), 'utf8')).toBe('old json');
      expect(readFileSync(join(out, 'net.safetensors'), 'utf8')).toBe('old weights');
    };

    it('the second temporary file fails: the first is removed, nothing new is left', () => {
      const out = fresh();
      expect(() => writeImport(result, out, { fs: failing('writeFileSync', 2) })).toThrow(/net\.safetensors: cannot write it \(EACCES\)/);
      expect(readdirSync(out)).toEqual([]);
      old(out);
      expect(() => writeImport(result, out, { force: true, fs: failing('writeFileSync', 2) })).toThrow(/cannot write it/);
      unchanged(out);
    });

    it('a rename fails after the .json is in place: the old .json comes back, no temporary or aside file stays', () => {
      for (const at of [2, 3, 4]) {
        const out = fresh();
        old(out);
        // renames: json aside, json tmp into place, weights aside, weights tmp into place
        expect(() => writeImport(result, out, { force: true, fs: failing('renameSync', at) })).toThrow(/cannot replace it \(EACCES\); nothing was changed/);
        unchanged(out);
      }
      const out = fresh();
      expect(() => writeImport(result, out, { fs: failing('renameSync', 2) })).toThrow(/net\.safetensors: cannot replace it/);
      expect(readdirSync(out)).toEqual([]);
    });

    it('with no failure, both are replaced and nothing else stays', () => {
      const out = fresh();
      old(out);
      writeImport(result, out, { force: true });
      expect(readdirSync(out).sort()).toEqual(['net.json', 'net.safetensors']);
      expect(Buffer.from(readFileSync(join(out, 'net.safetensors'))).equals(Buffer.from(result.safetensors))).toBe(true);
    });
  });

  it('a trailing Softmax is written as "output_softmax": true (and said in "comment"), which builds as any model', async () => {
    const out = fresh();
    expect((await run('import', fixture('gelu_dropout'), '--out', out)).code).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as Record<string, unknown>;
    expect(json.output_softmax).toBe(true);
    expect(json.comment).toMatch(/^the ONNX model ends in a softmax over dim 1 \("\/softmax\/Softmax"\), kept as "output_softmax": in eval mode/);
    const spec = loadModelFile(join(out, 'model.json'));
    expect(spec.layers.at(-1)!.type).toBe('linear');
    expect(spec.output_softmax).toBe(true);
    // no softmax, no comment and no output_softmax
    expect((await run('import', fixture('conv1d_net'), '--out', out, '--name', 'c')).code).toBe(0);
    const plain = JSON.parse(readFileSync(join(out, 'c.json'), 'utf8')) as object;
    expect('comment' in plain || 'output_softmax' in plain).toBe(false);
  });

  it('--dump graph prints the graph after the passes and writes nothing', async () => {
    const cwd = readdirSync('.').sort();
    const r = await run('import', fixture('gelu_dropout'), '--dump', 'graph');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^opset 13, input input \[2, 3, 16, 16\], output \/fc\/Gemm_output_0 \(a trailing Softmax taken out: output_softmax\)/);
    expect(r.out).toMatch(/\| \/gelu\/Gelu +\| Gelu +\| \/conv1\/Conv_output_0 +\| \[2, 8, 16, 16\] +\|/);
    expect(r.out).not.toMatch(/Erf|Pad|Softmax \|/);
    expect(readdirSync('.').sort()).toEqual(cwd);
  });

  it('bad flags exit 2', async () => {
    expect((await run('import', fixture('lenet_view'), '--batch', 'two')).err).toMatch(/--batch: must be an integer >= 1, got "two"/);
    expect((await run('import')).code).toBe(2);
    // a forgotten value is not taken from the next flag; --dump graph writes nothing, so takes no --out
    expect((await run('import', fixture('lenet_view'), '--out', '--force')).err).toMatch(/--out: needs a value, got the flag --force/);
    expect((await run('import', fixture('lenet_view'), '--dump', 'graph', '--out', fresh())).err).toMatch(/--out: --dump graph prints the graph and writes nothing/);
    // plan and check read an .onnx file as build does
    const plan = await run('plan', fixture('lenet_view_dynamic'), '--batch', '3');
    expect([plan.code, plan.out.split('\n')[0]]).toEqual([0, 'model model: batch 3, input 1x28x28, output 10, loss softmax_cross_entropy']);
    expect((await run('import', fixture('lenet_view'), '--name', '1net', '--out', fresh())).err).toMatch(/name: "1net" starts with a digit/);
  });
});

describe('convgen build model.onnx', () => {
  it('imports in memory, builds, writes the weights into the folder; --check is clean after', async () => {
    const out = fresh();
    const r = await run('build', fixture('gelu_dropout'), '--out', out, '--target', 'ts');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/note: the trailing Softmax \("\/softmax\/Softmax"\) becomes "output_softmax": true/);
    const files = readdirSync(join(out, 'model'));
    expect(files).toContain('model.safetensors');
    expect(files).toContain('index.ts');
    expect((await run('build', fixture('gelu_dropout'), '--out', out, '--target', 'ts', '--check')).code).toBe(0);
    // and a rebuild replaces the folder (the binary weights count as convgen's own)
    expect((await run('build', fixture('gelu_dropout'), '--out', out, '--target', 'ts')).code).toBe(0);
  });

  // regression: the manifest check read every file as text with CRLF as LF, so weights holding
  // the bytes 13, 10 counted as edited and the next build refused its own folder
  it('rebuilds a folder whose weights hold CRLF bytes', async () => {
    const out = fresh();
    const crlf = new Float32Array(new Uint8Array([13, 10, 13, 10]).buffer)[0]!;
    const file = join(root, 'crlf.onnx');
    writeFileSync(file, onnxModel({ input: [1, 1, 4, 4], nodes: [{ op: 'Conv', inputs: ['input', 'w'] }], inits: { w: { dims: [1, 1, 3, 3], data: Array(9).fill(crlf) } } }));
    expect((await run('build', file, '--out', out, '--target', 'ts')).code).toBe(0);
    expect(readFileSync(join(out, 'crlf', 'crlf.safetensors')).includes(Buffer.from([13, 10]))).toBe(true);
    const again = await run('build', file, '--out', out, '--target', 'ts');
    expect(again.err).toBe('');
    expect(again.code).toBe(0);
  });

  it('--batch and --name set the imported model\'s batch and name, as convgen import\'s do', async () => {
    const out = fresh();
    expect((await run('build', fixture('lenet_view_dynamic'), '--batch', '4', '--name', 'lenet', '--out', out, '--target', 'ts')).code).toBe(0);
    expect(readdirSync(join(out, 'lenet')).sort()).toContain('lenet.safetensors');
    expect(readFileSync(join(out, 'lenet', 'index.ts'), 'utf8')).toContain('// model lenet: batch 4,');
    // they apply to .onnx files only, and --name to one
    const json = await run('build', 'examples/seed.json', '--batch', '4', '--out', fresh());
    expect([json.code, json.err]).toEqual([2, 'convgen build: --batch: applies to an .onnx file only (a model.json states its own batch and name); leave --batch out, or build a model.onnx\n']);
    const two = await run('build', fixture('lenet_view'), fixture('conv1d_net'), '--name', 'x', '--out', fresh());
    expect(two.code).toBe(2);
    expect(two.err).toMatch(/--name: names one model, but 2 \.onnx files are given/);
  });

  it('exits 2 and writes nothing for a bad file', async () => {
    const out = fresh();
    const bad = join(root, 'bad.onnx');
    writeFileSync(bad, 'not a model');
    const r = await run('build', bad, '--out', out);
    expect(r.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  it('the API builds an .onnx path with its weights', async () => {
    const out = fresh();
    const r = await build(fixture('conv1d_net'), { target: 'ts', out });
    expect(r.weights).toBeInstanceOf(Uint8Array);
    expect(readFileSync(join(out, 'model', 'model.safetensors')).equals(Buffer.from(r.weights!))).toBe(true);
  });
});

describe('docs/onnx.md', () => {
  it('lists every operator the import reads in its table', () => {
    const doc = readFileSync(new URL('../docs/onnx.md', import.meta.url), 'utf8');
    const table = doc.slice(doc.indexOf('## Supported operators'), doc.indexOf('## What the import writes'));
    const listed = new Set([...table.matchAll(/^\| ([^|]+) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/`(\w+)`/g)].map((x) => x[1]!)));
    expect(Object.keys(SUPPORTED_OPS).filter((op) => !listed.has(op))).toEqual([]);
  });
});
