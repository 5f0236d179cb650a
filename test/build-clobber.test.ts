// A build never deletes what it did not write. Regression: a model named `src` built with
// `--out danger` replaced danger/src/ and deleted the app's danger/src/app.ts, and a file added
// by hand to generated/<name>/ vanished on the next build (src/emit/output.ts).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCaptured } from './helpers/cli.ts';
import { buildCommand } from '../src/cli/build.ts';
import { main } from '../src/cli/main.ts';
import { listFiles } from '../src/emit/write.ts';
import { MANIFEST_FILE, inspectOutput, renderManifest, writeModelOutput, writeModelOutputs } from '../src/emit/output.ts';
import { ConvgenError } from '../src/errors.ts';

let root: string;
let srcModel: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'convgen-clobber-test-'));
  srcModel = join(root, 'src.json');
  writeFileSync(srcModel, readFileSync('examples/seed.json', 'utf8').replace('"seed_problem"', '"src"'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** `convgen build args` through main, as the CLI runs it: exit code, stdout, stderr */
const cli = (args: string[]) => runCaptured(main, ['build', ...args]);
const read = (dir: string) => Object.fromEntries(listFiles(dir).map((p) => [p, readFileSync(join(dir, p), 'utf8')]));
/** a fresh folder under root with the given files */
function folder(name: string, files: Record<string, string> = {}): string {
  const dir = join(root, name);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

describe('a build refuses to replace what convgen did not write', () => {
  it('--out danger with a model named src: danger/src/app.ts survives, exit 2 naming the folder', async () => {
    const out = folder('danger');
    folder('danger/src', { 'app.ts': 'my app\n' });
    const r = await cli([srcModel, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `convgen build: ${out}/src: the folder exists and has no ${MANIFEST_FILE}, so convgen did not write it (or wrote it before convgen kept a manifest); it holds app.ts (nothing was written); ` +
        'move it away or choose another output folder (--out); if it is an older convgen output, pass --force to replace it (deleting everything in it)\n',
    );
    expect(r.out).toBe('');
    expect(read(join(out, 'src'))).toEqual({ 'app.ts': 'my app\n' });
  });

  it('a folder convgen wrote is replaced freely, build after build', async () => {
    const out = join(root, 'again');
    for (let i = 0; i < 2; i++) expect((await cli(['examples/seed.json', '--out', out])).code).toBe(0);
    expect(listFiles(join(out, 'seed_problem'))).toContain(MANIFEST_FILE);
  });

  it('an empty folder is adopted', async () => {
    const out = join(root, 'empty');
    mkdirSync(join(out, 'seed_problem'), { recursive: true });
    expect((await cli(['examples/seed.json', '--out', out])).code).toBe(0);
  });

  it('a file added by hand survives and is named; so is an edited generated file', async () => {
    const out = join(root, 'edited');
    await cli(['examples/seed.json', '--out', out]);
    const dir = join(out, 'seed_problem');
    writeFileSync(join(dir, 'notes.md'), 'mine\n');
    writeFileSync(join(dir, 'layers', 'tweak.ts'), 'mine too\n');
    writeFileSync(join(dir, 'index.ts'), readFileSync(join(dir, 'index.ts'), 'utf8') + '// my fix\n');
    // a generated file deleted by hand loses nothing: it is simply written again
    rmSync(join(dir, 'runtime.ts'));
    const before = read(dir);
    const r = await cli(['examples/seed.json', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`convgen build: ${dir}: replacing it would delete files convgen did not write (added by hand: layers/tweak.ts, notes.md; edited since convgen wrote them: index.ts) (nothing was written); `);
    expect(r.err).toContain('move them out of the folder');
    expect(r.err).not.toContain('runtime.ts');
    expect(read(dir)).toEqual(before);
  });

  it('--force replaces the folder anyway and says what it replaced', async () => {
    const out = folder('forced');
    folder('forced/src', { 'app.ts': 'my app\n' });
    const r = await cli([srcModel, '--out', out, '--force']);
    expect(r.code).toBe(0);
    expect(r.err).toContain(`--force replaced ${out}/src, which a build refuses: the folder exists and has no ${MANIFEST_FILE}`);
    expect(existsSync(join(out, 'src', 'app.ts'))).toBe(false);
    expect(existsSync(join(out, 'src', MANIFEST_FILE))).toBe(true);
    // and from then on it is convgen's folder
    expect((await cli([srcModel, '--out', out])).code).toBe(0);
  });

  it('a path that is not a folder is refused, even with --force', async () => {
    const out = folder('notfolder');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'src'), 'a file\n');
    let r = await cli([srcModel, '--out', out, '--force']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${out}/src: exists and is a file, not a folder (nothing was written); remove or rename it, or choose another output folder (--out); --force does not replace it`);
    expect(readFileSync(join(out, 'src'), 'utf8')).toBe('a file\n');
    rmSync(join(out, 'src'));
    symlinkSync(root, join(out, 'src'));
    r = await cli([srcModel, '--out', out, '--force']);
    expect(r.err).toContain('exists and is a symbolic link, not a folder');
    expect(r.code).toBe(2);
    // --out itself a file
    rmSync(join(out, 'src'));
    writeFileSync(join(out, 'src'), '');
    r = await cli([srcModel, '--out', join(out, 'src')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${join(out, 'src')} is a file, so the folder cannot be made`);
  });

  it('a multi-model build with one bad destination writes nothing at all', async () => {
    const out = folder('multi');
    folder('multi/src', { 'app.ts': 'my app\n' });
    const r = await cli(['examples/seed.json', 'examples/lenet.json', srcModel, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${out}/src: the folder exists and has no ${MANIFEST_FILE}`);
    expect(listFiles(out)).toEqual(['src/app.ts']);
  });

  it('several refused folders are all named in one error', async () => {
    const out = folder('multi2');
    folder('multi2/src', { 'app.ts': 'a\n' });
    folder('multi2/seed_problem', { 'b.ts': 'b\n' });
    const r = await cli(['examples/seed.json', srcModel, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^convgen build: 2 output folders: convgen will not replace them, so nothing was written:\n {2}\S*seed_problem: .*holds b\.ts;.*\n {2}\S*src: .*holds app\.ts;/);
  });

  it('a manifest of another model, or one convgen did not write, is refused', async () => {
    const out = join(root, 'other');
    await cli(['examples/seed.json', '--out', out]);
    renameSync(join(out, 'seed_problem'), join(out, 'src'));
    let r = await cli([srcModel, '--out', out]);
    expect(r.err).toContain(`${out}/src: the folder holds convgen's output for model "seed_problem", not "src"`);
    writeFileSync(join(out, 'src', MANIFEST_FILE), '{"files": {}}');
    r = await cli([srcModel, '--out', out]);
    expect(r.err).toContain(`its ${MANIFEST_FILE} is not one convgen wrote: its format is not 1`);
  });

  it('a build killed between its two renames: the restored folder is what is checked', () => {
    const parent = join(root, 'killed');
    const dir = join(parent, 'm');
    writeModelOutput({ dir, model: 'm', files: { 'index.ts': 'v1\n' } });
    writeFileSync(join(dir, 'mine.ts'), 'mine\n');
    renameSync(dir, join(parent, '.m.convgen-old-4242'));
    expect(() => writeModelOutput({ dir, model: 'm', files: { 'index.ts': 'v2\n' } })).toThrow(/added by hand: mine\.ts/);
    expect(existsSync(join(parent, '.m.convgen-old-4242', 'mine.ts'))).toBe(true);
    rmSync(join(parent, '.m.convgen-old-4242', 'mine.ts'));
    writeModelOutput({ dir, model: 'm', files: { 'index.ts': 'v2\n' } });
    expect(read(dir)).toEqual({ 'index.ts': 'v2\n', [MANIFEST_FILE]: renderManifest('m', { 'index.ts': 'v2\n' }) });
  });
});

describe('the manifest', () => {
  it('is sorted paths with sha256 and the model name: no time, no absolute path', () => {
    const text = renderManifest('m', { 'layers/b.ts': 'b', 'a.ts': '' });
    const m = JSON.parse(text);
    expect(Object.keys(m.files)).toEqual(['a.ts', 'layers/b.ts']);
    expect(m.files['a.ts']).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(m.model).toBe('m');
    expect(m.format).toBe(1);
    expect(text).not.toMatch(/\d{4}-\d\d-\d\d|\/tmp|\/home/);
  });
  it('an emitter may not write it', () => {
    expect(() => writeModelOutputs([{ dir: join(root, 'x'), model: 'x', files: { [MANIFEST_FILE]: '' } }])).toThrow(/convgen's own record/);
  });
  it('inspectOutput and writeModelOutputs throw and report as the CLI prints', () => {
    const dir = folder('lib/m', { 'keep.txt': 'k\n' });
    expect(inspectOutput({ dir, model: 'm', files: {} }).refusal?.problem).toContain('holds keep.txt');
    expect(inspectOutput({ dir, model: 'm', files: {} }, { force: true }).forced?.forceable).toBe(true);
    expect(() => writeModelOutputs([{ dir, model: 'm', files: { 'a.ts': '' } }])).toThrow(ConvgenError);
    expect(read(dir)).toEqual({ 'keep.txt': 'k\n' });
  });
});

describe('--check reports what a build would refuse', () => {
  it('exit 2 naming the folder and files, exit 1 for out of date, --force shows what it would delete', async () => {
    const out = join(root, 'check');
    await cli(['examples/seed.json', '--out', out]);
    const dir = join(out, 'seed_problem');
    writeFileSync(join(dir, 'notes.md'), 'mine\n');
    let r = await runCaptured(buildCommand, ['examples/seed.json', '--out', out, '--check']);
    expect(r.code).toBe(2);
    expect(r.out).toBe(
      `would refuse  ${dir}: replacing it would delete files convgen did not write (added by hand: notes.md); move them out of the folder (convgen rewrites it whole on every build), or pass --force to replace it (deleting them)\n` +
        '1 of 1 output folder(s) a build would refuse to replace (see above)\n',
    );
    r = await runCaptured(buildCommand, ['examples/seed.json', '--out', out, '--check', '--force']);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`would remove  ${dir}/notes.md`);
    expect(existsSync(join(dir, 'notes.md'))).toBe(true);
  });
});

describe('rebuilds that must go through, and writes that must fail cleanly (found in review)', () => {
  it("a file manager's .DS_Store / Thumbs.db does not block a rebuild", async () => {
    const out = folder('junk');
    expect((await cli([srcModel, '--out', out, '--target', 'ts'])).code).toBe(0);
    writeFileSync(join(out, 'src', '.DS_Store'), 'x');
    writeFileSync(join(out, 'src', 'layers', 'Thumbs.db'), 'x');
    const r = await cli([srcModel, '--out', out, '--target', 'ts']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });

  it('a checkout with CRLF line ends (core.autocrlf) is not "edited"', async () => {
    const out = folder('crlf');
    expect((await cli([srcModel, '--out', out, '--target', 'ts'])).code).toBe(0);
    const f = join(out, 'src', 'index.ts');
    writeFileSync(f, readFileSync(f, 'utf8').replace(/\n/g, '\r\n'));
    expect((await cli([srcModel, '--out', out, '--target', 'ts'])).code).toBe(0);
    // a real edit still is
    writeFileSync(f, readFileSync(f, 'utf8') + '// mine\n');
    const r = await cli([srcModel, '--out', out, '--target', 'ts']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/edited since convgen wrote them: index.ts/);
  });

  it('an output folder that cannot be made is a ConvgenError (exit 2), not a stack trace', async () => {
    const dangling = join(root, 'dangling');
    symlinkSync(join(root, 'no', 'such', 'dir'), dangling);
    const r = await cli([srcModel, '--out', dangling]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^convgen build: .*dangling.*: cannot write (it|beside it) \(E[A-Z]+: /);
  });

  it('parallel builds of one model wait for each other: every one succeeds and the folder is whole', async () => {
    const { spawn } = await import('node:child_process');
    const out = folder('parallel');
    const runs = Array.from({ length: 6 }, () =>
      new Promise<{ code: number | null; err: string }>((done) => {
        const p = spawn(process.execPath, ['bin/convgen.js', 'build', srcModel, '--out', out, '--target', 'ts'], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr.on('data', (d: Buffer) => (err += String(d)));
        p.on('close', (code) => done({ code, err }));
      }),
    );
    const results = await Promise.all(runs);
    expect(results).toEqual(results.map(() => ({ code: 0, err: '' })));
    const check = await cli([srcModel, '--out', out, '--target', 'ts', '--check']);
    expect(check.out).toBe('1 output folder(s) up to date\n');
    expect(listFiles(out).filter((p) => !p.startsWith('src/'))).toEqual([]);
  }, 120_000);
});
