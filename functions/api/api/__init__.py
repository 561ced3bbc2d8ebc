"""ApiFunction: the HTTP API (/api/v1) behind API Gateway's JWT authorizer."""
