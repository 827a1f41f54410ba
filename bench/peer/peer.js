#!/usr/bin/env node
/*
 * peer.js: the peer pipeline of `make bench-peer` (issue 15), the queue a competent team
 * would glue together instead of Kinerja: BullMQ 5 on the same Redis, a Worker with
 * concurrency 50 and one INSERT per job into the same PostgreSQL (its own table,
 * peer_events: the event JSON, id primary key, so a retried job is stored once).
 *
 *   node peer.js run [--events N] [--clients C] [--batch B] [--window W]
 *                    [--workers P] [--concurrency K] [--mode insert|batched]
 *                    [--redis URL] [--pg DSN] [--queue NAME] [--timeout-s S] [--json]
 *
 * `run` empties peer_events and the queue (so never point two runs at one database and
 * queue at once), forks P worker processes (`peer.js worker`),
 * then C simulated kiosks (one Queue, so one Redis connection, each) send N
 * citizen_feedback events, the same mix `kinerja bench` makes (tools/cmd_bench.c: a
 * fresh uuid4 id, source kiosk:bench-NN, ts now, rating 1 + k % 4, unit and employee
 * from the first 256 employees by NIP), with addBulk in chunks of B, W chunks in flight
 * per kiosk. An event counts as acked when its addBulk resolved (Redis holds it; the
 * same AOF everysec as Kinerja's acks). Reported, as `kinerja bench` does: intake
 * acks/s (start to last ack) and end to end events/s (start until PostgreSQL holds all
 * N, polled with count(*) every 50 ms).
 *
 * --mode batched is the variant a team would try next (reported separately, not the
 * headline): the processor parks each job and one multi-row INSERT ... SELECT FROM
 * unnest(...) stores up to `concurrency` parked jobs; every job completes only after
 * that commit. Default concurrency there is 500.
 *
 * Nothing lost on this side either: jobs carry jobId = event id (an addBulk retried
 * after an error adds nothing twice), attempts 5 with exponential backoff, failed jobs
 * are kept (removeOnFail false) and counted; completed jobs are removed (the row in
 * PostgreSQL is the record).
 */
'use strict';

const { Queue, Worker } = require('bullmq');
const { Client, Pool } = require('pg');
const { fork } = require('child_process');
const crypto = require('crypto');

const DEFAULTS = {
    events: 200000,
    clients: 8,
    batch: 100,
    window: 4,
    workers: 1,
    concurrency: 0, /* 0: 50 for insert, 500 for batched */
    mode: 'insert',
    redis: 'redis://127.0.0.1:6390/0',
    pg: 'host=127.0.0.1 port=5490 dbname=kinerja user=kinerja',
    queue: 'kinerja-peer',
    'timeout-s': 600,
    json: false,
};
const SAMPLE_ORG = 256;
const READY_TIMEOUT_MS = 10000; /* ioredis retries a refused connection for ever */
const POLL_MS = 50;
const ADD_RETRY_MAX_MS = 2000;

const TABLE_SQL = `CREATE TABLE IF NOT EXISTS peer_events (
    id        uuid PRIMARY KEY,
    type      text NOT NULL,
    source    text NOT NULL,
    ts        timestamptz NOT NULL,
    employee  text,
    unit      text,
    payload   jsonb NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now()
)`;
const INSERT_SQL = `INSERT INTO peer_events (id, type, source, ts, employee, unit, payload)
    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`;
const INSERT_BATCH_SQL = `INSERT INTO peer_events (id, type, source, ts, employee, unit, payload)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::jsonb[])
    ON CONFLICT (id) DO NOTHING`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* p, or a rejection naming what did not answer within READY_TIMEOUT_MS */
function ready(p, what) {
    let t;
    const late = new Promise((_, reject) => {
        t = setTimeout(() => reject(new Error(`${what} did not answer within ${READY_TIMEOUT_MS / 1000} s`)),
            READY_TIMEOUT_MS);
    });
    return Promise.race([p, late]).finally(() => clearTimeout(t));
}

function die(msg) {
    process.stderr.write(`peer: ${msg}\n`);
    process.exit(1);
}

function parseArgs(argv) {
    const o = { ...DEFAULTS };
    const numeric = ['events', 'clients', 'batch', 'window', 'workers', 'concurrency', 'timeout-s'];
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--json') {
            o.json = true;
            continue;
        }
        if (!a.startsWith('--') || !(a.slice(2) in DEFAULTS) || i + 1 >= argv.length)
            die(`unexpected argument '${a}' (see the comment at the top of peer.js)`);
        const key = a.slice(2), v = argv[++i];
        if (numeric.includes(key)) {
            const n = Number(v);
            if (!Number.isInteger(n) || n < 0 || n > 100000000 || (n === 0 && key !== 'concurrency'))
                die(`${a}: must be a positive whole number, not '${v}'`);
            o[key] = n;
        } else {
            o[key] = v;
        }
    }
    if (o.mode !== 'insert' && o.mode !== 'batched')
        die(`--mode: insert or batched, not '${o.mode}'`);
    if (!o.concurrency)
        o.concurrency = o.mode === 'batched' ? 500 : 50;
    return o;
}

/* redis://[[user]:password@]host[:port][/db] -> ioredis options */
function redisOptions(url) {
    let u;
    try {
        u = new URL(url);
    } catch (e) {
        die(`--redis: cannot read '${url}' as a URL`);
    }
    if (u.protocol !== 'redis:')
        die(`--redis: '${url}' is not a redis:// URL`);
    const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
    if (!Number.isInteger(db))
        die(`--redis: '${url}': the database must be a number`);
    return {
        host: u.hostname || '127.0.0.1',
        port: u.port ? Number(u.port) : 6379,
        db,
        username: u.username ? decodeURIComponent(u.username) : undefined,
        password: u.password ? decodeURIComponent(u.password) : undefined,
        maxRetriesPerRequest: null, /* what BullMQ asks of a Worker's connection */
    };
}

/* libpq key=value connection string (the form postgres.dsn takes) -> pg options */
function pgOptions(dsn) {
    const o = {};
    for (const kv of dsn.trim().split(/\s+/)) {
        const eq = kv.indexOf('=');
        if (eq <= 0)
            die(`--pg: cannot read '${kv}' in '${dsn}' (key=value pairs)`);
        const k = kv.slice(0, eq), v = kv.slice(eq + 1);
        if (k === 'host' || k === 'hostaddr')
            o.host = v;
        else if (k === 'port')
            o.port = Number(v);
        else if (k === 'dbname')
            o.database = v;
        else if (k === 'user')
            o.user = v;
        else if (k === 'password')
            o.password = v;
    }
    return o;
}

/* ---- the worker process ------------------------------------------------------------- */

function eventRow(e) {
    return [e.id, e.type, e.source, new Date(e.ts), e.employee ?? null, e.unit ?? null, JSON.stringify(e)];
}

/* Insert mode: the processor is one INSERT. */
function insertProcessor(pool) {
    return async (job) => {
        await pool.query(INSERT_SQL, eventRow(job.data));
    };
}

/* Batched mode: park the job; one multi-row INSERT stores what is parked (at most `max`)
 * and settles every parked job's promise after its commit. */
function batchedProcessor(pool, max) {
    let parked = [];
    let timer = null;
    const flush = () => {
        timer = null;
        const take = parked;
        parked = [];
        if (!take.length)
            return;
        const cols = [[], [], [], [], [], [], []];
        for (const p of take) {
            const row = eventRow(p.data);
            for (let c = 0; c < cols.length; c++)
                cols[c].push(row[c]);
        }
        pool.query(INSERT_BATCH_SQL, cols).then(
            () => take.forEach((p) => p.resolve()),
            (err) => take.forEach((p) => p.reject(err)));
    };
    return (job) => new Promise((resolve, reject) => {
        parked.push({ data: job.data, resolve, reject });
        if (parked.length >= max)
            flush();
        else if (!timer)
            timer = setTimeout(flush, 2);
    });
}

async function workerMain(o) {
    /* insert mode: one connection per concurrent job, as a team would size it, within
     * what PostgreSQL's max_connections (100) leaves for P worker processes */
    const max = o.mode === 'batched' ? 4 : Math.min(o.concurrency, Math.floor(80 / o.workers));
    const pool = new Pool({ ...pgOptions(o.pg), max });
    pool.on('error', (err) => process.stderr.write(`peer worker: postgres: ${err.message}\n`));
    const processor = o.mode === 'batched' ? batchedProcessor(pool, o.concurrency) : insertProcessor(pool);
    const worker = new Worker(o.queue, processor, {
        connection: redisOptions(o.redis),
        concurrency: o.concurrency,
    });
    worker.on('error', (err) => process.stderr.write(`peer worker: ${err.message}\n`));
    await ready(worker.waitUntilReady(), 'redis');
    process.send({ ready: true });
    process.on('message', async (m) => {
        if (m && m.stop) {
            await worker.close();
            await pool.end();
            process.exit(0);
        }
    });
}

/* ---- the producer: simulated kiosks --------------------------------------------------- */

function makeEvent(index, k, org) {
    const e = {
        v: 1,
        id: crypto.randomUUID(),
        type: 'citizen_feedback',
        source: `kiosk:bench-${String(index).padStart(2, '0')}`,
        ts: Date.now(),
        unit: org.length ? org[k % org.length].unit : 'BENCH',
        rating: 1 + (k % 4),
    };
    if (org.length)
        e.employee = org[k % org.length].nip;
    return e;
}


/* One kiosk: `count` events in chunks of `batch`, `window` chunks in flight. An addBulk
 * that fails is sent again (same job ids: nothing is added twice) with backoff. */
async function kiosk(queue, index, count, o, org, stats) {
    let made = 0;
    const sendChunk = async () => {
        const n = Math.min(o.batch, count - made);
        const jobs = [];
        for (let i = 0; i < n; i++) {
            const e = makeEvent(index, made++, org);
            jobs.push({ name: e.type, data: e, opts: { jobId: e.id } });
        }
        for (let delay = 50;; delay = Math.min(delay * 2, ADD_RETRY_MAX_MS)) {
            try {
                await queue.addBulk(jobs);
                stats.acked += n;
                return;
            } catch (err) {
                stats.retries++;
                stats.lastError = err.message;
                await sleep(delay * (0.5 + Math.random()));
            }
        }
    };
    const lane = async () => {
        while (made < count)
            await sendChunk();
    };
    const lanes = [];
    for (let w = 0; w < o.window; w++)
        lanes.push(lane());
    await Promise.all(lanes);
    return Date.now();
}

function startWorkers(o) {
    const args = ['worker', '--redis', o.redis, '--pg', o.pg, '--queue', o.queue, '--mode', o.mode, '--workers', String(o.workers), '--concurrency',
        String(o.concurrency)];
    return Promise.all(Array.from({ length: o.workers }, () => new Promise((resolve, reject) => {
        const child = fork(__filename, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        child.once('message', (m) => (m && m.ready ? resolve(child) : reject(new Error('worker did not start'))));
        child.once('exit', (code) => reject(new Error(`worker exited at start (status ${code})`)));
    })));
}

function stopWorkers(children) {
    return Promise.all(children.map((c) => new Promise((resolve) => {
        if (c.exitCode !== null)
            return resolve();
        const t = setTimeout(() => c.kill('SIGKILL'), 20000);
        c.once('exit', () => {
            clearTimeout(t);
            resolve();
        });
        c.send({ stop: true });
    })));
}

async function runMain(o) {
    const db = new Client(pgOptions(o.pg));
    try {
        await db.connect();
    } catch (err) {
        die(`postgres (${o.pg}): ${err.message}; is the stack up?`);
    }
    await db.query(TABLE_SQL);
    await db.query('TRUNCATE peer_events');
    const org = (await db.query('SELECT nip, unit FROM employees ORDER BY nip LIMIT $1::int', [SAMPLE_ORG])).rows;
    if (!org.length)
        process.stderr.write('peer: no organisation imported: events go to unit BENCH (stored all the same)\n');

    const ropts = redisOptions(o.redis);
    const defaultJobOptions = {
        removeOnComplete: true,
        removeOnFail: false,
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
    };
    const admin = new Queue(o.queue, { connection: ropts });
    admin.on('error', () => {});
    try {
        await ready(admin.waitUntilReady(), 'redis');
        await admin.obliterate({ force: true }); /* whatever an earlier run left */
    } catch (err) {
        die(`redis (${o.redis}): ${err.message}; is the stack up?`);
    }

    let children;
    try {
        children = await startWorkers(o);
    } catch (err) {
        die(`${err.message}`);
    }
    const queues = [];
    for (let i = 0; i < o.clients; i++) {
        const q = new Queue(o.queue, { connection: ropts, defaultJobOptions });
        q.on('error', () => {});
        await q.waitUntilReady();
        queues.push(q);
    }

    if (!o.json)
        process.stderr.write(`peer: ${o.events} events, ${o.clients} clients, ${o.batch} per addBulk -> BullMQ ` +
            `queue ${o.queue} (${o.workers} worker process(es), concurrency ${o.concurrency}, mode ${o.mode})\n`);
    const stats = { acked: 0, retries: 0, lastError: '' };
    const start = Date.now();
    const ends = await Promise.all(queues.map((q, i) => kiosk(q, i,
        Math.floor(o.events / o.clients) + (i < o.events % o.clients ? 1 : 0), o, org, stats)));
    const intakeEnd = Math.max(...ends);

    let e2eEnd = 0, stored = 0;
    for (;;) {
        stored = Number((await db.query('SELECT count(*) AS n FROM peer_events')).rows[0].n);
        const now = Date.now();
        if (stored >= o.events) {
            e2eEnd = now;
            break;
        }
        if (now - start > o['timeout-s'] * 1000) {
            process.stderr.write(`peer: only ${stored} of ${o.events} events stored after ${o['timeout-s']} s\n`);
            break;
        }
        await sleep(POLL_MS);
    }
    const counts = await admin.getJobCounts('failed', 'waiting', 'active', 'delayed');
    await stopWorkers(children);
    await Promise.all(queues.map((q) => q.close()));
    await admin.obliterate({ force: true });
    await admin.close();
    await db.end();

    const intakeS = (intakeEnd - start) / 1000, e2eS = e2eEnd ? (e2eEnd - start) / 1000 : 0;
    const r = {
        events: o.events,
        clients: o.clients,
        batch: o.batch,
        workers: o.workers,
        concurrency: o.concurrency,
        mode: o.mode,
        acked: stats.acked,
        stored,
        add_retries: stats.retries,
        failed_jobs: counts.failed,
        intake_per_s: intakeS > 0 ? stats.acked / intakeS : 0,
        e2e_per_s: e2eS > 0 ? stored / e2eS : 0,
        bullmq: require('bullmq/package.json').version,
        pg: require('pg/package.json').version,
        node: process.versions.node,
    };
    if (o.json) {
        process.stdout.write(JSON.stringify(r) + '\n');
    } else {
        process.stdout.write(`events sent           ${o.events} (${stats.acked} acked, ${stats.retries} addBulk retries)\n`);
        process.stdout.write(`intake (acks/s)       ${r.intake_per_s.toFixed(0).padStart(10)}\n`);
        process.stdout.write(`end-to-end (stored/s) ${r.e2e_per_s.toFixed(0).padStart(10)}   ` +
            `(${stored} stored, ${counts.failed} failed jobs)\n`);
    }
    if (stats.lastError)
        process.stderr.write(`peer: last addBulk error: ${stats.lastError}\n`);
    process.exit(e2eEnd && !counts.failed ? 0 : 1);
}

const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'run')
    runMain(parseArgs(rest)).catch((err) => die(err.stack || err.message));
else if (cmd === 'worker' && process.send)
    workerMain(parseArgs(rest)).catch((err) => die(`worker: ${err.stack || err.message}`));
else
    die('usage: node peer.js run [options] (see the comment at the top of peer.js)');
