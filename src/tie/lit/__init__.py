"""Lightning glue for tie-run: predict-only module, task DataModule, prediction writer, progress."""
