-- Commissioners' financial years that allocation has closed (FinancialYearClosed). After the
-- close a ring-fence funds nothing more: NHS money a repayment sends back to a ring-fence of a
-- closed year passes on to the commissioner's general allocation (issue 13, item 12).
CREATE TABLE payment.closed_years (
    commissioner_ods_code   text     NOT NULL,
    financial_year          smallint NOT NULL,
    closed_on               date     NOT NULL,
    PRIMARY KEY (commissioner_ods_code, financial_year)
);
