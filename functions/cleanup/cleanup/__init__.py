"""CleanupFunction: the scheduled sweeps (stuck tasks, unreferenced PDFs, expired records)."""
