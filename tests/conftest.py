"""Settings for the whole test session, before any test module imports grpc."""

import kgrec  # noqa: F401 - sets GRPC_ENABLE_FORK_SUPPORT before grpc is imported (grpc#43055)
