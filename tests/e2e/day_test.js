// A whole day at the office, driven through the real dispatchd process by
// an independent gRPC implementation (grpc-js, protos loaded at run time):
// an admin sets up zones and technicians, requests come in, technicians
// stream, accept and complete, an alert preempts, feedback is given and the
// stats add up; then kill -9 and a restart, after which the technicians'
// streams resume with no offer lost or shown twice.
//
//   DISPATCHD_BINARY=build/services/dispatchd PROTO_DIR=proto node day_test.js
//
// Exits 0 when every check holds; otherwise prints the first failure and
// exits 1. Output is one line per step.
'use strict';

const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const DISPATCHD = process.env.DISPATCHD_BINARY;
const PROTO_DIR = process.env.PROTO_DIR;
if (!DISPATCHD || !PROTO_DIR) {
  console.error('set DISPATCHD_BINARY and PROTO_DIR');
  process.exit(2);
}

const TOKENS = {
  dispatcher: 'e2e-dispatcher-token-000',
  'T-E1': 'e2e-tech-e1-token-000000',
  'T-E2': 'e2e-tech-e2-token-000000',
  'T-P1': 'e2e-tech-p1-token-000000',
  trigger: 'e2e-trigger-token-000000',
};
const TOKENS_FILE = `# tokens for the end-to-end day
dispatcher     ${TOKENS.dispatcher}
technician     ${TOKENS['T-E1']}   T-E1
technician     ${TOKENS['T-E2']}   T-E2
technician     ${TOKENS['T-P1']}   T-P1
alert_trigger  ${TOKENS.trigger}   substation-monitor
`;

function step(text) {
  console.log(`e2e: ${text}`);
}

// --- The daemon ----------------------------------------------------------

class Daemon {
  constructor(dataDir, tokensFile) {
    this.dataDir = dataDir;
    this.tokensFile = tokensFile;
  }

  // Starts dispatchd on `listen` and resolves with its address once it
  // prints the banner.
  start(listen) {
    this.proc = spawn(DISPATCHD, [
      `--listen=${listen}`, `--data_dir=${this.dataDir}`, `--tokens_file=${this.tokensFile}`,
      '--log_events=false',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    // A failing run must not leave a daemon behind.
    const proc = this.proc;
    process.on('exit', () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
    let stderr = '';
    this.proc.stderr.on('data', (d) => { stderr += d; });
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`dispatchd did not start: ${stderr}`)), 20000);
      this.proc.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/dispatchd listening on (\S+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      this.proc.on('exit', () => reject(new Error(`dispatchd exited: ${stderr}`)));
    });
  }

  async kill9() {
    this.proc.kill('SIGKILL');
    const { signal } = await this.exited;
    assert.equal(signal, 'SIGKILL');
  }

  async stop() {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    await this.exited;
  }
}

// --- gRPC ----------------------------------------------------------------

const definition = protoLoader.loadSync(
  ['admin', 'alerts', 'console', 'inventory', 'requests', 'technicians']
    .map((f) => `dispatch/v1/${f}.proto`),
  { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true,
    includeDirs: [PROTO_DIR] });
const v1 = grpc.loadPackageDefinition(definition).dispatch.v1;

class Api {
  constructor(address) {
    const creds = grpc.credentials.createInsecure();
    this.admin = new v1.AdminService(address, creds);
    this.alerts = new v1.AlertService(address, creds);
    this.console = new v1.ConsoleService(address, creds);
    this.requests = new v1.RequestService(address, creds);
    this.technicians = new v1.TechnicianService(address, creds);
  }

  close() {
    for (const c of [this.admin, this.alerts, this.console, this.requests, this.technicians]) c.close();
  }

  // One unary call as `who` (a key of TOKENS).
  call(who, client, method, request) {
    const md = new grpc.Metadata();
    md.add('authorization', `Bearer ${TOKENS[who]}`);
    return new Promise((resolve, reject) => {
      this[client][method](request, md, { deadline: Date.now() + 10000 }, (err, resp) => {
        if (err) reject(err); else resolve(resp);
      });
    });
  }
}

// A technician's assignment stream, kept in order, reopened on demand.
class Watch {
  constructor(api, tech) {
    this.tech = tech;
    this.updates = [];
    this.waiters = [];
    this.open(api);
  }

  open(api) {
    const md = new grpc.Metadata();
    md.add('authorization', `Bearer ${TOKENS[this.tech]}`);
    this.ended = null;
    this.call = api.technicians.WatchAssignments({ technician_id: this.tech }, md);
    // Each message holds the updates of one change (the snapshot first).
    this.call.on('data', (m) => {
      this.updates.push(...m.updates);
      this.wake();
    });
    this.call.on('error', (err) => {
      this.ended = err;
      this.wake();
    });
    this.call.on('end', () => {
      this.ended = this.ended || new Error('stream ended');
      this.wake();
    });
  }

  wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  // The first update from index `from` on that satisfies `pred`.
  async next(pred, from = 0, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.updates.findIndex((u, k) => k >= from && pred(u));
      if (i >= 0) return this.updates[i];
      if (Date.now() > deadline) {
        throw new Error(`${this.tech}: no matching update; got ${JSON.stringify(
          this.updates.slice(from).map((u) => [u.change, u.request && u.request.request_id]))}`);
      }
      await new Promise((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  async ended_() {
    while (!this.ended) await new Promise((r) => setTimeout(r, 50));
    return this.ended;
  }

  cancel() {
    this.call.cancel();
  }
}

const is = (change, id) => (u) => u.change === change && (!id || u.request.request_id === id);

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dispatchd-e2e-'));
  const tokensFile = path.join(dir, 'tokens.txt');
  fs.writeFileSync(tokensFile, TOKENS_FILE);
  const daemon = new Daemon(path.join(dir, 'data'), tokensFile);
  let address = await daemon.start('127.0.0.1:0');
  step(`dispatchd up on ${address}`);
  let api = new Api(address);

  // --- Set-up by the admin ---
  const { policy } = await api.call('dispatcher', 'admin', 'GetPolicy', {});
  policy.preemption_enabled = true;
  policy.max_preemptions_per_job = 1;
  await api.call('dispatcher', 'admin', 'SetPolicy', { policy });
  await api.call('dispatcher', 'admin', 'UpsertZone', { zone_id: 'north', name: 'North campus' });
  await api.call('dispatcher', 'admin', 'UpsertZone', {
    zone_id: 'south', name: 'South campus', neighbors: [{ zone_id: 'north', travel_minutes: 10 }] });
  for (const [id, zone, skill] of [['T-E1', 'north', 'electrical'], ['T-E2', 'north', 'electrical'],
    ['T-P1', 'south', 'plumbing']]) {
    await api.call('dispatcher', 'technicians', 'RegisterTechnician', {
      technician_id: id, name: id, home_zone_id: zone, skills: [{ skill, level: 3 }] });
  }
  step('zones, policy and three technicians set up by the dispatcher');

  // --- Technicians start their day on their own tokens ---
  const watch = {};
  for (const id of ['T-E1', 'T-E2', 'T-P1']) {
    await api.call(id, 'technicians', 'StartShift', { technician_id: id });
    watch[id] = new Watch(api, id);
  }
  await assert.rejects(api.call('T-E1', 'technicians', 'StartShift', { technician_id: 'T-E2' }),
    (err) => err.code === grpc.status.PERMISSION_DENIED);
  await assert.rejects(api.call('T-E1', 'requests', 'SubmitRequest', {}),
    (err) => err.code === grpc.status.PERMISSION_DENIED);
  step('shifts started; a technician cannot act for another or submit work');

  const submit = (key, extra = {}) => api.call('dispatcher', 'requests', 'SubmitRequest', {
    idempotency_key: key, zone_id: 'north', location: 'Library', category: 'lighting',
    required_skills: [{ skill: 'electrical', min_level: 2 }], urgency: 'URGENCY_NORMAL',
    estimated_minutes: 30, description: `job ${key}`, ...extra });

  // Waits for an offer of `id` on any electrician's stream; returns the tech.
  async function offeredTo(id) {
    for (let i = 0; i < 100; ++i) {
      for (const tech of ['T-E1', 'T-E2']) {
        if (watch[tech].updates.some(is('ASSIGNMENT_CHANGE_OFFERED', id))) return tech;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no offer of ${id}`);
  }
  const work = (tech, method, id, extra = {}) =>
    api.call(tech, 'technicians', method, { technician_id: tech, request_id: id, ...extra });

  // --- A job done from offer to completion ---
  const first = (await submit('r1')).request.request_id;
  const firstTech = await offeredTo(first);
  await work(firstTech, 'AcceptAssignment', first);
  await work(firstTech, 'StartWork', first);
  await work(firstTech, 'CompleteWork', first, { resolved: true, notes: 'replaced the ballast' });
  await watch[firstTech].next(is('ASSIGNMENT_CHANGE_COMPLETED', first));
  step(`${first} offered to ${firstTech}, accepted, started and completed`);

  // --- Both electricians busy, then a power cut preempts one ---
  const busy = {};
  for (const key of ['r2', 'r3']) {
    const id = (await submit(key)).request.request_id;
    const tech = await offeredTo(id);
    await work(tech, 'AcceptAssignment', id);
    await work(tech, 'StartWork', id);
    busy[tech] = id;
  }
  assert.deepEqual(Object.keys(busy).sort(), ['T-E1', 'T-E2']);
  step(`both electricians at work: ${JSON.stringify(busy)}`);

  const marks = { 'T-E1': watch['T-E1'].updates.length, 'T-E2': watch['T-E2'].updates.length };
  const alert = await api.call('trigger', 'alerts', 'RaiseAlert', {
    dedupe_key: 'north/power/e2e', kind: 'power_outage', zone_id: 'north', severity: 5,
    crew_size: 1, description: 'North campus lost power',
    required_skills: [{ skill: 'electrical', min_level: 2 }] });
  const emergency = alert.request_id;
  const again = await api.call('trigger', 'alerts', 'RaiseAlert', {
    dedupe_key: 'north/power/e2e', kind: 'power_outage', zone_id: 'north', severity: 5,
    description: 'North campus lost power' });
  assert.equal(again.request_id, emergency);
  assert.equal(again.duplicate, true);

  let displaced = null;
  for (let i = 0; i < 100 && !displaced; ++i) {
    for (const tech of ['T-E1', 'T-E2']) {
      if (watch[tech].updates.slice(marks[tech]).some(is('ASSIGNMENT_CHANGE_PREEMPTED'))) displaced = tech;
    }
    if (!displaced) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(displaced, 'an electrician was preempted');
  const other = displaced === 'T-E1' ? 'T-E2' : 'T-E1';
  assert.ok(!watch[other].updates.slice(marks[other]).some(is('ASSIGNMENT_CHANGE_PREEMPTED')),
    'only one technician was preempted');
  const bumped = busy[displaced];
  await watch[displaced].next(is('ASSIGNMENT_CHANGE_PREEMPTED', bumped), marks[displaced]);
  await watch[displaced].next(is('ASSIGNMENT_CHANGE_ASSIGNED', emergency), marks[displaced]);
  const bumpedNow = (await api.call('dispatcher', 'requests', 'GetRequest', { request_id: bumped })).request;
  assert.equal(bumpedNow.preemptions, 1);
  assert.equal(bumpedNow.preempted_by, emergency);
  step(`the power cut ${emergency} preempted ${displaced} off ${bumped}`);

  await work(displaced, 'StartWork', emergency);
  await work(displaced, 'CompleteWork', emergency, { resolved: true, notes: 'breaker reset' });
  await api.call('trigger', 'alerts', 'ResolveAlert', { dedupe_key: 'north/power/e2e' });
  step(`${displaced} fixed the power cut; the trigger resolved the alert`);

  // --- Feedback and stats ---
  await api.call('dispatcher', 'requests', 'RecordFeedback', { request_id: first, rating: 5, comment: 'quick' });
  await api.call('dispatcher', 'requests', 'RecordFeedback', { request_id: emergency, rating: 3, comment: 'dark for an hour' });
  let stats = await api.call('dispatcher', 'console', 'GetStats', {});
  assert.equal(stats.site.submitted, 4);
  assert.equal(stats.site.completed, 2);
  assert.equal(stats.site.resolved, 2);
  assert.equal(stats.site.feedback_count, 2);
  assert.equal(stats.site.feedback_average, 4);
  assert.equal(stats.site.resolution_rate, 1);
  const perTech = Object.fromEntries(stats.technicians.map((t) => [t.technician_id, t.kpis]));
  assert.equal(perTech[firstTech].completed + perTech[firstTech === 'T-E1' ? 'T-E2' : 'T-E1'].completed, 2);
  step('feedback recorded; site stats: 4 submitted, 2 completed and resolved, feedback 4.0');

  // --- kill -9, restart, streams resume ---
  const openBefore = {};
  for (const tech of ['T-E1', 'T-E2']) {
    const { technician } = await api.call('dispatcher', 'technicians', 'GetTechnician', { technician_id: tech });
    openBefore[tech] = technician.request_id || '';
  }
  const port = address.split(':').pop();
  await daemon.kill9();
  for (const tech of Object.keys(watch)) await watch[tech].ended_();
  step('dispatchd killed with SIGKILL; every stream saw it end');

  address = await daemon.start(`127.0.0.1:${port}`);
  api.close();
  api = new Api(address);
  const digest = await api.call('dispatcher', 'admin', 'GetStateDigest', {});
  assert.ok(digest.last_sequence > 0);
  for (const tech of Object.keys(watch)) {
    const mark = watch[tech].updates.length;
    watch[tech].open(api);
    if (openBefore[tech]) {
      const snap = await watch[tech].next((u) => u.snapshot, mark);
      assert.equal(snap.request.request_id, openBefore[tech]);
    }
    // Resumed means: each open job once, as the snapshot, nothing replayed twice.
    await new Promise((r) => setTimeout(r, 300));
    const since = watch[tech].updates.slice(mark);
    const ids = since.filter((u) => u.snapshot).map((u) => u.request.request_id);
    assert.equal(new Set(ids).size, ids.length, `${tech}: a job shown twice after the restart`);
  }
  stats = await api.call('dispatcher', 'console', 'GetStats', {});
  assert.equal(stats.site.submitted, 4);
  assert.equal(stats.site.completed, 2);
  step('restarted on the same data: streams resumed with each open job once; stats unchanged');

  // Finish the day: whoever holds the remaining two jobs completes them.
  for (const id of Object.values(busy)) {
    let holder = null;
    for (let i = 0; i < 100 && !holder; ++i) {
      const { request } = await api.call('dispatcher', 'requests', 'GetRequest', { request_id: id });
      if (['REQUEST_STATE_OFFERED', 'REQUEST_STATE_ASSIGNED', 'REQUEST_STATE_IN_PROGRESS'].includes(request.state)) {
        holder = request.technician_id;
        if (request.state === 'REQUEST_STATE_OFFERED') await work(holder, 'AcceptAssignment', id);
        if (request.state !== 'REQUEST_STATE_IN_PROGRESS') await work(holder, 'StartWork', id);
        await work(holder, 'CompleteWork', id, { resolved: true });
      } else {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.ok(holder, `${id} was picked up again`);
  }
  stats = await api.call('dispatcher', 'console', 'GetStats', {});
  assert.equal(stats.site.completed, 4);
  assert.equal(stats.site.open, 0);
  step('the day ends with all four jobs completed');

  for (const tech of Object.keys(watch)) watch[tech].cancel();
  api.close();
  await daemon.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  step('PASS');
}

main().catch((err) => {
  console.error(`e2e: FAIL: ${err.stack || err}`);
  process.exit(1);
});
