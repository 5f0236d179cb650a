// `import convgen from 'convgen/vite'`: the plugin (index.ts) for Vite; docs/plugin.md has the guide.
import { convgen } from './index.ts';

export type { ConvgenPluginOptions } from './index.ts';
export default convgen.vite;
