"""The allocation service: commissioner allocations and ring-fences, integrated budgets,
care-plan lines."""
