// Build a model's generated module into a temporary folder and import it, so tests run the
// real generated code (TypeScript flavour, loaded by vitest) rather than a re-rendering.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ModelPlan } from '../../src/plan/types.ts';
import { emitModel } from '../../src/emit/index.ts';
import { writeOutputAtomic } from '../../src/emit/write.ts';

export interface Tensors {
  weight?: Float32Array;
  bias?: Float32Array;
}

/** the members of a generated module that the tests use */
export interface GeneratedModel {
  readonly params: Record<string, Tensors>;
  readonly grads: Record<string, Tensors>;
  forward(x: Float32Array): Float32Array;
  backward(dOut: Float32Array): Float32Array;
  lossAndGrad(x: Float32Array, labels: Int32Array): number;
  sgdStep(lr: number, options?: { momentum?: number; weightDecay?: number }): void;
  readonly lastLossFinite: boolean;
  readonly buffers: Record<string, { running_mean: Float32Array; running_var: Float32Array; num_batches_tracked: BigInt64Array }>;
  readonly training: boolean;
  train(mode?: boolean): GeneratedModel;
  eval(): GeneratedModel;
}

export interface GeneratedModule {
  createModel(options?: { seed?: number; checkFinite?: boolean }): GeneratedModel;
  plan: ModelPlan;
}

const roots: string[] = [];

export async function buildAndImport(plan: ModelPlan, emit: 'ts' | 'js' = 'ts'): Promise<GeneratedModule> {
  const root = mkdtempSync(join(tmpdir(), 'convgen-test-'));
  roots.push(root);
  const dir = join(root, plan.name);
  writeOutputAtomic(dir, await emitModel(plan, { target: 'ts', emit }));
  return (await import(pathToFileURL(join(dir, emit === 'ts' ? 'index.ts' : 'index.js')).href)) as GeneratedModule;
}

export function cleanupBuilds(): void {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
}
