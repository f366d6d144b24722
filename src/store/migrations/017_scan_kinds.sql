-- Scans of files and SSH keys are recorded and compared like network
-- scans: an SSH scan's results point at ssh_keys rather than
-- certificates. Saved scans have a kind (net, files, ssh); for files
-- and ssh, targets are paths on the server's host.
ALTER TABLE scan_results ADD COLUMN ssh_key_id INTEGER REFERENCES ssh_keys(id);
ALTER TABLE scan_defs ADD COLUMN kind TEXT NOT NULL DEFAULT 'net';
