// `import convgen from 'convgen/rollup'`: the plugin (index.ts) for Rollup; docs/plugin.md has the guide.
import { convgen, type ConvgenPluginOptions } from './index.ts';

export type { ConvgenPluginOptions } from './index.ts';
// typed through unplugin's own instance type, so the declaration names no type the app lacks
const plugin: (options?: ConvgenPluginOptions) => ReturnType<typeof convgen.rollup> = convgen.rollup;
export default plugin;
