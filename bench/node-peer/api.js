// The Node stack the backend replaces, as a benchmark peer for the API: express + pg (Debian's
// node-express and node-pg; NODE_PATH, see README.md), with the backend's SQL, validation,
// answers and error shapes for the endpoints bench/run.sh loads:
//   POST /auth/login, GET /accounts (with balances), GET /transactions (filtered page),
//   POST /transactions.
// Sessions are the backend's HS256 JWTs (same JWT_SECRET), so one token works on both.
// Passwords: Debian ships no argon2 module for Node, so login verifies `$scrypt$` hashes
// (crypto.scrypt, N=2^14 r=8 p=1: 16 MiB, close to argon2id's 19 MiB at t=2); bench/run.sh seeds
// the login user's hash in that form. Billing is off (SUBSCRIPTIONS_ENABLED=false): everyone
// is subscribed. One worker per core (cluster.js); DATABASE_MAX_CONNECTIONS (default 10) is
// split between the workers, as the backend's pool holds that many in total.
'use strict';
const crypto = require('node:crypto');
const os = require('node:os');
const serve = require('./cluster');

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;
const MAX_DESCRIPTION_CHARS = 1000;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    Object.assign(this, { status, code, field });
  }
}
const validation = (field, message) => new ApiError(422, 'validation_failed', `${field} ${message}`, field);
const unauthorized = () => new ApiError(401, 'unauthorized', 'missing or invalid session token');

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

function makeJwt(secret, ttlSeconds) {
  const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'HS256' }));
  const sign = (data) => crypto.createHmac('sha256', secret).update(data).digest();
  return {
    issue(userId) {
      const iat = Math.floor(Date.now() / 1000);
      const body = `${header}.${b64url(JSON.stringify({ sub: userId, iat, exp: iat + ttlSeconds }))}`;
      return `${body}.${b64url(sign(body))}`;
    },
    // The user id of a valid, unexpired HS256 token, or null (30 s leeway, as the backend).
    verify(token) {
      const parts = token.split('.');
      if (parts.length !== 3) return null;
      const [h, p, s] = parts;
      const given = Buffer.from(s, 'base64url');
      const want = sign(`${h}.${p}`);
      if (given.length !== want.length || !crypto.timingSafeEqual(given, want)) return null;
      try {
        if (JSON.parse(Buffer.from(h, 'base64url')).alg !== 'HS256') return null;
        const claims = JSON.parse(Buffer.from(p, 'base64url'));
        const now = Date.now() / 1000;
        if (typeof claims.exp !== 'number' || claims.exp + 30 < now) return null;
        if (typeof claims.nbf === 'number' && claims.nbf - 30 > now) return null;
        return typeof claims.sub === 'string' && UUID_RE.test(claims.sub) ? claims.sub : null;
      } catch {
        return null;
      }
    },
  };
}

// `$scrypt$N=16384,r=8,p=1$<salt b64>$<hash b64>`
function verifyPassword(password, stored) {
  return new Promise((resolve) => {
    const m = /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([^$]+)\$([^$]+)$/.exec(stored || '');
    if (!m) return resolve(false);
    const [N, r, p] = [m[1], m[2], m[3]].map(Number);
    const salt = Buffer.from(m[4], 'base64');
    const want = Buffer.from(m[5], 'base64');
    crypto.scrypt(password, salt, want.length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, got) =>
      resolve(!err && crypto.timingSafeEqual(got, want)));
  });
}

const parseDate = (field, s) => {
  const t = String(s).trim();
  if (!DATE_RE.test(t) || Number.isNaN(Date.parse(t))) throw validation(field, 'must be a date like 2026-01-31');
  return t;
};
const encodeCursor = (date, id) => Buffer.from(`${date}/${id}`).toString('hex');
function decodeCursor(s) {
  const bad = validation('cursor', 'is not a cursor returned by this API');
  if (!/^([0-9a-f]{2})+$/i.test(s)) throw bad;
  const [date, id, extra] = Buffer.from(s, 'hex').toString('utf8').split('/');
  if (extra !== undefined || !DATE_RE.test(date || '') || !UUID_RE.test(id || '')) throw bad;
  return [date, id];
}

function balance(kind, debits, credits) {
  return kind === 'asset' || kind === 'expense' ? debits - credits : credits - debits;
}

function transaction(r) {
  return {
    id: r.id,
    date: r.date,
    amount_cents: Number(r.amount_cents),
    description: r.description,
    debit_account_id: r.debit_account_id,
    credit_account_id: r.credit_account_id,
    created_at: r.created_at,
  };
}

function makeApp() {
  const express = require('express');
  const pg = require('pg');
  // date stays 'YYYY-MM-DD' (not a local-midnight Date), as the backend answers it.
  pg.types.setTypeParser(1082, (v) => v);
  const workers = Number(process.env.NODE_WORKERS || os.availableParallelism());
  const max = Math.max(1, Math.floor(Number(process.env.DATABASE_MAX_CONNECTIONS || 10) / workers));
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max });
  const secret = process.env.JWT_SECRET;
  if (!secret || secret.length < 32) throw new Error('JWT_SECRET must be at least 32 bytes');
  const jwt = makeJwt(secret, 24 * 3600);

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(express.json({ limit: '64kb' }));
  const route = (fn) => (req, res, next) => fn(req, res).catch(next);
  const auth = (req) => {
    const m = /^Bearer (.+)$/.exec(req.get('authorization') || '');
    const id = m && jwt.verify(m[1]);
    if (!id) throw unauthorized();
    return id;
  };

  app.get('/healthz', (_req, res) => res.type('text/plain').send('1'));

  app.post('/auth/login', route(async (req, res) => {
    const { email, password } = req.body || {};
    if (typeof email !== 'string' || typeof password !== 'string') {
      throw new ApiError(422, 'invalid_body', 'the body must be {"email": ..., "password": ...}');
    }
    const { rows } = await pool.query(
      'SELECT id, email, password_hash, created_at FROM users WHERE email = $1',
      [email.trim().toLowerCase()]);
    const user = rows[0];
    const ok = Buffer.byteLength(password) <= 1024 && await verifyPassword(password, user && user.password_hash);
    if (!user || !ok) throw new ApiError(401, 'invalid_credentials', 'wrong email or password');
    res.json({
      token: jwt.issue(user.id),
      user: { id: user.id, email: user.email, created_at: user.created_at, subscribed: true },
    });
  }));

  app.get('/accounts', route(async (req, res) => {
    const userId = auth(req);
    const { rows } = await pool.query(
      `SELECT a.id, a.name, a.type AS kind, a.created_at,
              COALESCE((SELECT SUM(t.amount_cents) FROM transactions t
                        WHERE t.debit_account_id = a.id), 0)::bigint AS debits,
              COALESCE((SELECT SUM(t.amount_cents) FROM transactions t
                        WHERE t.credit_account_id = a.id), 0)::bigint AS credits
       FROM accounts a
       WHERE a.user_id = $1 AND ($2::uuid IS NULL OR a.id = $2)
       ORDER BY a.created_at, a.id`,
      [userId, null]);
    res.json(rows.map((r) => ({
      id: r.id,
      name: r.name,
      type: r.kind,
      balance_cents: balance(r.kind, Number(r.debits), Number(r.credits)),
      created_at: r.created_at,
    })));
  }));

  app.get('/transactions', route(async (req, res) => {
    const userId = auth(req);
    const q = req.query;
    const from = q.from === undefined ? null : parseDate('from', q.from);
    const to = q.to === undefined ? null : parseDate('to', q.to);
    let accountId = null;
    if (q.account_id !== undefined) {
      accountId = String(q.account_id).trim();
      if (!UUID_RE.test(accountId)) throw validation('account_id', 'must be a UUID');
    }
    let limit = DEFAULT_LIMIT;
    if (q.limit !== undefined) {
      limit = /^\s*\d+\s*$/.test(q.limit) ? Number(q.limit) : NaN;
      if (!(limit >= 1 && limit <= MAX_LIMIT)) throw validation('limit', `must be a whole number from 1 to ${MAX_LIMIT}`);
    }
    const [afterDate, afterId] = q.cursor ? decodeCursor(String(q.cursor)) : [null, null];
    const { rows } = await pool.query(
      `SELECT id, date, amount_cents, description, debit_account_id, credit_account_id, created_at
       FROM transactions
       WHERE user_id = $1
         AND date >= COALESCE($2::date, '-infinity'::date)
         AND date <= COALESCE($3::date, 'infinity'::date)
         AND ($4::uuid IS NULL OR debit_account_id = $4 OR credit_account_id = $4)
         AND (date, id) < (COALESCE($5::date, 'infinity'::date),
                           COALESCE($6::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
       ORDER BY date DESC, id DESC
       LIMIT $7`,
      [userId, from, to, accountId, afterDate, afterId, limit + 1]);
    let next = null;
    if (rows.length > limit) {
      rows.length = limit;
      const last = rows[rows.length - 1];
      next = encodeCursor(last.date, last.id);
    }
    res.json({ items: rows.map(transaction), next_cursor: next });
  }));

  app.post('/transactions', route(async (req, res) => {
    const userId = auth(req);
    const b = req.body || {};
    if (typeof b.date !== 'string' || !Number.isInteger(b.amount_cents)
        || !UUID_RE.test(b.debit_account_id || '') || !UUID_RE.test(b.credit_account_id || '')
        || (b.description !== undefined && typeof b.description !== 'string')) {
      throw new ApiError(422, 'invalid_body', 'the body is not a transaction');
    }
    const t = {
      date: parseDate('date', b.date),
      amount_cents: b.amount_cents,
      description: (b.description || '').trim(),
      debit: b.debit_account_id.toLowerCase(),
      credit: b.credit_account_id.toLowerCase(),
    };
    if (t.amount_cents <= 0) throw validation('amount_cents', 'must be greater than 0');
    if ([...t.description].length > MAX_DESCRIPTION_CHARS) {
      throw validation('description', `must be at most ${MAX_DESCRIPTION_CHARS} characters`);
    }
    if (t.debit === t.credit) throw validation('credit_account_id', 'must differ from debit_account_id');
    const owned = (await pool.query(
      'SELECT id FROM accounts WHERE user_id = $1 AND id = ANY($2)', [userId, [t.debit, t.credit]],
    )).rows.map((r) => r.id);
    if (!owned.includes(t.debit)) throw validation('debit_account_id', 'no such account');
    if (!owned.includes(t.credit)) throw validation('credit_account_id', 'no such account');
    let rows;
    try {
      ({ rows } = await pool.query(
        `INSERT INTO transactions
             (user_id, date, amount_cents, description, debit_account_id, credit_account_id)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, date, amount_cents, description, debit_account_id, credit_account_id, created_at`,
        [userId, t.date, t.amount_cents, t.description, t.debit, t.credit]));
    } catch (e) {
      if (e.code === '23503') throw validation('debit_account_id', 'no such account');
      throw e;
    }
    res.status(201).json(transaction(rows[0]));
  }));

  app.use((_req, _res, next) => next(new ApiError(404, 'not_found', 'not found')));
  app.use((err, _req, res, _next) => {
    const e = err instanceof ApiError ? err
      : err.type === 'entity.parse.failed' ? new ApiError(422, 'invalid_body', 'the body is not valid JSON')
        : new ApiError(500, 'internal_error', 'internal error');
    if (e.status >= 500) console.error(err);
    const body = { code: e.code, message: e.message };
    if (e.field) body.field = e.field;
    res.status(e.status).json({ error: body });
  });
  return app;
}

serve(makeApp);
