-- Retention (shared/retention.py): idempotency rows are pruned after the request-id window, but
-- a payment row is kept for ever and carries its request_id. The payment batcher's claim looks
-- the request ids up here, so a retry after the window is refused REQUEST_ID_EXPIRED instead of
-- paying twice. Instalments (no request_id) stay out of the index.
CREATE INDEX payments_request ON payment.payments (request_id) WHERE request_id IS NOT NULL;
