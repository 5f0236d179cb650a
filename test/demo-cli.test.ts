// The example apps as a user runs them: train.ts for one short epoch, then predict.ts on the
// weights it saved. Pins the demo command's output lines and files, not its accuracy.

import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors } from '../src/io/safetensors.ts';

const tsx = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const run = (args: string[]) => execFileSync(tsx, args, { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });

describe('mnist example apps', () => {
  it('train.ts writes weights, curves and history; predict.ts reads them back', () => {
    const out = mkdtempSync(join(tmpdir(), 'convgen-demo-'));
    try {
      const log = run(['examples/mnist/train.ts', '--limit', '640', '--epochs', '1', '--out', out]);
      expect(log).toMatch(/^model lenet5: 12 layers, 61706 parameters, batch 32/m);
      expect(log).toMatch(/^data: 640 training digits, 2000 test digits/m);
      const final = log.match(/^final test accuracy (\d+\.\d\d)% \((\d+)\/2000\) after 1 epoch; training [\d.]+ s, total [\d.]+ s$/m);
      expect(final).not.toBeNull();

      const st = decodeSafetensors(new Uint8Array(readFileSync(join(out, 'lenet5.safetensors'))));
      expect(Object.keys(st.tensors)).toHaveLength(10);
      expect(st.tensors['c1.weight'].shape).toEqual([6, 1, 5, 5]);
      expect(st.metadata.format).toBe('pt');
      expect(readFileSync(join(out, 'lenet5-curves.svg'), 'utf8')).toMatch(/^<svg [\s\S]*<\/svg>\n$/);
      const history = JSON.parse(readFileSync(join(out, 'lenet5-history.json'), 'utf8'));
      expect(history.history).toHaveLength(1);

      const pred = run(['examples/mnist/predict.ts', '--weights', join(out, 'lenet5.safetensors'), '--show', '3']);
      expect(pred).toMatch(/^#0: predicted \d, label \d/m);
      // the same weights on the same test digits: the same accuracy as train.ts printed
      expect(pred).toContain(`test accuracy ${final![1]}% (${final![2]}/2000)`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);

  it('--model trains another generated net with Adam and saves its running stats; predict.ts --model reads them', () => {
    const out = mkdtempSync(join(tmpdir(), 'convgen-demo-'));
    try {
      const log = run(['examples/mnist/train.ts', '--model', 'examples/resnet.json', '--limit', '96', '--epochs', '1', '--out', out]);
      expect(log).toMatch(/^model resnet_small: 29 layers, 38266 parameters, batch 32/m);
      expect(log).toMatch(/^adam: lr 0.003 \(cosine decay per epoch\), weight decay 0, 1 epoch, seed 1; training mode for the steps, eval mode for the tests$/m);
      const final = log.match(/^final test accuracy (\d+\.\d\d)% \((\d+)\/2000\) after 1 epoch; training [\d.]+ s, total [\d.]+ s$/m);
      expect(final).not.toBeNull();

      const st = decodeSafetensors(new Uint8Array(readFileSync(join(out, 'resnet_small.safetensors'))));
      expect(st.tensors['b2_proj.weight'].shape).toEqual([32, 16, 1, 1]);
      // three training steps moved every batch norm's count
      expect(st.tensors['stem_bn.num_batches_tracked'].dtype).toBe('I64');
      expect(st.tensors['stem_bn.num_batches_tracked'].data).toEqual(BigInt64Array.of(3n));
      expect(st.metadata.optimizer).toBe('adam');

      const pred = run(['examples/mnist/predict.ts', '--model', 'examples/resnet.json', '--weights', join(out, 'resnet_small.safetensors'), '--show', '0']);
      // eval mode on the loaded running stats: the accuracy train.ts printed
      expect(pred).toContain(`test accuracy ${final![1]}% (${final![2]}/2000)`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
