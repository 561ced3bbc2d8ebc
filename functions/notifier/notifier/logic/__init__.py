"""The notifier's domain: stream records decoded into changes, and the consumers of changes."""
