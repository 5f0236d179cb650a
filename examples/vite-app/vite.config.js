// convgen's Vite plugin: `import ... from './shapes.json?convgen'` compiles the model file at
// build time and hands back the generated module (docs/plugin.md)
import { defineConfig } from 'vite';
import convgen from 'convgen/vite';

export default defineConfig({
  plugins: [convgen()],
});
