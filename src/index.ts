// convgen's package entry (`import { build } from 'convgen'`): the programmatic API, the
// error type its functions throw, and the plan/check formatters the CLI prints with.
// Generated modules need none of this at run time: they import nothing.

export { plan, build, check, loadModel, importOnnx } from './api.ts';
export type { ModelSource, PlanApiOptions, BuildOptions, BuildResult, CheckOptions, ImportApiOptions, ImportResult } from './api.ts';
export { ConvgenError, EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT } from './errors.ts';
export { formatPlanTable } from './plan/table.ts';
export { formatCheckReport } from './check/index.ts';
export type { CheckReport, CheckRow, Comparison } from './check/index.ts';
export type { ModelPlan, LayerPlan } from './plan/types.ts';
export type { ModelSpec } from './spec/types.ts';
export type { Target, EmitFlavour } from './emit/index.ts';
export { DEFAULT_LIMITS, type GpuLimits } from './gpu/limits.ts';
export { loadSafetensorsFile, saveSafetensorsFile } from './io/model-safetensors.ts';
export type { SafetensorsModel, LoadSafetensorsOptions, LoadSafetensorsResult } from './io/model-safetensors.ts';
