"""RendererFunction: turns queued snapshot tasks into PDFs (content hash, L1, S3, ReportLab on a miss)."""
