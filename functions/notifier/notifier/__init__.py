"""NotifierFunction: the table stream's consumer (webhook fan-out, live channel publishing)."""
