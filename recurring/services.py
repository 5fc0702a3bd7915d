"""Write operations for this app; arrive with its issue."""
