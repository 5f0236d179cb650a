// The schedule: how a target runs each conv kernel, chosen here as plain data (Halide's
// split: the plan says what is computed, the schedule how). The lowering (src/kernels/)
// reads it; `convgen plan --target ts|wgsl` prints it.

/** accumulators per direct block: 4 channels x 4 columns keeps 16 sums + 4 inputs + 1 weight in registers */
export const BLOCK_O = 4;
export const BLOCK_W = 4;

/** IR nodes per direct kernel, about 45 KB of V8 bytecode (see src/ir/size.ts): under its 60 KB optimizing limit */
export const DIRECT_KERNEL_BUDGET = 9000;

/** the output channels per direct block: 4, or 3 when that divides the channels and 4 does not (no remainder code) */
export const channelBlock = (per: number): number => (per % BLOCK_O !== 0 && per % 3 === 0 ? 3 : Math.min(BLOCK_O, per));
