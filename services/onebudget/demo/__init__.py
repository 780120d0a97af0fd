"""`onebudget up --demo`: a realistic synthetic year for one ICB and one council."""
