#!/usr/bin/env node
// Hollow agents (kubemark's idea): N simulated nodes, each the real skiff-agent code with
// its own WebSocket, node credential, heartbeats and Lease renewals, pod workers and
// status reports, over a runtime that runs nothing (agent/runtime/hollow-runtime.ts).
// Bound pods turn Running after --start-delay-ms. With --procs P the nodes are split over
// P child processes. Prints "hollow: N nodes started" once all are started; SIGTERM or
// SIGINT stops them and removes their data dirs (kept with --data-dir).
// Usage: node scripts/bench/hollow.mjs --server https://127.0.0.1:6443 (--token T | --token-file F)
//          [--nodes 1000] [--start-delay-ms 500] [--prefix hollow-] [--first 0] [--procs 1]
//          [--start-rate 200] [--heartbeat-interval 5s] [--max-pods 110] [--data-dir DIR]
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { opt, root } from './cluster.mjs';

const server = opt('server');
const token =
  opt('token') ?? (opt('token-file') ? readFileSync(opt('token-file'), 'utf8').trim() : process.env.SKIFF_TOKEN);
if (!server || !token) {
  process.stderr.write(
    'usage: hollow.mjs --server URL (--token T | --token-file F) [--nodes N] [--start-delay-ms MS] [--prefix P] [--procs P]\n',
  );
  process.exit(2);
}
const nodes = Number(opt('nodes', '1000'));
const first = Number(opt('first', '0'));
const procs = Math.max(1, Number(opt('procs', '1')));
const prefix = opt('prefix', 'hollow-');
const startDelayMs = Number(opt('start-delay-ms', '500'));
const startRate = Number(opt('start-rate', '200'));
const agentArgs = ['--heartbeat-interval', opt('heartbeat-interval', '5s'), '--max-pods', opt('max-pods', '110')];

if (procs > 1) {
  // split the nodes over child processes, each this script with one slice
  const children = [];
  let started = 0;
  const per = Math.ceil(nodes / procs);
  for (let p = 0; p < procs && p * per < nodes; p++) {
    const n = Math.min(per, nodes - p * per);
    const args = [
      '--server',
      server,
      '--token',
      token,
      '--nodes',
      String(n),
      '--first',
      String(first + p * per),
      '--prefix',
      prefix,
      '--start-delay-ms',
      String(startDelayMs),
      '--start-rate',
      String(startRate / procs),
      '--procs',
      '1',
      '--heartbeat-interval',
      opt('heartbeat-interval', '5s'),
      '--max-pods',
      opt('max-pods', '110'),
      ...(opt('data-dir') ? ['--data-dir', opt('data-dir')] : []),
    ];
    const child = fork(import.meta.filename, args, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    child.stdout.on('data', (d) => {
      if (/nodes started/.test(String(d)) && ++started === children.length)
        console.log(`hollow: ${nodes} nodes started (${children.length} processes)`);
    });
    children.push(child);
  }
  const stop = () => {
    for (const c of children) c.kill('SIGTERM');
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const { startHollowAgents } = await import(join(root, 'dist/agent/hollow-agents.js'));
  const dataDir = opt('data-dir') ?? mkdtempSync(join(tmpdir(), 'skiff-hollow-'));
  const hollow = await startHollowAgents({
    server,
    token,
    nodes,
    first,
    prefix,
    dataDir,
    startDelayMs,
    startRate,
    agentArgs,
  });
  console.log(`hollow: ${hollow.names.length} nodes started`);
  const stop = () => {
    hollow.stop();
    if (!opt('data-dir')) rmSync(dataDir, { recursive: true, force: true });
    setTimeout(() => process.exit(0), 200).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // the parent gone (kill -9 of a --procs parent): go too
  process.on('disconnect', stop);
}
