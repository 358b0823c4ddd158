"""Scheduled work: one registry of jobs, run once per date, in a process of its own."""
