// `import convgen from 'convgen/esbuild'`: the plugin (index.ts) for Esbuild; docs/plugin.md has the guide.
import { convgen } from './index.ts';

export type { ConvgenPluginOptions } from './index.ts';
export default convgen.esbuild;
