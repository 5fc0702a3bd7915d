"""Read operations for this app, scoped by caller; arrive with its issue."""
