"""Puts a node on a village PC: offline bundle, enrolment, services, backup and restore."""
