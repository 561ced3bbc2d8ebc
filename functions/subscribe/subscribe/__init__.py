"""SubscribeFunction: the live channel's on-subscribe check."""
