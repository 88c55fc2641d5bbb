"""The activities: where user step code and all I/O run, with Temporal's retries around them."""
