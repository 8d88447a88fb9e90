-- GET /transactions?account_id=..&from=..&to=..: the backend's query (routes/transactions.rs),
-- first page (no cursor), limit 50 (+1 to know whether there is a next page).
SELECT id, date, amount_cents, description, debit_account_id, credit_account_id, created_at
FROM transactions
WHERE user_id = :reader
  AND date >= COALESCE(:from::date, '-infinity'::date)
  AND date <= COALESCE(:to::date, 'infinity'::date)
  AND (:account::uuid IS NULL OR debit_account_id = :account OR credit_account_id = :account)
  AND (date, id) < (COALESCE(NULL::date, 'infinity'::date),
                    COALESCE(NULL::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
ORDER BY date DESC, id DESC
LIMIT 51;
