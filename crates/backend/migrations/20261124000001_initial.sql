-- Users, double-entry bookkeeping (accounts + transactions), Stripe billing state.
-- Constraints keep bad data out even if a bug slips past the API's validation.

CREATE TABLE users (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text        NOT NULL,
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_normalised CHECK (email = lower(btrim(email)) AND email <> '')
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE accounts (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    type       text        NOT NULL CHECK (type IN ('asset', 'liability', 'income', 'expense')),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Target of the transactions' composite foreign keys: both sides owned by the same user.
    CONSTRAINT accounts_user_id_id_key UNIQUE (user_id, id)
);
CREATE INDEX accounts_user_created_idx ON accounts (user_id, created_at, id);

CREATE TABLE transactions (
    id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id           uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    date              date        NOT NULL,
    amount_cents      bigint      NOT NULL CHECK (amount_cents > 0),
    description       text        NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
    debit_account_id  uuid        NOT NULL,
    credit_account_id uuid        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT transactions_distinct_accounts CHECK (debit_account_id <> credit_account_id),
    CONSTRAINT transactions_debit_account_fkey FOREIGN KEY (user_id, debit_account_id)
        REFERENCES accounts (user_id, id) ON DELETE RESTRICT,
    CONSTRAINT transactions_credit_account_fkey FOREIGN KEY (user_id, credit_account_id)
        REFERENCES accounts (user_id, id) ON DELETE RESTRICT
);
-- Keyset pagination: newest first, (date, id) as the cursor.
CREATE INDEX transactions_user_date_idx ON transactions (user_id, date DESC, id DESC);
CREATE INDEX transactions_debit_idx ON transactions (debit_account_id, date DESC, id DESC);
CREATE INDEX transactions_credit_idx ON transactions (credit_account_id, date DESC, id DESC);

CREATE TABLE subscriptions (
    user_id                uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    stripe_customer_id     text        UNIQUE,
    stripe_subscription_id text,
    status                 text        NOT NULL CHECK (status IN ('active', 'past_due', 'canceled')),
    current_period_end     timestamptz,
    updated_at             timestamptz NOT NULL DEFAULT now()
);

-- Every Stripe event id is processed once; replays are no-ops.
CREATE TABLE stripe_events (
    id          text        PRIMARY KEY,
    type        text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
