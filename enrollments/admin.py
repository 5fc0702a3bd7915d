"""Staff views for this app; arrive with its issue."""
