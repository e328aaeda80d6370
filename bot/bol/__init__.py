"""bol.com's Retailer API: the client, the weekly poll, the provisional figures of the
running week, and the sellers' stored credentials."""
