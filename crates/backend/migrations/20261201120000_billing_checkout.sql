-- Stripe Checkout: a finished but unpaid checkout links the customer as 'incomplete' until
-- invoice.paid arrives; status_changed_at is the `created` time of the event that set the
-- status, so late (out-of-order) events cannot overwrite newer state.
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_status_check;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_status_check
    CHECK (status IN ('incomplete', 'active', 'past_due', 'canceled'));
ALTER TABLE subscriptions ADD COLUMN status_changed_at timestamptz;
