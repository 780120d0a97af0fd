"""OneBudget: an integrated personal health budget ledger for England."""

import os

# gRPC's fork handlers crash a child forked while gRPC threads are busy (seen: pg_ctl, started
# as PostgreSQL's own system user, so a real fork rather than vfork, segfaulted in the chaos
# run). Every child we start execs at once and uses no gRPC state, so the handlers buy nothing;
# turn them off before grpc is first imported (it reads this once, at import).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
