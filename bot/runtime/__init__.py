"""What runs ``normwacht run``: the process (app), its timing (schedule), its place among
instances (instance and leases), its health and HTTP listener, and its logs."""
