// Re-renders bench/results/chart.svg from the stored results (latest.json) without timing
// anything: for a change to the chart itself. `npx tsx bench/rechart.ts [results folder]`

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderChart } from './chart.ts';
import type { Report } from './types.ts';

const dir = process.argv[2] ?? join(import.meta.dirname, 'results');
const report = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as Report;
writeFileSync(join(dir, 'chart.svg'), renderChart(report));
console.log(`wrote ${join(dir, 'chart.svg')} from ${join(dir, 'latest.json')} (${report.meta.date})`);
