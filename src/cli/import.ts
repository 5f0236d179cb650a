// convgen import model.onnx [--out DIR] [--batch N] [--name NAME] [--force]
// Import an ONNX file (src/onnx/) and write DIR/<name>.json and DIR/<name>.safetensors; the
// whole import runs in memory first, so an error (exit 2) writes nothing.

import { ConvgenError, EXIT_OK } from '../errors.ts';
import { importOnnxFile, isOnnxPath, lowerOnnxFile, writeImport } from '../onnx/file.ts';
import type { ImportOptions } from '../onnx/index.ts';
import { formatGraph } from '../onnx/dump.ts';
import { parseFlags, type FlagSpec } from './flags.ts';

export const IMPORT_HELP = `usage: convgen import model.onnx [--out DIR] [--batch N] [--name NAME] [--force]

Turn a conv net exported by torch.onnx.export into a model file and its weights:
DIR/<name>.json (layer names from the exporter's module paths, torch_name the state_dict
path) and DIR/<name>.safetensors (weights and batch-norm buffers under their state_dict
names, which the generated model's loadSafetensors reads). Build it with
convgen build DIR/<name>.json, or build the .onnx file directly (convgen build model.onnx).
Supported operators and the export call: docs/onnx.md. An operator or attribute no convgen
layer expresses is an error naming the node and why (exit 2, nothing written).

flags:
  --out DIR     folder to write to (default: the current folder)
  --batch N     the model's static batch (default: the ONNX input's batch when static, else 1)
  --name NAME   the model's name (default: the file's name, e.g. resnet for resnet.onnx)
  --force       replace existing files
  --dump graph  print the graph after the import's passes (one row per node, with shapes) instead of writing
  -h, --help    print this help
`;

interface ImportArgs {
  file: string;
  out: string;
  batch?: number;
  name?: string;
  force: boolean;
  dump: boolean;
}

/** the flags of an import: `convgen build model.onnx` takes --batch and --name too */
export const IMPORT_MODEL_FLAGS = {
  '--batch': { kind: 'count', example: 1, min: 1, means: 'an integer >= 1', fix: 'write e.g. --batch 1' },
  '--name': { kind: 'path', what: 'a model name', example: 'resnet' },
} as const satisfies Record<string, FlagSpec>;

/**
 * --batch / --name of build, plan and check, which read .onnx files beside model.json files:
 * the import options, refused without an .onnx file (a model.json states its own batch and
 * name) and --name with several
 */
export function onnxImportOptions(command: string, files: readonly string[], flags: { readonly '--batch'?: number; readonly '--name'?: string }): ImportOptions {
  const onnxFiles = files.filter(isOnnxPath).length;
  for (const flag of ['--batch', '--name'] as const) {
    if (flags[flag] !== undefined && onnxFiles === 0) throw new ConvgenError(flag, 'applies to an .onnx file only (a model.json states its own batch and name)', `leave ${flag} out, or ${command} a model.onnx`);
  }
  if (flags['--name'] !== undefined && onnxFiles > 1) throw new ConvgenError('--name', `names one model, but ${onnxFiles} .onnx files are given`, `${command} them one at a time, or leave --name out (each is named after its file)`);
  return { ...(flags['--batch'] !== undefined ? { batch: flags['--batch'] } : {}), ...(flags['--name'] !== undefined ? { name: flags['--name'] } : {}) };
}

const IMPORT_FLAGS = {
  ...IMPORT_MODEL_FLAGS,
  '--out': { kind: 'path', what: 'a folder', example: 'models' },
  '--force': { kind: 'bool' },
  '--dump': { kind: 'choice', values: ['graph'] },
} as const satisfies Record<string, FlagSpec>;

function parseArgs(args: string[]): ImportArgs | 'help' {
  const parsed = parseFlags('import', args, IMPORT_FLAGS, 'model.onnx');
  if (parsed === 'help') return 'help';
  const f = parsed.flags;
  if (f['--dump'] !== undefined) {
    for (const flag of ['--out', '--name', '--force'] as const) {
      if (f[flag] !== undefined) throw new ConvgenError(flag, '--dump graph prints the graph and writes nothing, so it takes no ' + flag, `drop ${flag}, or drop --dump to write the files`);
    }
  }
  if (parsed.files.length !== 1) throw new ConvgenError('arguments', `${parsed.files.length} files given; import takes one`, 'run convgen import model.onnx');
  return {
    file: parsed.files[0]!,
    out: f['--out'] ?? '.',
    ...(f['--batch'] !== undefined ? { batch: f['--batch'] } : {}),
    ...(f['--name'] !== undefined ? { name: f['--name'] } : {}),
    force: f['--force'] === true,
    dump: f['--dump'] === 'graph',
  };
}

export async function importCommand(args: string[]): Promise<number> {
  const parsed = parseArgs(args);
  if (parsed === 'help') {
    process.stdout.write(IMPORT_HELP);
    return EXIT_OK;
  }
  if (parsed.dump) {
    process.stdout.write(formatGraph(lowerOnnxFile(parsed.file, parsed.batch)));
    return EXIT_OK;
  }
  const t0 = performance.now();
  const result = importOnnxFile(parsed.file, { ...(parsed.name !== undefined ? { name: parsed.name } : {}), ...(parsed.batch !== undefined ? { batch: parsed.batch } : {}) });
  const written = writeImport(result, parsed.out, { force: parsed.force });
  for (const note of result.notes) process.stderr.write(`convgen import: note: ${note}\n`);
  const layers = (result.model.layers as unknown[]).length;
  process.stdout.write(`wrote ${written.json} (${layers} layers) and ${written.weights} in ${(performance.now() - t0).toFixed(0)} ms\n`);
  return EXIT_OK;
}
