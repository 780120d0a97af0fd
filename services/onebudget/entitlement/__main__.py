"""`python -m onebudget.entitlement`: run the entitlement gRPC service until SIGTERM."""

from __future__ import annotations

import sys

from onebudget.entitlement.config import load_config
from onebudget.entitlement.entrypoints.app import SPEC
from onebudget.shared.server import service_main

if __name__ == "__main__":
    sys.exit(service_main(SPEC, load_config))
