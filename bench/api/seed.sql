-- Data for the API benchmark (bench/run.sh), applied after `tools db-migrate --seed`, which
-- creates the demo user (demo@example.com / demo-password, argon2id) with 5 accounts.
-- Deterministic (no random()), so every run and both stacks read the same rows:
--   reader  = the demo user: 12 accounts, 5,000 transactions over 2026 (GET endpoints);
--   writer  = bench-writer@example.com (demo's hash, same password): 2 accounts, receives every
--             POST /transactions, so the writes never change what the reads read;
--   node    = node-login@example.com, the same password as a `$scrypt$` hash (:'node_hash',
--             computed by run.sh) for the Node peer's login.
\set ON_ERROR_STOP on
BEGIN;

INSERT INTO accounts (id, user_id, name, type, created_at)
SELECT ('00000000-0000-4000-8003-' || lpad(to_hex(n), 12, '0'))::uuid,
       u.id, 'Account ' || n, (ARRAY['asset', 'liability', 'income', 'expense'])[1 + n % 4],
       timestamptz '2026-01-01 00:00:00+00' + n * interval '1 minute'
FROM users u, generate_series(1, 7) AS n
WHERE u.email = 'demo@example.com';

-- 5,000 transactions between the reader's 12 accounts: amounts 1.00-500.00, one to forty a day.
WITH acc AS (
    SELECT array_agg(a.id ORDER BY a.created_at, a.id) AS ids, min(a.user_id::text)::uuid AS user_id
    FROM accounts a JOIN users u ON u.id = a.user_id
    WHERE u.email = 'demo@example.com'
)
INSERT INTO transactions (id, user_id, date, amount_cents, description, debit_account_id, credit_account_id)
SELECT ('00000000-0000-4000-8004-' || lpad(to_hex(n), 12, '0'))::uuid,
       acc.user_id,
       date '2026-01-01' + (n * 7919 % 334),
       100 + (n * 104729 % 49900),
       'Bench transaction ' || n,
       acc.ids[1 + n % 12],
       acc.ids[1 + (n + 1 + n / 12 % 11) % 12]
FROM acc, generate_series(1, 5000) AS n;

INSERT INTO users (id, email, password_hash)
SELECT '00000000-0000-4000-8005-000000000001', 'bench-writer@example.com', password_hash
FROM users WHERE email = 'demo@example.com';
INSERT INTO accounts (id, user_id, name, type) VALUES
    ('00000000-0000-4000-8005-000000000011', '00000000-0000-4000-8005-000000000001', 'Writer checking', 'asset'),
    ('00000000-0000-4000-8005-000000000012', '00000000-0000-4000-8005-000000000001', 'Writer groceries', 'expense');

INSERT INTO users (id, email, password_hash)
VALUES ('00000000-0000-4000-8005-000000000002', 'node-login@example.com', :'node_hash');

COMMIT;
-- As autovacuum would have by the time a real database holds these rows.
VACUUM ANALYZE;
