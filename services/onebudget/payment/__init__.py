"""The payment service: payments against plan lines, direct-payment schedules, returns
and reclaims."""
