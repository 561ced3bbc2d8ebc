"""The API's resources, one Powertools Router each, included by handler.py under the API prefix."""
