-- People's dates of birth (entitlement's PersonRegistered / PersonDetailsUpdated), so a return
-- counts a person as a child or an adult by their age on the last day of its period (issue 13,
-- item 15), not by what the eligibility decision said when it was made.
CREATE TABLE reporting.people (
    person_id       uuid PRIMARY KEY,
    date_of_birth   date NOT NULL
);
