// `import convgen from 'convgen/rollup'`: the plugin (index.ts) for Rollup; docs/plugin.md has the guide.
import { convgen } from './index.ts';

export type { ConvgenPluginOptions } from './index.ts';
export default convgen.rollup;
