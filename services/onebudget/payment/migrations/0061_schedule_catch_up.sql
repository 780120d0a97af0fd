-- How many back-dated instalments the scheduler's last run left unpaid because of the catch-up
-- limit (ONEBUDGET_PAYMENT_CATCH_UP_MAX, domain/schedules.py may_pay_now); 0 once the schedule has
-- caught up. Shown by GetSchedule (backdated_held) for the operator.
ALTER TABLE payment.schedules
    ADD COLUMN backdated_held integer NOT NULL DEFAULT 0 CHECK (backdated_held >= 0);
