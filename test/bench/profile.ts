/**
 * Reads V8 CPU profiles (`node --cpu-prof`, .cpuprofile JSON) and sums self time by function and by
 * module, for the P2e section of test/bench/RESULTS.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../support/local-stack';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  profiles: number;
  /** Sampled time of all profiles, ms. */
  totalMs: number;
  /** Of which idle (the event loop waiting) and garbage collection. */
  idleMs: number;
  gcMs: number;
  functions: SelfTime[];
  modules: SelfTime[];
}

/** Where a script's code comes from: the package under node_modules, node's own, or the repo path. */
export function moduleOf(url: string): string {
  if (url === '') return '(native / V8)';
  if (url.startsWith('node:')) return url;
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? path);
  }
  return relative(REPO_ROOT, path);
}

/** The pid a `node --cpu-prof` file name carries: CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile. */
export function pidOfProfile(file: string): number {
  return Number(file.split('.')[3]);
}

/**
 * Sums self time (each sample's delta to the node it hit) over every profile in `dir`; with `lastMs`, only
 * the samples of each profile's last `lastMs` (the run, not the worker's start-up).
 */
export function summarizeProfiles(
  dir: string,
  top = 15,
  lastMs?: number,
  pids?: Set<number>,
): ProfileSummary {
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  let gcMs = 0;
  const files = readdirSync(dir).filter(
    (f) => f.endsWith('.cpuprofile') && (pids === undefined || pids.has(pidOfProfile(f))),
  );
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const from = lastMs === undefined ? Number.NEGATIVE_INFINITY : profile.endTime - lastMs * 1000;
    let at = profile.startTime;
    for (const [i, id] of profile.samples.entries()) {
      const ms = (profile.timeDeltas[i] ?? 0) / 1000;
      at += profile.timeDeltas[i] ?? 0;
      if (at < from) continue;
      const node = nodes.get(id);
      if (!node) continue;
      totalMs += ms;
      const { functionName, url, lineNumber } = node.callFrame;
      if (functionName === '(idle)') {
        idleMs += ms;
        continue;
      }
      if (functionName === '(garbage collector)') gcMs += ms;
      const module = moduleOf(url);
      const name = `${functionName || '(anonymous)'} ${module}${url ? `:${lineNumber + 1}` : ''}`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
      byModule.set(module, (byModule.get(module) ?? 0) + ms);
    }
  }
  const busy = totalMs - idleMs;
  const ranked = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms, share: busy > 0 ? ms / busy : 0 }));
  return {
    profiles: files.length,
    totalMs,
    idleMs,
    gcMs,
    functions: ranked(byFunction),
    modules: ranked(byModule),
  };
}

/** Markdown tables of the top functions and modules by self time (share of the busy, non-idle time). */
export function profileTables(summary: ProfileSummary): string {
  const row = (s: SelfTime) =>
    `| ${s.name.replace(/\|/g, '\\|')} | ${Math.round(s.ms)} | ${(s.share * 100).toFixed(1)} % |`;
  return [
    '| module | self ms | share of busy |',
    '| --- | --- | --- |',
    ...summary.modules.map(row),
    '',
    '| function | self ms | share of busy |',
    '| --- | --- | --- |',
    ...summary.functions.map(row),
  ].join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '-')) {
  const last = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
  const summary = summarizeProfiles(process.argv[2] ?? '.', Number(process.argv[3] ?? 25), last);
  console.log(
    `${summary.profiles} profiles, ${Math.round(summary.totalMs)} ms sampled, idle ${Math.round(summary.idleMs)} ms, gc ${Math.round(summary.gcMs)} ms`,
  );
  console.log(profileTables(summary));
}
