"""The service-point app: village rooms, town centres and sub-centres, offline-first."""
