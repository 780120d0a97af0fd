"""The entitlement service: people, eligibility decisions, the right to have a PHB, reviews due."""
