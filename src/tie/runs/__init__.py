"""Run-directory plumbing for tie-run: plan, metadata, predictions store, metrics, trackers."""
