"""The delivery function's domain: one attempt of one webhook message, and what follows it."""
