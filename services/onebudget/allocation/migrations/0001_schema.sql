-- The allocation service's own schema (its tables come with the features that need them).
CREATE SCHEMA IF NOT EXISTS allocation;
