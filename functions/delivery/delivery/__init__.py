"""DeliveryFunction: signs and sends webhook messages, with retries."""
