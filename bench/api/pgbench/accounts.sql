-- GET /accounts: the backend's query (routes/accounts.rs), for the reader (-D reader=UUID).
SELECT a.id, a.name, a.type AS kind, a.created_at,
       COALESCE((SELECT SUM(t.amount_cents) FROM transactions t
                 WHERE t.debit_account_id = a.id), 0)::bigint AS debits,
       COALESCE((SELECT SUM(t.amount_cents) FROM transactions t
                 WHERE t.credit_account_id = a.id), 0)::bigint AS credits
FROM accounts a
WHERE a.user_id = :reader AND (NULL::uuid IS NULL OR a.id = NULL)
ORDER BY a.created_at, a.id;
