"""Local stack: runs template.yaml on an embedded AWS endpoint. See `python -m infra --help`."""
