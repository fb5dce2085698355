"""Constants the installer tests share (not in conftest: several conftest modules share one name)."""

NETWORK = "test-installer"
CLERK_PASSWORD = "clerk-pass-2026"
