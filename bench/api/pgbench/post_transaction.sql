-- POST /transactions: the backend's two statements (ownership check, then the insert), each in
-- its own implicit transaction as the backend runs them, for the writer.
SELECT id FROM accounts WHERE user_id = :writer AND id = ANY(ARRAY[:debit, :credit]::uuid[]);
INSERT INTO transactions
    (user_id, date, amount_cents, description, debit_account_id, credit_account_id)
VALUES (:writer, '2026-06-01', 1234, 'Bench write', :debit, :credit)
RETURNING id, date, amount_cents, description, debit_account_id, credit_account_id, created_at;
