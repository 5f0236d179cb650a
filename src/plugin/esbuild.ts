// `import convgen from 'convgen/esbuild'`: the plugin (index.ts) for Esbuild; docs/plugin.md has the guide.
import { convgen, type ConvgenPluginOptions } from './index.ts';

export type { ConvgenPluginOptions } from './index.ts';
// typed through unplugin's own instance type, so the declaration names no type the app lacks
const plugin: (options?: ConvgenPluginOptions) => ReturnType<typeof convgen.esbuild> = convgen.esbuild;
export default plugin;
