// convgen's command line: one verb per module, loaded on demand.

import { ConvgenError, EXIT_BAD_INPUT } from '../errors.ts';

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  plan: { summary: 'print the per-layer plan as a table (--target wgsl: the GPU schedule; --json for data)', load: async () => (await import('./plan.ts')).planCommand },
  build: { summary: 'generate kernels and the model module into generated/<name>/ (--limits for a GPU\'s limits)', load: async () => (await import('./build.ts')).buildCommand },
  import: { summary: 'turn an ONNX file from torch.onnx.export into model.json + weights (.safetensors)', load: async () => (await import('./import.ts')).importCommand },
  check: { summary: 'run every generated kernel against the reference interpreter (--target ts|wgsl|wasm)', load: async () => (await import('./check.ts')).checkCommand },
};

export function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  convgen ${name.padEnd(6)} ${name === 'import' ? 'model.onnx' : 'model.json'}   ${c.summary}`);
  return ['usage:', ...rows, '', 'run `convgen <command> --help` for its flags'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(usage() + '\n');
    return verb === undefined ? EXIT_BAD_INPUT : 0;
  }
  const command = COMMANDS[verb];
  if (!command) {
    process.stderr.write(`convgen: unknown command "${verb}"\n${usage()}\n`);
    return EXIT_BAD_INPUT;
  }
  try {
    return await (await command.load())(rest);
  } catch (err) {
    if (err instanceof ConvgenError) {
      process.stderr.write(`convgen ${verb}: ${err.message}\n`);
      return EXIT_BAD_INPUT;
    }
    throw err;
  }
}
