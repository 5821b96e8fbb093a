"""Utilities shared by every frozenfit system: checkpoints, logging, results, seeding."""
