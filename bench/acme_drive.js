// bench/acme_drive.js: complete ACME orders per second against one server,
// driven by npm `acme-client` (started by bench/acme.sh, which installs the
// package into bench/cache/acme-client and runs this with NODE_PATH there).
//
//   node acme_drive.js --dir URL --ca ROOT.pem --n N --warmup S --duration S
//       [--http01 PORT] [--label NAME] [--pids PID,...] [--backoff-min MS]
//       [--nonce-pool 0|1]
//
// One Node process, one account (ECDSA P-256), N concurrent order loops.
// Each order: a new P-256 key and a CSR for a name no other order uses
// (o<loop>-<seq>-<run>.acme.bench.test), then acme-client's auto():
// newOrder, the authorization, the http-01 challenge (answered by the HTTP
// server below on 127.0.0.1:PORT, in a thread of its own, which the ACME
// server under test is configured to connect to; skipChallengeVerification,
// so the client never checks DNS or HTTP itself), finalize, and the
// certificate download; the
// certificate is then parsed and its subjectAltName checked. An order is
// timed from newOrder to the parsed certificate (the key and CSR are made
// before). Orders completing in the WARMUP seconds after the start are
// not counted; those completing in the DURATION seconds after are.
// Loops stop starting orders at the end and those in flight are let finish
// (not counted).
//
// acme-client polls a challenge or an order that is not yet valid with
// backoff min*2^k ms (its default min is 5000 ms, which would handicap a
// server that validates or issues asynchronously, like pebble): here
// --backoff-min (default 5) ms, at most 1000 ms, for every server.
//
// Prints one JSON line on stdout: orders, rate, latency percentiles,
// errors (and a few messages), badNonce retries, status polls, HTTP
// requests per order, and CPU seconds of this process and of --pids (read
// from /proc over the measured window).
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const tls = require('tls');
const nodeCrypto = require('crypto');
const { Worker } = require('worker_threads');
const acme = process.argv[2] === '--line' || process.argv[2] === '--table' ? null : require('acme-client');

const RESPONDER = `
const http = require('http');
const { parentPort, workerData: { port, thumbprint, hits } } = require('worker_threads');
const P = '/.well-known/acme-challenge/';
const srv = http.createServer((req, res) => {
  if (req.url.startsWith(P) && req.url.length > P.length) {
    Atomics.add(hits, 0, 1);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    res.end(req.url.slice(P.length) + '.' + thumbprint);
  } else { res.writeHead(404); res.end(); }
});
srv.keepAliveTimeout = 5000;
srv.listen(port, '127.0.0.1', () => parentPort.postMessage('up'));
`;

function args() {
  const a = { n: 1, warmup: 3, duration: 15, http01: 0, label: 'server', pids: '', backoffMin: 5, noncePool: 0 };
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; i += 2) {
    const k = v[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(k in a) && !['dir', 'ca'].includes(k)) throw new Error(`unknown option ${v[i]}`);
    a[k] = v[i + 1];
  }
  if (!a.dir || !a.ca) throw new Error('--dir and --ca are required');
  for (const k of ['n', 'warmup', 'duration', 'http01', 'backoffMin', 'noncePool']) a[k] = Number(a[k]);
  return a;
}

const CLK_TCK = 100; // Linux USER_HZ
function pidCpu(pids) {
  let ticks = 0;
  for (const p of pids) {
    try {
      const s = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
    } catch (e) { /* gone */ }
  }
  return ticks / CLK_TCK;
}

// the machine's busy CPU seconds (all cores, every process), from /proc/stat
function machineCpu() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] || 0)) / CLK_TCK;
  } catch (e) { return 0; }
}

function pct(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main() {
  const o = args();
  const pids = o.pids ? String(o.pids).split(',').filter(Boolean) : [];
  const run = nodeCrypto.randomBytes(3).toString('hex');

  // counters, read at the start and the end of the measured window
  const c = { requests: 0, badNonce: 0, polls: 0 };
  let conns = 0;
  acme.setLogger((m) => {
    if (m.startsWith('Caught invalid nonce')) c.badNonce++;
    else if (m.startsWith('Promise rejected attempt')) c.polls++;
  });
  acme.axios.interceptors.request.use((cfg) => { c.requests++; return cfg; });
  // keep-alive connections, trusting only the server's root; one TLS
  // context for all of them (a `ca` option alone makes Node build a new
  // context, parsing the root, for every connection); sessions resumed
  const secureContext = tls.createSecureContext({ ca: fs.readFileSync(o.ca) });
  const agent = new https.Agent({ keepAlive: true, secureContext, maxCachedSessions: 1000 });
  const createConnection = agent.createConnection.bind(agent);
  agent.createConnection = (...a) => { conns++; return createConnection(...a); };
  acme.axios.defaults.httpsAgent = agent;

  const client = new acme.Client({
    directoryUrl: o.dir,
    accountKey: await acme.crypto.createPrivateEcdsaKey('P-256'),
    backoffAttempts: 20,
    backoffMin: o.backoffMin,
    backoffMax: 1000,
  });
  await client.createAccount({ termsOfServiceAgreed: true, contact: ['mailto:bench@example.test'] });

  // http-01 responder in its own thread, so it answers at once whatever the
  // order loops are doing: the key authorization of any token is
  // token.thumbprint (one account), so it needs no token list
  const thumbprint = (await client.getChallengeKeyAuthorization({ type: 'http-01', token: 't' })).slice(2);
  const hits = new Int32Array(new SharedArrayBuffer(4));
  let responder = null;
  if (o.http01) {
    responder = new Worker(RESPONDER, { eval: true, workerData: { port: o.http01, thumbprint, hits } });
    await new Promise((ok, ko) => { responder.once('message', ok); responder.once('error', ko); });
  }

  // --nonce-pool 1: every signed request takes the Replay-Nonce of an
  // earlier answer when it has one (as lego and certbot do) instead of
  // acme-client's HEAD newNonce before each (its own behaviour, the default)
  const pool = [];
  if (o.noncePool) {
    const h = client.http;
    const signed = h.signedRequest.bind(h);
    h.signedRequest = async (url, payload, opts = {}, attempts = 0) => {
      const k = opts.nonce ? opts : { ...opts, nonce: pool.pop() || null };
      const r = await signed(url, payload, k, attempts);
      if (r.headers['replay-nonce']) pool.push(r.headers['replay-nonce']);
      return r;
    };
  }

  const t0 = Date.now();
  const tStart = t0 + o.warmup * 1000;
  const tEnd = tStart + o.duration * 1000;
  const lat = [];
  let errors = 0;
  const errSamples = new Map();
  let warmOrders = 0;
  let snap0 = null;
  let snap1 = null;
  const snapshot = () => ({
    ...c, served: Atomics.load(hits, 0), conns, client: (() => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; })(),
    server: pidCpu(pids), machine: machineCpu(), t: Date.now(),
  });
  const t1 = setTimeout(() => { snap0 = snapshot(); }, tStart - Date.now());
  const t2 = setTimeout(() => { snap1 = snapshot(); }, tEnd - Date.now());

  async function loop(id) {
    let seq = 0;
    while (Date.now() < tEnd) {
      const name = `o${id}-${seq++}-${run}.acme.bench.test`;
      try {
        const key = await acme.crypto.createPrivateEcdsaKey('P-256');
        const [, csr] = await acme.crypto.createCsr({ commonName: name, altNames: [name] }, key);
        const b = process.hrtime.bigint();
        const pem = await client.auto({
          csr,
          termsOfServiceAgreed: true,
          challengePriority: ['http-01'],
          skipChallengeVerification: true,
          challengeCreateFn: async (authz, ch, keyAuth) => {
            if (keyAuth !== `${ch.token}.${thumbprint}`) throw new Error('unexpected key authorization');
          },
          challengeRemoveFn: async () => {},
        });
        const leaf = new nodeCrypto.X509Certificate(acme.crypto.splitPemChain(pem)[0]);
        if (!(leaf.subjectAltName || '').split(', ').includes(`DNS:${name}`)) {
          throw new Error(`certificate without DNS:${name}: ${leaf.subjectAltName}`);
        }
        const ms = Number(process.hrtime.bigint() - b) / 1e6;
        const now = Date.now();
        if (now >= tStart && now < tEnd) lat.push(ms);
        else if (now < tStart) warmOrders++;
      } catch (e) {
        const now = Date.now();
        if (now >= tStart && now < tEnd) {
          errors++;
          const m = String(e && e.message ? e.message : e).slice(0, 200);
          errSamples.set(m, (errSamples.get(m) || 0) + 1);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  const loops = [];
  for (let i = 0; i < o.n; i++) loops.push(loop(i));
  // orders still in flight at the end get 60 s to finish; then we report anyway
  await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, (tEnd - Date.now()) + 60000).unref())]);
  clearTimeout(t1); clearTimeout(t2);
  if (!snap0) snap0 = snapshot();
  if (!snap1) snap1 = snapshot();
  if (responder) await responder.terminate();

  lat.sort((x, y) => x - y);
  const secs = (snap1.t - snap0.t) / 1000;
  const n = lat.length;
  const per = (k) => (n ? (snap1[k] - snap0[k]) / n : null);
  const out = {
    label: o.label, n: o.n, warmup: o.warmup, duration: o.duration, secs,
    orders: n, rate: n / secs, warmOrders,
    p50: pct(lat, 50), p90: pct(lat, 90), p99: pct(lat, 99), max: n ? lat[n - 1] : null,
    errors, errSamples: Object.fromEntries([...errSamples].slice(0, 5)),
    badNonce: snap1.badNonce - snap0.badNonce,
    polls: snap1.polls - snap0.polls,
    requestsPerOrder: per('requests'),
    http01PerOrder: per('served'),
    connectionsPerOrder: per('conns'),
    clientCpuMsPerOrder: n ? (1000 * (snap1.client - snap0.client)) / n : null,
    serverCpuMsPerOrder: n && pids.length ? (1000 * (snap1.server - snap0.server)) / n : null,
    clientCpuCores: (snap1.client - snap0.client) / secs,
    serverCpuCores: pids.length ? (snap1.server - snap0.server) / secs : null,
    // cores busy with anything else on the machine (other jobs) meanwhile
    otherCpuCores: pids.length ? ((snap1.machine - snap0.machine) - (snap1.client - snap0.client)
      - (snap1.server - snap0.server)) / secs : null,
    acmeClient: require('acme-client/package.json').version,
    node: process.version,
    noncePool: o.noncePool,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(n > 0 ? 0 : 1);
}

// --line FILE: one run's result as a line on stderr (for the progress)
function line(file) {
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  const f = (v, d = 1) => (v === null ? '-' : v.toFixed(d));
  console.error(`    ${r.orders} orders in ${f(r.secs)} s: ${f(r.rate)}/s, p50 ${f(r.p50)} ms, p99 ${f(r.p99)} ms, `
    + `${r.errors} errors, ${r.badNonce} badNonce, ${r.polls} polls, ${f(r.requestsPerOrder)} requests and `
    + `${f(r.connectionsPerOrder)} new TLS connections per order, CPU ms/order server ${f(r.serverCpuMsPerOrder)} `
    + `client ${f(r.clientCpuMsPerOrder)}; cores busy with other processes ${f(r.otherCpuCores, 2)}`);
  for (const [m, k] of Object.entries(r.errSamples)) console.error(`      ${k}x ${m}`);
}

// --table DIR TARGET N...: the side-by-side table of DIR/res-{certkeep,pebble}-N
function table(dir, target, ns) {
  const f = (v, d = 1) => (v === null || v === undefined ? '-' : v.toFixed(d));
  const w = [3, 9, 8, 8, 5, 7, 9, 8, 8, 5, 7, 7, 7];
  const row = (...c) => console.log(c.map((x, i) => String(x).padStart(w[i])).join(' '));
  const res = (s, n) => JSON.parse(fs.readFileSync(`${dir}/res-${s}-${n}`, 'utf8'));
  console.log('    |              certkeep                     |              pebble                      |');
  row('N', 'orders/s', 'p50 ms', 'p99 ms', 'err', 'cpu ms', 'orders/s', 'p50 ms', 'p99 ms', 'err', 'cpu ms', 'ratio', `${target}x`);
  let all = true;
  for (const n of ns) {
    const c = res('certkeep', n);
    const p = res('pebble', n);
    const ratio = p.rate > 0 ? c.rate / p.rate : Infinity;
    const met = ratio >= Number(target);
    all = all && met;
    row(n, f(c.rate), f(c.p50), f(c.p99), c.errors, f(c.serverCpuMsPerOrder), f(p.rate), f(p.p50), f(p.p99),
      p.errors, f(p.serverCpuMsPerOrder), `${f(ratio, 2)}x`, met ? 'met' : 'MISSED');
  }
  console.log("(cpu ms: the server process's CPU per counted order)");
  console.log();
  console.log('per order (certkeep / pebble):');
  for (const n of ns) {
    const c = res('certkeep', n);
    const p = res('pebble', n);
    console.log(`  N=${n}: requests ${f(c.requestsPerOrder)} / ${f(p.requestsPerOrder)}, `
      + `new TLS connections ${f(c.connectionsPerOrder)} / ${f(p.connectionsPerOrder)}, `
      + `badNonce retries ${c.badNonce} / ${p.badNonce} and status polls ${c.polls} / ${p.polls} in all, `
      + `client CPU ms ${f(c.clientCpuMsPerOrder)} / ${f(p.clientCpuMsPerOrder)}; cores busy: `
      + `server ${f(c.serverCpuCores, 2)} / ${f(p.serverCpuCores, 2)}, client ${f(c.clientCpuCores, 2)} / ${f(p.clientCpuCores, 2)}, `
      + `other processes ${f(c.otherCpuCores, 2)} / ${f(p.otherCpuCores, 2)}`);
  }
  console.log();
  console.log(`target: certkeep >= ${target}x pebble's rate at every N: ${all ? 'met' : 'MISSED'}`);
}

if (process.argv[2] === '--line') line(process.argv[3]);
else if (process.argv[2] === '--table') table(process.argv[3], process.argv[4], process.argv.slice(5));
else main().catch((e) => { console.error(`acme_drive: ${e && e.stack ? e.stack : e}`); process.exit(1); });
