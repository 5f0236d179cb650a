// `import convgen from 'convgen/vite'`: the plugin (index.ts) for Vite; docs/plugin.md has the guide.
import { convgen, type ConvgenPluginOptions } from './index.ts';

export type { ConvgenPluginOptions } from './index.ts';
// typed through unplugin's own instance type, so the declaration names no type the app lacks
const plugin: (options?: ConvgenPluginOptions) => ReturnType<typeof convgen.vite> = convgen.vite;
export default plugin;
