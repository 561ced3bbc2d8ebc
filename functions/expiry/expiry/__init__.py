"""ExpiryAlertsFunction: the daily alerts for documents about to expire."""
