-- ACME profiles (draft-ietf-acme-profiles): the certificate profile an
-- order asked for; NULL: the server's default.
ALTER TABLE acme_orders ADD COLUMN profile TEXT;
